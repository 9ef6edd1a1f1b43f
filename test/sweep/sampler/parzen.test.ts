import { describe, expect, it } from 'vitest';
import { MT19937 } from '../../../src/data/mt19937.js';
import { erfc, normalCdf, sampleTruncNormal, truncNormalLogPdf } from '../../../src/sweep/sampler/normal.js';
import { ageWeights, categoricalParzen, logPdfNumerical, numericalParzen, sampleNumerical } from '../../../src/sweep/sampler/parzen.js';

describe('normal pieces', () => {
  it('erfc matches tabulated values (Abramowitz & Stegun table 7.1) to 1.2e-7 relative', () => {
    const table: [number, number][] = [
      [0, 1],
      [0.5, 0.4795001222],
      [1, 0.1572992071],
      [2, 0.004677734981],
      [-1, 1.8427007929],
    ];
    for (const [x, v] of table) expect(Math.abs(erfc(x) - v) / v).toBeLessThan(1.2e-7);
    expect(normalCdf(1.959963985)).toBeCloseTo(0.975, 7);
  });

  it('a truncated normal density integrates to 1 over [low, high] (trapezoid, 20000 steps)', () => {
    for (const [mu, sigma] of [[0.2, 0.3], [0.9, 1], [0.5, 0.05]]) {
      const n = 20000;
      let s = 0;
      for (let i = 0; i <= n; i++) s += (i === 0 || i === n ? 0.5 : 1) * Math.exp(truncNormalLogPdf(i / n, mu, sigma, 0, 1));
      expect(s / n).toBeCloseTo(1, 6);
    }
    expect(truncNormalLogPdf(1.01, 0.5, 1, 0, 1)).toBe(-Infinity);
  });

  it('truncated draws stay in bounds and have the truncated mean (0.5 by symmetry) within 4 standard errors (seed 1)', () => {
    const rng = new MT19937(1);
    let sum = 0;
    const n = 5000;
    for (let i = 0; i < n; i++) {
      const x = sampleTruncNormal(rng, 0.5, 1, 0, 1);
      expect(x >= 0 && x <= 1).toBe(true);
      sum += x;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(4 * (0.3 / Math.sqrt(n)));
  });
});

describe('Parzen estimators', () => {
  it('one observation at 0.2 on [0, 1]: bandwidth clipped up to 1/3, prior N(0.5, 1), equal weights (hand calculation)', () => {
    const p = numericalParzen([0.2], [1], 0, 1, 1);
    expect(p.mus).toEqual([0.2, 0.5]);
    expect(p.sigmas[0]).toBeCloseTo(1 / 3, 12);
    expect(p.sigmas[1]).toBe(1);
    expect(p.weights).toEqual([0.5, 0.5]);
  });

  it('bandwidth is the larger neighbour distance: observations 0.1, 0.15, 0.9 with prior 0.5 on [0, 1] (hand calculation)', () => {
    // Sorted with prior: 0.1, 0.15, 0.5, 0.9; the ends use their inner neighbour only:
    // 0.1 -> 0.05, 0.15 -> max(0.05, 0.35), 0.9 -> 0.4; clipped up to 1 / min(100, 2 + 3) = 0.2.
    const p = numericalParzen([0.1, 0.15, 0.9], [1, 1, 1], 0, 1, 1);
    expect(p.sigmas[0]).toBeCloseTo(0.2, 12);
    expect(p.sigmas[1]).toBeCloseTo(0.35, 12);
    expect(p.sigmas[2]).toBeCloseTo(0.4, 12);
    expect(p.sigmas[3]).toBe(1);
  });

  it('the mixture density integrates to 1 and its draws stay in bounds (seed 5)', () => {
    const p = numericalParzen([0.1, 0.15, 0.9], [1, 1, 1], 0, 1, 1);
    let s = 0;
    const n = 20000;
    for (let i = 0; i <= n; i++) s += (i === 0 || i === n ? 0.5 : 1) * Math.exp(logPdfNumerical(p, i / n));
    expect(s / n).toBeCloseTo(1, 5);
    const rng = new MT19937(5);
    for (let i = 0; i < 1000; i++) {
      const x = sampleNumerical(p, rng);
      expect(x >= 0 && x <= 1).toBe(true);
    }
  });

  it('categorical: counts 2, 0, 1 with prior weight 1 over 3 give (2 + 1/3, 1/3, 1 + 1/3) / 4', () => {
    const p = categoricalParzen([0, 2, 0], [1, 1, 1], 3, 1);
    expect(p[0]).toBeCloseTo(7 / 12, 12);
    expect(p[1]).toBeCloseTo(1 / 12, 12);
    expect(p[2]).toBeCloseTo(4 / 12, 12);
  });

  it('age weights: all 1 below 25; beyond, the 25 newest 1 and the older ramp from 1/n (Optuna default_weights)', () => {
    expect(ageWeights(3)).toEqual([1, 1, 1]);
    expect(ageWeights(25)).toEqual(new Array(25).fill(1));
    const w = ageWeights(28);
    expect(w.length).toBe(28);
    expect(w[0]).toBeCloseTo(1 / 28, 12);
    expect(w[1]).toBeCloseTo((1 / 28 + 1) / 2, 12);
    expect(w[2]).toBe(1);
    expect(w.slice(3)).toEqual(new Array(25).fill(1));
  });
});
