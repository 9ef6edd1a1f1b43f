import { bestTrial } from '../sweep/best-trial.js';
import type { SearchSpace } from '../sweep/space/space-file.js';
import type { Trial } from '../sweep/types.js';
import { table } from './format.js';
import { formatValue } from './sweep-log.js';

/** A study's trials as a table (state, value, epochs, parameters; * marks the best) under their counts by state. */
export function statusTable(trials: Trial[], space: SearchSpace): string {
  const names = Object.keys(space.parameters);
  const best = bestTrial(trials, space);
  const rows = trials.map((t) => [
    `${t.number}${best && t.number === best.number ? ' *' : ''}`,
    t.state,
    t.value === null ? '-' : formatValue(t.value),
    t.intermediate.length,
    ...names.map((n) => formatValue(t.params[n])),
  ]);
  const counts = ['complete', 'pruned', 'running', 'failed'].map((s) => `${trials.filter((t) => t.state === s).length} ${s}`).join(', ');
  return `${trials.length}/${space.budget.trials} trials: ${counts}; objective ${space.objective.direction} ${space.objective.metric}\n${table(['trial', 'state', 'value', 'epochs', ...names], rows)}`;
}
