import type { Objective, Params, Propose, Trial } from '../../../src/sweep/types.js';

/** A trial as a store would hold it. */
export function trial(number: number, params: Params, state: Trial['state'], value: number | null): Trial {
  return { number, params, state, value, intermediate: [], worker: null, heartbeatAt: null, startedAt: 0, finishedAt: null, attrs: {} };
}

/** Run a sequential study of `n` trials: propose, evaluate `f`, complete. */
export function runStudy(propose: Propose, f: (p: Params) => number, n: number): Trial[] {
  const trials: Trial[] = [];
  for (let i = 0; i < n; i++) {
    const params = propose(trials);
    trials.push(trial(i, params, 'complete', f(params)));
  }
  return trials;
}

export const MAXIMIZE: Objective = { metric: 'validationAccuracy', direction: 'maximize' };
export const MINIMIZE: Objective = { metric: 'validationLoss', direction: 'minimize' };
