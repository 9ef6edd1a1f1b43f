import { describe, expect, it } from 'vitest';
import { makeSampler } from '../../../src/sweep/sampler/make-sampler.js';
import { randomParams } from '../../../src/sweep/sampler/random.js';
import { goodCount, splitTrials, tpeParams } from '../../../src/sweep/sampler/tpe.js';
import type { Params, Trial } from '../../../src/sweep/types.js';
import { MAXIMIZE, MINIMIZE, runStudy, trial } from './helpers.js';
import { spaceWith } from './space.js';

const X = { x: { type: 'uniform' as const, low: 0, high: 1 } };
const quadratic = (p: Params) => -(((p.x as number) - 0.3) ** 2);
/** Mean |x - 0.3| over the trials after the 10 random ones. */
const meanDistance = (trials: Trial[]) => trials.slice(10).reduce((s, t) => s + Math.abs((t.params.x as number) - 0.3), 0) / (trials.length - 10);

describe('TPE sampler', () => {
  it('gamma: ceil(10 %) of the complete trials, at most 25 (Optuna default)', () => {
    expect([1, 9, 10, 11, 40, 250, 251, 1000].map(goodCount)).toEqual([1, 1, 1, 2, 4, 25, 25, 25]);
  });

  it('splits by objective in either direction; pruned trials are bad, running and failed ignored', () => {
    const trials = [
      trial(0, {}, 'complete', 0.9),
      trial(1, {}, 'complete', 0.1),
      trial(2, {}, 'pruned', 0.95),
      trial(3, {}, 'running', null),
      trial(4, {}, 'failed', null),
      trial(5, {}, 'complete', 0.5),
    ];
    const max = splitTrials(trials, MAXIMIZE);
    expect(max.good.map((t) => t.number)).toEqual([0]);
    expect(max.bad.map((t) => t.number)).toEqual([1, 2, 5]);
    const min = splitTrials(trials, MINIMIZE);
    expect(min.good.map((t) => t.number)).toEqual([1]);
    expect(min.bad.map((t) => t.number)).toEqual([0, 2, 5]);
  });

  it('the first startupTrials trials are the random sampler\'s (same seed, same trial number)', () => {
    const trials = runStudy((t) => tpeParams(X, MAXIMIZE, { seed: 4, startupTrials: 10, nCandidates: 24 }, t), quadratic, 10);
    trials.forEach((t, n) => expect(t.params).toEqual(randomParams(X, 4, n)));
  });

  it('is deterministic given seed, trial number and history', () => {
    const opts = { seed: 2, startupTrials: 5, nCandidates: 24 };
    const history = runStudy((t) => tpeParams(X, MAXIMIZE, opts, t), quadratic, 20);
    expect(tpeParams(X, MAXIMIZE, opts, history)).toEqual(tpeParams(X, MAXIMIZE, opts, structuredClone(history)));
  });

  it('on f(x) = -(x - 0.3)^2, 40 trials, later trials land closer to 0.3 than random search on average (seeds 0-4)', () => {
    const seeds = [0, 1, 2, 3, 4];
    let tpe = 0, random = 0;
    for (const seed of seeds) {
      tpe += meanDistance(runStudy((t) => tpeParams(X, MAXIMIZE, { seed, startupTrials: 10, nCandidates: 24 }, t), quadratic, 40));
      random += meanDistance(runStudy((t) => randomParams(X, seed, t.length), quadratic, 40));
    }
    // Random's expected mean distance is 0.29 (E|U - 0.3|); TPE's was about 0.12 here.
    expect(tpe / seeds.length, `seeds ${seeds}: tpe ${tpe / seeds.length}, random ${random / seeds.length}`).toBeLessThan(0.6 * (random / seeds.length));
  });

  it('minimising (x - 0.3)^2 behaves as maximising its negative (seed 0)', () => {
    const f = (p: Params) => ((p.x as number) - 0.3) ** 2;
    const min = runStudy((t) => tpeParams(X, MINIMIZE, { seed: 0, startupTrials: 10, nCandidates: 24 }, t), f, 40);
    const max = runStudy((t) => tpeParams(X, MAXIMIZE, { seed: 0, startupTrials: 10, nCandidates: 24 }, t), (p) => -f(p), 40);
    expect(min.map((t) => t.params)).toEqual(max.map((t) => t.params));
  });

  it('handles categorical, int and loguniform without leaving bounds, and finds the best category (seed 11)', () => {
    const space = spaceWith(
      {
        'optimiser.lr': { type: 'loguniform', low: 0.0005, high: 0.01 },
        hidden: { type: 'categorical', choices: [[60], [120], [200]] },
        batch: { type: 'int', low: 16, high: 64, step: 8 },
        'loss.xi': { type: 'uniform', low: 0.5, high: 2 },
        steps: { type: 'fixed', value: 27 },
      },
      { type: 'tpe', seed: 11, startupTrials: 10 },
      60,
    );
    const f = (p: Params) =>
      -((Math.log10(p['optimiser.lr'] as number) + 2.5) ** 2) - ((p.batch as number) - 24) ** 2 / 400 - (JSON.stringify(p.hidden) === '[200]' ? 0 : 1);
    const trials = runStudy(makeSampler(space), f, 60);
    for (const t of trials) {
      const lr = t.params['optimiser.lr'] as number, batch = t.params.batch as number, xi = t.params['loss.xi'] as number;
      expect(lr >= 0.0005 && lr <= 0.01, `trial ${t.number}: lr ${lr}`).toBe(true);
      expect(xi >= 0.5 && xi <= 2, `trial ${t.number}: xi ${xi}`).toBe(true);
      expect(Number.isInteger(batch) && batch >= 16 && batch <= 64 && (batch - 16) % 8 === 0, `trial ${t.number}: batch ${batch}`).toBe(true);
      expect([[60], [120], [200]]).toContainEqual(t.params.hidden);
      expect(t.params.steps).toBe(27);
    }
    // After the random start, the best category is proposed far more often than a third of the time.
    const later = trials.slice(20);
    const share = later.filter((t) => JSON.stringify(t.params.hidden) === '[200]').length / later.length;
    expect(share, 'seed 11').toBeGreaterThan(0.6);
  });

  it('ignores recorded parameters that are not values of the space (a changed space) instead of failing', () => {
    const trials = Array.from({ length: 12 }, (_, n) => trial(n, { x: n % 2 ? 'a' : 2 + n }, 'complete', n));
    const x = tpeParams(X, MAXIMIZE, { seed: 0, startupTrials: 10, nCandidates: 24 }, trials).x as number;
    expect(x >= 0 && x <= 1).toBe(true);
  });

  it('with only pruned and failed trials so far it stays random', () => {
    const trials = Array.from({ length: 12 }, (_, n) => trial(n, { x: 0.5 }, n % 2 ? 'pruned' : 'failed', 0.1));
    expect(tpeParams(X, MAXIMIZE, { seed: 0, startupTrials: 2, nCandidates: 24 }, trials)).toEqual(randomParams(X, 0, 12));
  });
});
