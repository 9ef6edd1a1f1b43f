import { describe, expect, it } from 'vitest';
import { makePruner } from '../../../src/sweep/pruner/make-pruner.js';
import { parseSpace } from '../../../src/sweep/space/space-file.js';
import { mirrored, withHistory } from './helpers.js';

function space(pruner: unknown, metric: 'validationAccuracy' | 'validationLoss') {
  return parseSpace(
    {
      format: 's2prop-space',
      version: 1,
      base: { preset: 'twin' },
      objective: { metric, direction: metric === 'validationAccuracy' ? 'maximize' : 'minimize' },
      budget: { trials: 10, epochs: 8 },
      sampler: { type: 'random' },
      pruner,
      parameters: { 'loss.xi': { type: 'uniform', low: 0.5, high: 2 } },
    },
    'test space',
  );
}

// Three finished trials at 0.9 each epoch; the trial under test has 0.1 at each of 2 epochs.
const field = [0, 1, 2].map((n) => withHistory(n, [0.9, 0.9, 0.9, 0.9], 'complete'));
const poor = withHistory(3, [0.1, 0.1]);

describe('makePruner', () => {
  it('none never prunes', () => {
    expect(makePruner(space({ type: 'none' }, 'validationAccuracy'))(poor, [...field, poor])).toBe(false);
  });

  it('median from the space, with the space\'s warm-up and minimum trials, in the space\'s direction', () => {
    expect(makePruner(space({ type: 'median', warmupEpochs: 1, minTrials: 3 }, 'validationAccuracy'))(poor, [...field, poor])).toBe(true);
    expect(makePruner(space({ type: 'median', warmupEpochs: 2, minTrials: 3 }, 'validationAccuracy'))(poor, [...field, poor])).toBe(false);
    expect(makePruner(space({ type: 'median', warmupEpochs: 1, minTrials: 4 }, 'validationAccuracy'))(poor, [...field, poor])).toBe(false);
    const lossField = field.map(mirrored);
    expect(makePruner(space({ type: 'median', warmupEpochs: 1, minTrials: 3 }, 'validationLoss'))(mirrored(poor), [...lossField, poor])).toBe(true);
  });

  it('asha from the space, in the space\'s direction', () => {
    expect(makePruner(space({ type: 'asha', minEpochs: 2, reductionFactor: 2 }, 'validationAccuracy'))(poor, [...field, poor])).toBe(true);
    expect(makePruner(space({ type: 'asha', minEpochs: 4, reductionFactor: 2 }, 'validationAccuracy'))(poor, [...field, poor])).toBe(false);
    const lossField = field.map(mirrored);
    expect(makePruner(space({ type: 'asha', minEpochs: 2, reductionFactor: 2 }, 'validationLoss'))(mirrored(poor), [...lossField, poor])).toBe(true);
  });
});
