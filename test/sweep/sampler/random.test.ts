import { describe, expect, it } from 'vitest';
import { makeSampler } from '../../../src/sweep/sampler/make-sampler.js';
import { randomParams } from '../../../src/sweep/sampler/random.js';
import { trialSeed } from '../../../src/sweep/sampler/trial-rng.js';
import { trial } from './helpers.js';
import { spaceWith } from './space.js';

const PARAMETERS = {
  'optimiser.lr': { type: 'loguniform', low: 0.0005, high: 0.01 },
  'loss.xi': { type: 'uniform', low: 0.5, high: 2 },
  hidden: { type: 'categorical', choices: [[60], [120], [200]] },
  batch: { type: 'int', low: 16, high: 64, step: 8 },
  steps: { type: 'fixed', value: 27 },
};

describe('random sampler', () => {
  const space = spaceWith(PARAMETERS, { type: 'random', seed: 7 });

  it('is reproducible: the same seed and trial number give the same parameters', () => {
    for (let n = 0; n < 20; n++) expect(randomParams(space.parameters, 7, n)).toEqual(randomParams(space.parameters, 7, n));
  });

  it('trial n does not depend on the other trials (nor on their states or values)', () => {
    const propose = makeSampler(space);
    const a = [0, 1, 2].map((n) => trial(n, {}, 'complete', n));
    const b = [0, 1, 2].map((n) => trial(n, { x: n }, n === 0 ? 'failed' : 'pruned', -n));
    expect(propose(a)).toEqual(propose(b));
    expect(propose(a)).toEqual(randomParams(space.parameters, 7, 3));
  });

  it('different trial numbers and different seeds give different parameters', () => {
    expect(randomParams(space.parameters, 7, 0)).not.toEqual(randomParams(space.parameters, 7, 1));
    expect(randomParams(space.parameters, 7, 0)).not.toEqual(randomParams(space.parameters, 8, 0));
    const seeds = new Set<number>();
    for (let s = 0; s < 50; s++) for (let n = 0; n < 50; n++) seeds.add(trialSeed(s, n));
    expect(seeds.size).toBe(2500);
  });

  it('stays within bounds: continuous in [low, high], int on its steps, categorical among the choices', () => {
    const batches = new Set<number>();
    for (let n = 0; n < 2000; n++) {
      const p = randomParams(space.parameters, 7, n);
      const lr = p['optimiser.lr'] as number, xi = p['loss.xi'] as number, batch = p.batch as number;
      expect(lr >= 0.0005 && lr <= 0.01, `seed 7 trial ${n}: lr ${lr}`).toBe(true);
      expect(xi >= 0.5 && xi <= 2, `seed 7 trial ${n}: xi ${xi}`).toBe(true);
      expect(Number.isInteger(batch) && (batch - 16) % 8 === 0 && batch >= 16 && batch <= 64, `trial ${n}: batch ${batch}`).toBe(true);
      expect([[60], [120], [200]]).toContainEqual(p.hidden);
      expect(p.steps).toBe(27);
      batches.add(batch);
    }
    // 2000 draws of 7 equally likely values miss none (probability of missing one ~ 7 (6/7)^2000).
    expect([...batches].sort((a, b) => a - b)).toEqual([16, 24, 32, 40, 48, 56, 64]);
  });

  it('log-uniform is uniform in log space: 4000 draws over 1e-4..1 fall evenly in the 4 decades (chi-square, 3 dof, p = 0.001 bound 16.27)', () => {
    const seed = 12345;
    const params = spaceWith({ 'optimiser.lr': { type: 'loguniform', low: 1e-4, high: 1 } }, { type: 'random', seed }).parameters;
    const counts = [0, 0, 0, 0];
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const lr = randomParams(params, seed, i)['optimiser.lr'] as number;
      counts[Math.min(3, Math.floor(Math.log10(lr) + 4))]++;
    }
    const chi2 = counts.reduce((s, c) => s + (c - n / 4) ** 2 / (n / 4), 0);
    expect(chi2, `seed ${seed}: decade counts ${counts}`).toBeLessThan(16.27);
    // A uniform draw on [1e-4, 1] would put ~99.99 % in the top decade.
    expect(counts[0], `seed ${seed}`).toBeGreaterThan(800);
  });

  it('uniform has mean (low + high) / 2 within 4 standard errors (seeded)', () => {
    const seed = 3;
    const params = spaceWith({ 'loss.xi': { type: 'uniform', low: 0.5, high: 2 } }, { type: 'random', seed }).parameters;
    const n = 4000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += randomParams(params, seed, i)['loss.xi'] as number;
    const se = 1.5 / Math.sqrt(12 * n);
    expect(Math.abs(sum / n - 1.25), `seed ${seed}`).toBeLessThan(4 * se);
  });
});
