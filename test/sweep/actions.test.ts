import { describe, expect, it } from 'vitest';
import { presetConfig } from '../../src/model/train-config.js';
import { bestConfig, seedSpread } from '../../src/sweep/actions.js';
import { bestTrial } from '../../src/sweep/best-trial.js';
import { parseSpace } from '../../src/sweep/space/space-file.js';
import { trial } from './sampler/helpers.js';

function space(direction: 'maximize' | 'minimize') {
  return parseSpace(
    {
      format: 's2prop-space',
      version: 1,
      base: { preset: 'twin', settings: { hidden: [16] } },
      objective: { metric: direction === 'maximize' ? 'validationAccuracy' : 'validationLoss', direction },
      budget: { trials: 10, epochs: 3 },
      sampler: { type: 'random' },
      parameters: { 'optimiser.lr': { type: 'loguniform', low: 0.001, high: 0.01 } },
    },
    'test space',
  );
}

// Trial 1 has the highest value but was pruned; 2 and 3 tie among the complete ones.
const trials = [
  trial(0, { 'optimiser.lr': 0.002 }, 'complete', 0.7),
  trial(1, { 'optimiser.lr': 0.003 }, 'pruned', 0.95),
  trial(2, { 'optimiser.lr': 0.004 }, 'complete', 0.9),
  trial(3, { 'optimiser.lr': 0.005 }, 'complete', 0.9),
  trial(4, { 'optimiser.lr': 0.006 }, 'running', null),
];

describe('the best trial of a study', () => {
  it('is the complete trial with the best value in the objective direction, the first of equals', () => {
    expect(bestTrial(trials, space('maximize'))?.number).toBe(2);
    expect(bestTrial(trials, space('minimize'))?.number).toBe(0);
    expect(bestTrial(trials.filter((t) => t.state !== 'complete'), space('maximize'))).toBeNull();
  });

  it('gives the training config of the space base with its parameters and the epoch budget, or names the study when none is complete', () => {
    const { trial: best, config } = bestConfig({ space: space('maximize'), where: 'study.db: study s' }, trials);
    expect(best.number).toBe(2);
    expect(config).toEqual({ ...presetConfig('twin'), hidden: [16], epochs: 3, optimiser: { ...presetConfig('twin').optimiser, lr: 0.004 } });
    expect(() => bestConfig({ space: space('maximize'), where: 'study.db: study s' }, [])).toThrow('study.db: study s has no complete trial yet');
  });
});

describe('seeds', () => {
  it('mean and sample standard deviation of the seeds (hand calculation: 0.90, 0.92, 0.94 -> 0.92 ± 0.02)', () => {
    const s = seedSpread([0.9, 0.92, 0.94]);
    expect(s.mean).toBeCloseTo(0.92, 12);
    expect(s.std).toBeCloseTo(0.02, 12);
    expect(seedSpread([0.8])).toEqual({ accuracies: [0.8], mean: 0.8, std: 0 });
  });
});
