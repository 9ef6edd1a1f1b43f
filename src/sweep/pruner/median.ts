import type { Objective, Trial } from '../types.js';
import { bestScoreUpTo, lastEpoch } from './history.js';

/**
 * Median pruning: at its latest epoch e (past `warmupEpochs`), a trial stops when its best objective so
 * far is worse than the median of the other trials' best so far at epoch e, counting only the other
 * trials (of any state but failed) that reached epoch e, and only when there are at least `minTrials`.
 */

export interface MedianOptions {
  warmupEpochs: number;
  minTrials: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  if (s.length % 2 === 1) return s[m];
  // Two -Infinity scores (diverged trials) have median -Infinity, not NaN.
  return s[m - 1] === s[m] ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** True: stop `trial` now. */
export function medianPrune(trial: Trial, all: Trial[], objective: Objective, opts: MedianOptions): boolean {
  const e = lastEpoch(trial);
  if (e <= opts.warmupEpochs) return false;
  const others = all.filter((t) => t.number !== trial.number && t.state !== 'failed' && lastEpoch(t) >= e);
  if (others.length < opts.minTrials) return false;
  const threshold = median(others.map((t) => bestScoreUpTo(t, e, objective)));
  return bestScoreUpTo(trial, e, objective) < threshold;
}
