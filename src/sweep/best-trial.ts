import type { SearchSpace } from './space/space-file.js';
import type { Trial } from './types.js';

/** The best complete trial by the study's objective (the first of equals), or null when none is complete. */
export function bestTrial(trials: Trial[], space: SearchSpace): Trial | null {
  const done = trials.filter((t) => t.state === 'complete' && t.value !== null);
  if (!done.length) return null;
  const sign = space.objective.direction === 'maximize' ? 1 : -1;
  return done.reduce((a, t) => (sign * t.value! > sign * a.value! ? t : a));
}
