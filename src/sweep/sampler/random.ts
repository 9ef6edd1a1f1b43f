import type { MT19937 } from '../../data/mt19937.js';
import type { ParamSpec, Params } from '../types.js';
import { trialRng } from './trial-rng.js';

/**
 * Random search: each parameter drawn independently from its distribution (log-uniform ones uniformly
 * in log space), with the generator of (seed, trial number), so trial n's parameters are the same
 * whatever the other trials did.
 */

/** The values of an int parameter: low, low + step, ..., high. */
export function intCount(p: Extract<ParamSpec, { type: 'int' }>): number {
  return Math.floor((p.high - p.low) / (p.step ?? 1)) + 1;
}

/** One value of `p`, drawn with `rng`. */
export function sampleParam(p: ParamSpec, rng: MT19937): unknown {
  switch (p.type) {
    case 'uniform':
      return Math.min(p.high, p.low + rng.rand() * (p.high - p.low));
    case 'loguniform': {
      const a = Math.log(p.low), b = Math.log(p.high);
      return Math.min(p.high, Math.max(p.low, Math.exp(a + rng.rand() * (b - a))));
    }
    case 'int':
      return p.low + (p.step ?? 1) * rng.randint(intCount(p));
    case 'categorical':
      return structuredClone(p.choices[rng.randint(p.choices.length)]);
    case 'fixed':
      return structuredClone(p.value);
  }
}

/** The parameters of trial `trial`, in the order of `parameters`. */
export function randomParams(parameters: Record<string, ParamSpec>, seed: number, trial: number): Params {
  const rng = trialRng(seed, trial);
  const out: Params = {};
  for (const [name, p] of Object.entries(parameters)) out[name] = sampleParam(p, rng);
  return out;
}
