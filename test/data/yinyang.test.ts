import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { CANONICAL_SPLITS, generateYinYang, yinyangDataset, yinyangSplit, type SplitName } from '../../src/data/yinyang.js';

function sha256Features(f: Float64Array): string {
  const dv = new DataView(new ArrayBuffer(f.length * 8));
  f.forEach((v, i) => dv.setFloat64(i * 8, v, true));
  return createHash('sha256').update(new Uint8Array(dv.buffer)).digest('hex');
}
function sha256Labels(l: Int32Array): string {
  const dv = new DataView(new ArrayBuffer(l.length * 8));
  l.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
  return createHash('sha256').update(new Uint8Array(dv.buffer)).digest('hex');
}

// Everything below is copied from reference/yinyang.md.
const SPEC: Record<SplitName, {
  first: [number, number, number][]; last: [number, number, number]; first10: number[];
  counts: number[]; consumed: number; shaF: string; shaL: string;
}> = {
  train: {
    first: [[0.6803075385877797, 0.450499251969543, 2], [0.09767211400638387, 0.6842330265121569, 1],
      [0.7553614103176525, 0.4251558744912447, 2]],
    last: [0.7690797231107925, 0.5883389337522971, 2],
    first10: [2, 1, 2, 1, 1, 1, 0, 2, 2, 0], counts: [1681, 1702, 1617], consumed: 141579,
    shaF: 'f5a4054d56f2a058f8250fba7ff9720458e1625db7af78a295e45701745b2228',
    shaL: '534d12acda4f9dbc7208a99d3646115a4aa7d74ca31d6d23f822079a568559b7',
  },
  validation: {
    first: [[0.6805727261759029, 0.3209733938933629, 0]], last: [0.7107040957004825, 0.804733352731108, 1],
    first10: [0, 1, 0, 0, 2, 1, 1, 1, 1, 2], counts: [316, 336, 348], consumed: 31380,
    shaF: '5eac358bdf2122763dce3703a79f3005e56e46a4db25ec329a07333d0f7b8093',
    shaL: '5a4c2f605814a620f514c1091f10441ce562cd81e902ce701b3cf94ae7576f7d',
  },
  test: {
    first: [[0.23409664559563403, 0.4017249751828972, 2]], last: [0.32834060537145815, 0.3899830419619741, 1],
    first10: [2, 2, 1, 1, 1, 2, 2, 0, 2, 2], counts: [350, 316, 334], consumed: 29489,
    shaF: '7bab3ed668ed4992679cff6339fe21bfe7d0c921ddc6187eaa3bc6ef34b888d7',
    shaL: 'daa0f8f4e3b37b1ddec2afee22f09afb768f0e575f3f568e7469f1ebc6af73c1',
  },
};

describe.each(Object.keys(SPEC) as SplitName[])('canonical Yin-Yang %s split', (name) => {
  const spec = SPEC[name];
  const data = yinyangSplit(name);
  const n = CANONICAL_SPLITS[name].size;
  const sample = (i: number) => [data.features[i * 4], data.features[i * 4 + 1], data.labels[i]];

  it('has the published size and x, y, 1-x, 1-y rows (yinyang.md)', () => {
    expect(data.labels.length).toBe(n);
    expect(data.features.length).toBe(n * 4);
    for (let i = 0; i < n; i++) {
      expect(data.features[i * 4 + 2]).toBe(1 - data.features[i * 4]);
      expect(data.features[i * 4 + 3]).toBe(1 - data.features[i * 4 + 1]);
    }
  });
  it('first and last samples match yinyang.md', () => {
    spec.first.forEach((s, i) => expect(sample(i)).toEqual(s));
    expect(sample(n - 1)).toEqual(spec.last);
  });
  it('first 10 labels match yinyang.md', () => expect(Array.from(data.labels.slice(0, 10))).toEqual(spec.first10));
  it('label counts match yinyang.md', () => {
    const counts = [0, 0, 0];
    data.labels.forEach((l) => counts[l]++);
    expect(counts).toEqual(spec.counts);
  });
  it('32-bit outputs consumed match yinyang.md', () => expect(data.consumed).toBe(spec.consumed));
  it('matches the published SHA-256 of features (float64 LE) and labels (int64 LE) (yinyang.md)', () => {
    expect(sha256Features(data.features)).toBe(spec.shaF);
    expect(sha256Labels(data.labels)).toBe(spec.shaL);
  });
});

describe('yinyangDataset', () => {
  it('names the features and the source (brief: x, y, x_inv, y_inv; yinyang:<split>)', () => {
    const ds = yinyangDataset('test');
    expect(ds.featureNames).toEqual(['x', 'y', 'x_inv', 'y_inv']);
    expect(ds.count).toBe(1000);
    expect(ds.source).toBe('yinyang:test');
    expect(sha256Features(ds.features)).toBe(SPEC.test.shaF);
  });
  it('a custom split by size and seed is the prefix of the canonical split with that seed (same sampling order)', () => {
    const ds = yinyangDataset({ size: 10, seed: 42 });
    expect(ds.source).toBe('yinyang:seed=42,size=10');
    expect(Array.from(ds.labels)).toEqual(SPEC.train.first10);
    expect(Array.from(ds.features)).toEqual(Array.from(generateYinYang({ size: 5000, seed: 42 }).features.slice(0, 40)));
  });
});
