import type { SearchSpace } from '../space/space-file.js';
import type { Trial } from '../types.js';
import { ashaPrune } from './asha.js';
import { medianPrune } from './median.js';

/** Decides after each reported epoch whether to stop a trial (true = prune now). */
export type Prune = (trial: Trial, all: Trial[]) => boolean;

/** The pruner a space names, for its objective's direction. `trial.intermediate` holds the epochs so far. */
export function makePruner(space: SearchSpace): Prune {
  const { pruner, objective } = space;
  switch (pruner.type) {
    case 'none':
      return () => false;
    case 'median':
      return (trial, all) => medianPrune(trial, all, objective, pruner);
    case 'asha':
      return (trial, all) => ashaPrune(trial, all, objective, pruner);
  }
}
