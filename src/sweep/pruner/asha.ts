import type { Objective, Trial } from '../types.js';
import { bestScoreUpTo, lastEpoch } from './history.js';

/**
 * Asynchronous successive halving (ASHA): rungs at epochs minEpochs * reductionFactor^k. When a trial's
 * latest epoch is a rung, it goes on only if its best objective so far is among the top
 * 1 / reductionFactor (rounded down, ties kept) of all trials (itself included, any state but failed)
 * that reached that rung, compared by their best up to the rung; with fewer than reductionFactor trials
 * at the rung it goes on. Between rungs nothing is decided.
 */

export interface AshaOptions {
  minEpochs: number;
  reductionFactor: number;
}

/** Whether `epoch` is a rung. */
export function isRung(epoch: number, opts: AshaOptions): boolean {
  let r = opts.minEpochs;
  while (r < epoch) r *= opts.reductionFactor;
  return r === epoch;
}

/** True: stop `trial` now. */
export function ashaPrune(trial: Trial, all: Trial[], objective: Objective, opts: AshaOptions): boolean {
  const rung = lastEpoch(trial);
  if (rung === 0 || !isRung(rung, opts)) return false;
  const others = all.filter((t) => t.number !== trial.number && t.state !== 'failed' && lastEpoch(t) >= rung);
  const own = bestScoreUpTo(trial, rung, objective);
  const scores = [own, ...others.map((t) => bestScoreUpTo(t, rung, objective))].sort((a, b) => b - a);
  if (scores.length < opts.reductionFactor) return false;
  const keep = Math.floor(scores.length / opts.reductionFactor);
  return own < scores[keep - 1];
}
