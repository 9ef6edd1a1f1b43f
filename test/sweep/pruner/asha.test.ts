import { describe, expect, it } from 'vitest';
import { ashaPrune, isRung } from '../../../src/sweep/pruner/asha.js';
import type { Objective } from '../../../src/sweep/types.js';
import { mirrored, withHistory } from './helpers.js';

const MAX: Objective = { metric: 'validationAccuracy', direction: 'maximize' };
const MIN: Objective = { metric: 'validationLoss', direction: 'minimize' };
const OPTS = { minEpochs: 1, reductionFactor: 2 };

// Best up to the rung at epoch 2: A 0.8, B 0.6, C 0.4 (C's 0.95 at epoch 4 must not count).
const others = [
  withHistory(0, [0.7, 0.8, 0.8, 0.8], 'complete'),
  withHistory(1, [0.6, 0.5], 'pruned'),
  withHistory(2, [0.3, 0.4, 0.9, 0.95], 'running'),
];

describe('ASHA pruner', () => {
  it('rungs at minEpochs * reductionFactor^k (1, 2, 4, 8 and 2, 6, 18 by hand)', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].filter((e) => isRung(e, OPTS))).toEqual([1, 2, 4, 8]);
    expect(Array.from({ length: 20 }, (_, i) => i + 1).filter((e) => isRung(e, { minEpochs: 2, reductionFactor: 3 }))).toEqual([2, 6, 18]);
  });

  it('maximize: of 4 trials at rung 2 the top 2 go on: 0.7 continues, 0.5 stops', () => {
    const good = withHistory(3, [0.1, 0.7]);
    const bad = withHistory(3, [0.1, 0.5]);
    expect(ashaPrune(good, [...others, good], MAX, OPTS)).toBe(false);
    expect(ashaPrune(bad, [...others, bad], MAX, OPTS)).toBe(true);
  });

  it('minimize: the mirrored losses give the same decisions, and the direction matters', () => {
    const good = mirrored(withHistory(3, [0.1, 0.7]));
    const bad = mirrored(withHistory(3, [0.1, 0.5]));
    const lossOthers = others.map(mirrored);
    expect(ashaPrune(good, [...lossOthers, good], MIN, OPTS)).toBe(false);
    expect(ashaPrune(bad, [...lossOthers, bad], MIN, OPTS)).toBe(true);
    // The lowest losses of all: kept when minimising, pruned when (wrongly) maximising.
    const lowest = withHistory(3, [0.05, 0.05]);
    expect(ashaPrune(lowest, [...lossOthers, lowest], MIN, OPTS)).toBe(false);
    expect(ashaPrune(lowest, [...lossOthers, lowest], MAX, OPTS)).toBe(true);
  });

  it('a tie with the last place that goes on continues', () => {
    const t = withHistory(3, [0.1, 0.6]);
    expect(ashaPrune(t, [...others, t], MAX, OPTS)).toBe(false);
  });

  it('between rungs nothing is decided, however bad', () => {
    const t = withHistory(3, [0.0, 0.0, 0.0]);
    expect(ashaPrune(t, [...others, t], MAX, OPTS)).toBe(false);
  });

  it('fewer than reductionFactor trials at the rung: continue; exactly reductionFactor: only the best half goes on', () => {
    const t = withHistory(3, [0.1, 0.5]);
    expect(ashaPrune(t, [t], MAX, OPTS)).toBe(false);
    expect(ashaPrune(t, [withHistory(0, [0.9]), t], MAX, OPTS)).toBe(false); // the other stopped before epoch 2
    expect(ashaPrune(t, [others[0], t], MAX, OPTS)).toBe(true);
    expect(ashaPrune(t, [withHistory(1, [0.1, 0.2]), t], MAX, OPTS)).toBe(false);
  });

  it('failed trials do not count at a rung', () => {
    const t = withHistory(3, [0.1, 0.5]);
    expect(ashaPrune(t, [withHistory(0, [0.9, 0.9], 'failed'), t], MAX, OPTS)).toBe(false);
  });

  it('rung 1 with reduction factor 3: of 6 trials the top 2 go on', () => {
    const opts = { minEpochs: 1, reductionFactor: 3 };
    const field = [0.9, 0.8, 0.7, 0.6, 0.5].map((v, i) => withHistory(i, [v], 'complete'));
    expect(ashaPrune(withHistory(9, [0.85]), field, MAX, opts)).toBe(false);
    expect(ashaPrune(withHistory(9, [0.75]), field, MAX, opts)).toBe(true);
  });
});
