import { describe, expect, it } from 'vitest';
import { median, medianPrune } from '../../../src/sweep/pruner/median.js';
import type { Objective, Trial } from '../../../src/sweep/types.js';
import { mirrored, withHistory } from './helpers.js';

const MAX: Objective = { metric: 'validationAccuracy', direction: 'maximize' };
const MIN: Objective = { metric: 'validationLoss', direction: 'minimize' };
const OPTS = { warmupEpochs: 2, minTrials: 3 };

// Best so far at epoch 3: A 0.6, B 0.7, C 0.5 (C's 0.9 comes at epoch 4 and must not count): median 0.6.
const others = [
  withHistory(0, [0.5, 0.6, 0.55], 'complete'),
  withHistory(1, [0.4, 0.5, 0.7], 'pruned'),
  withHistory(2, [0.3, 0.5, 0.5, 0.9], 'complete'),
];

describe('median pruner', () => {
  it('median of an odd and an even count (hand values)', () => {
    expect(median([0.7, 0.5, 0.6])).toBe(0.6);
    expect(median([0.4, 0.8, 0.5, 0.6])).toBeCloseTo(0.55, 12);
    expect(median([-Infinity, -Infinity])).toBe(-Infinity);
  });

  it('maximize: best so far 0.58 < median 0.6 at epoch 3 prunes; 0.61 (even if the last epoch fell) continues', () => {
    const low = withHistory(3, [0.2, 0.58, 0.5]);
    const high = withHistory(3, [0.2, 0.61, 0.5]);
    expect(medianPrune(low, [...others, low], MAX, OPTS)).toBe(true);
    expect(medianPrune(high, [...others, high], MAX, OPTS)).toBe(false);
  });

  it('minimize: the mirrored losses give the same decisions (0.42 > median 0.4 prunes, 0.39 continues)', () => {
    const low = mirrored(withHistory(3, [0.2, 0.58, 0.5]));
    const high = mirrored(withHistory(3, [0.2, 0.61, 0.5]));
    const lossOthers = others.map(mirrored);
    expect(medianPrune(low, [...lossOthers, low], MIN, OPTS)).toBe(true);
    expect(medianPrune(high, [...lossOthers, high], MIN, OPTS)).toBe(false);
    // The lowest losses of all: kept when minimising, pruned when (wrongly) maximising.
    const lowest = withHistory(3, [0.1, 0.1, 0.1]);
    expect(medianPrune(lowest, [...lossOthers, lowest], MIN, OPTS)).toBe(false);
    expect(medianPrune(lowest, [...lossOthers, lowest], MAX, OPTS)).toBe(true);
  });

  it('a value equal to the median continues', () => {
    const t = withHistory(3, [0.2, 0.6, 0.5]);
    expect(medianPrune(t, [...others, t], MAX, OPTS)).toBe(false);
  });

  it('no pruning during the warm-up epochs, however bad', () => {
    const t = withHistory(3, [0.0, 0.0]);
    expect(medianPrune(t, [...others, t], MAX, OPTS)).toBe(false);
  });

  it('no pruning with fewer than minTrials other trials at the epoch (failed ones and shorter ones do not count)', () => {
    const t = withHistory(5, [0.0, 0.0, 0.0]);
    const fewer = [others[0], others[1], withHistory(2, [0.9, 0.9]), withHistory(4, [0.9, 0.9, 0.9], 'failed'), t];
    expect(medianPrune(t, fewer, MAX, OPTS)).toBe(false);
    expect(medianPrune(t, [...others, t], MAX, OPTS)).toBe(true);
  });

  it('the trial itself (as the store lists it, running) is not one of the others', () => {
    const t = withHistory(3, [0.2, 0.58, 0.5]);
    // Only two others: with itself counted there would be three.
    expect(medianPrune(t, [others[0], others[1], t], MAX, OPTS)).toBe(false);
  });

  it('a diverged trial (NaN objective) counts as worst', () => {
    const t = withHistory(3, [NaN, NaN, NaN]);
    expect(medianPrune(t, [...others, t], MAX, OPTS)).toBe(true);
    expect(medianPrune(mirrored(t), [...others.map(mirrored), t], MIN, OPTS)).toBe(true);
  });
});
