import type { Objective, Trial } from '../types.js';

/**
 * What pruners read from a trial's per-epoch objective: scores where bigger is better whatever the
 * direction, and the best score up to an epoch. Epochs are as the trial reported them (the trainer counts
 * finished epochs from 1).
 */

/** The objective as a score: the value for maximize, its negative for minimize; NaN or infinite is worst. */
export function toScore(value: number, objective: Objective): number {
  if (!Number.isFinite(value)) return -Infinity;
  return objective.direction === 'maximize' ? value : -value;
}

/** The trial's last reported epoch, or 0 before the first. */
export function lastEpoch(trial: Trial): number {
  let e = 0;
  for (const r of trial.intermediate) e = Math.max(e, r.epoch);
  return e;
}

/** The best score among epochs up to `epoch` (-Infinity if none). */
export function bestScoreUpTo(trial: Trial, epoch: number, objective: Objective): number {
  let best = -Infinity;
  for (const r of trial.intermediate) if (r.epoch <= epoch) best = Math.max(best, toScore(r.value, objective));
  return best;
}
