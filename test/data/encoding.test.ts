import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { batchRaster, encodeDataset, encodedInputs, latencyStep } from '../../src/data/encoding.js';
import { roundHalfEven } from '../../src/numerics/round.js';

const TWIN = { steps: 27, tMin: 2, tMax: 26, bias: true };

describe('latency encoding (docs/contract.md, "Input encoding")', () => {
  it('round half to even, like numpy (hand calculation)', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4999, 2.5001, 7].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3, 7]);
  });

  it('v = 1 spikes at tMin, v = 0 at tMax, v = 0.5 half way (hand calculation)', () => {
    expect(latencyStep(1, TWIN)).toBe(2);
    expect(latencyStep(0, TWIN)).toBe(26);
    expect(latencyStep(0.5, TWIN)).toBe(14);
  });

  it('exact halves round to even: tMax - tMin = 5 gives 2.5 -> 2, 7 gives 3.5 -> 4 (hand calculation)', () => {
    expect(latencyStep(0.5, { steps: 10, tMin: 0, tMax: 5, bias: false })).toBe(2);
    expect(latencyStep(0.5, { steps: 10, tMin: 0, tMax: 7, bias: false })).toBe(4);
  });

  it('computes in float32 from the float32 value: 0.1 -> 2 + 24 * 0.9 = 23.6 -> 24 (hand calculation)', () => {
    expect(latencyStep(0.1, TWIN)).toBe(24);
    // x = 0.25: 2 + 24 * 0.75 = 20 exactly
    expect(latencyStep(0.25, TWIN)).toBe(20);
  });

  it('encodes every feature once and the bias input (last) at step 0; the raster has one spike per input', () => {
    const ds: Dataset = { featureNames: ['a', 'b'], features: Float64Array.from([1, 0, 0.5, 0.25]), labels: Int32Array.from([0, 1]), count: 2, source: 'test' };
    const enc = encodeDataset(ds, TWIN);
    expect(encodedInputs(2, TWIN)).toBe(3);
    expect(Array.from(enc)).toEqual([2, 26, 0, 14, 20, 0]);
    const raster = batchRaster(enc, 3, 27, [1, 0]);
    const spikes: [number, number, number][] = [];
    raster.forEach((v, i) => v && spikes.push([Math.floor(i / (27 * 3)), Math.floor(i / 3) % 27, i % 3]));
    // [batch row, step, input]: row 0 is sample 1, row 1 is sample 0
    expect(spikes).toEqual([[0, 0, 2], [0, 14, 0], [0, 20, 1], [1, 0, 2], [1, 2, 0], [1, 26, 1]]);
  });

  it('no bias input when the encoding has none', () => {
    const ds: Dataset = { featureNames: ['a'], features: Float64Array.from([1]), labels: Int32Array.from([0]), count: 1, source: 'test' };
    expect(Array.from(encodeDataset(ds, { ...TWIN, bias: false }))).toEqual([2]);
  });
});
