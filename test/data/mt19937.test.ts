import { describe, it, expect } from 'vitest';
import { MT19937 } from '../../src/data/mt19937.js';
import { UserError } from '../../src/errors.js';

describe('MT19937 (numpy legacy RandomState)', () => {
  it('first five 32-bit outputs for seed 42 match yinyang.md', () => {
    const rng = new MT19937(42);
    expect(Array.from({ length: 5 }, () => rng.nextUint32())).toEqual([
      1608637542, 3421126067, 4083286876, 787846414, 3143890026,
    ]);
    expect(rng.consumed).toBe(5);
  });

  it('first rand() for seed 42 is 0.3745401188473625 (yinyang.md) and consumes two outputs', () => {
    const rng = new MT19937(42);
    expect(rng.rand()).toBe(0.3745401188473625);
    expect(rng.consumed).toBe(2);
  });

  it('randint(3) ten times for seed 42 gives 2,0,2,2,0,0,2,1,2,2 (yinyang.md)', () => {
    const rng = new MT19937(42);
    expect(Array.from({ length: 10 }, () => rng.randint(3))).toEqual([2, 0, 2, 2, 0, 0, 2, 1, 2, 2]);
  });

  it('randint(n) equals masking each output by hand (mask = smallest all-ones >= n-1, reject >= n)', () => {
    for (const [n, mask] of [[2, 1], [3, 3], [5, 7], [8, 7], [9, 15], [1000, 1023]] as const) {
      const a = new MT19937(7), b = new MT19937(7);
      for (let k = 0; k < 200; k++) {
        let v: number;
        do v = b.nextUint32() & mask; while (v >= n);
        expect(a.randint(n), `n=${n} draw ${k}`).toBe(v);
      }
      expect(a.consumed).toBe(b.consumed);
    }
    const one = new MT19937(1);
    expect(one.randint(1)).toBe(0);
    expect(one.consumed).toBe(0); // numpy returns the lower bound without drawing when the range is empty
  });

  it('gauss() for seed 42 gives the widely published np.random.seed(42); np.random.randn(10) values', () => {
    const rng = new MT19937(42);
    const expected = [
      0.4967141530112327, -0.13826430117118466, 0.6476885381006925, 1.5230298564080254, -0.23415337472333597,
      -0.23413695694918055, 1.5792128155073915, 0.7674347291529088, -0.4694743859349521, 0.5425600435859647,
    ];
    expect(Array.from({ length: 10 }, () => rng.gauss())).toEqual(expected);
  });

  it('gauss() has mean ~0 and standard deviation ~1 over 20000 draws (standard normal; seed 123)', () => {
    const rng = new MT19937(123);
    const n = 20000;
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) {
      const g = rng.gauss();
      s += g;
      s2 += g * g;
    }
    const mean = s / n, sd = Math.sqrt(s2 / n - mean * mean);
    // 5 standard errors: 5/sqrt(20000) = 0.035 for the mean, 5/sqrt(2*20000) = 0.025 for the sd.
    expect(Math.abs(mean)).toBeLessThan(0.035);
    expect(Math.abs(sd - 1)).toBeLessThan(0.025);
  });

  it('is deterministic: two generators with the same seed agree (self-consistency)', () => {
    const a = new MT19937(2024), b = new MT19937(2024);
    for (let i = 0; i < 1500; i++) expect(a.gauss()).toBe(b.gauss());
    expect(a.getState()).toEqual(b.getState());
  });

  it('resumes identically from a JSON round trip of getState, including the cached gauss (self-consistency)', () => {
    const a = new MT19937(5);
    for (let i = 0; i < 701; i++) a.rand(); // cross a twist boundary
    a.gauss(); // leaves the second value of the pair cached
    const saved = JSON.parse(JSON.stringify(a.getState()));
    expect(saved.hasGauss).toBe(true);
    const b = MT19937.fromState(saved);
    const seqA = [a.gauss(), a.rand(), a.randint(3), a.nextUint32(), a.gauss(), a.consumed];
    const seqB = [b.gauss(), b.rand(), b.randint(3), b.nextUint32(), b.gauss(), b.consumed];
    expect(seqB).toEqual(seqA);
  });

  it('rejects a bad seed and a malformed state with UserError', () => {
    expect(() => new MT19937(-1)).toThrow(UserError);
    expect(() => new MT19937(1.5)).toThrow(UserError);
    const st = new MT19937(1).getState();
    expect(() => MT19937.fromState({ ...st, key: st.key.slice(1) })).toThrow(/key/);
    expect(() => MT19937.fromState({ ...st, pos: 625 })).toThrow(/pos/);
  });
});
