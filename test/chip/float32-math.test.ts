import { describe, expect, it } from 'vitest';
import { paramKey, paramKeyFields, KIND_GRADIENT, KIND_WEIGHT } from '../../src/chip/key-layout.js';
import { expf, logf } from '../../src/chip/sim/float32-math.js';

/** The loss program's float32 exp and log against double precision (Math.exp, Math.log rounded once). */
describe('float32 expf and logf (Cephes single precision)', () => {
  const ulp = (x: number) => {
    const f = Math.fround(Math.abs(x));
    const bits = new Uint32Array(Float32Array.of(f).buffer)[0];
    return Math.abs(new Float32Array(Uint32Array.of(bits + 1).buffer)[0] - f);
  };

  it('expf is within 2 ulp of exp over the range the loss uses (-60..60), and returns float32 values', () => {
    let worst = 0;
    for (let x = -60; x <= 60; x += 0.0137) {
      const got = expf(x);
      expect(got).toBe(Math.fround(got));
      worst = Math.max(worst, Math.abs(got - Math.exp(Math.fround(x))) / ulp(Math.exp(Math.fround(x))));
    }
    expect(worst).toBeLessThanOrEqual(2);
    expect(expf(0)).toBe(1);
    expect(expf(200)).toBe(Infinity);
    expect(expf(-200)).toBe(0);
  });

  it('logf is within 2 ulp of log from 1e-30 to 1e30, exact at 1, -Infinity at 0', () => {
    let worst = 0;
    for (let e = -30; e <= 30; e += 0.0131) {
      const x = Math.fround(10 ** e);
      const got = logf(x);
      expect(got).toBe(Math.fround(got));
      worst = Math.max(worst, Math.abs(got - Math.log(x)) / ulp(Math.log(x) || 1e-45));
    }
    expect(worst).toBeLessThanOrEqual(2);
    expect(logf(1)).toBe(0);
    expect(logf(0)).toBe(-Infinity);
    for (const x of [0.5, 2, 0.70710677, 1.4142135, 3.9999998]) expect(Math.abs(logf(x) - Math.log(Math.fround(x)))).toBeLessThanOrEqual(2 * ulp(Math.log(Math.fround(x))));
  });
});

describe('gradient and weight packet keys', () => {
  it('round-trip kind, layer, slice and index at the edges of their fields', () => {
    for (const [kind, layer, slice, index] of [
      [KIND_GRADIENT, 1, 0, 0],
      [KIND_WEIGHT, 15, 63, 2 ** 20 - 1],
      [KIND_GRADIENT, 7, 33, 123456],
    ] as const) {
      expect(paramKeyFields(paramKey(kind, layer, slice, index))).toEqual({ kind, layer, slice, index });
    }
    expect(paramKey(KIND_WEIGHT, 15, 63, 2 ** 20 - 1)).toBe(0xffffffff);
  });
});
