import { MT19937 } from '../../data/mt19937.js';

/**
 * The random generator of one trial: MT19937 seeded with a 32-bit hash of (seed, trial number), so that
 * a trial's random draws depend on the study seed and its number only, not on the other trials.
 */

/** murmur3's 32-bit finaliser: every input bit flips about half the output bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit seed from (seed, trial); distinct pairs give unrelated seeds. */
export function trialSeed(seed: number, trial: number): number {
  return fmix32((fmix32(seed >>> 0) ^ Math.imul(trial >>> 0, 0x9e3779b9)) >>> 0);
}

export function trialRng(seed: number, trial: number): MT19937 {
  return new MT19937(trialSeed(seed, trial));
}
