import { join } from 'node:path';
import Papa from 'papaparse';
import { writeFileAtomic } from '../io/atomic.js';
import { toJsonText } from '../io/json.js';
import type { TrainConfig } from '../model/train-config.js';
import type { SearchSpace } from '../sweep/space/space-file.js';
import type { Trial } from '../sweep/types.js';
import { historyPlot, importancePlot, parallelCoordinates, parameterImportance } from './svg-plots.js';

/** What a study's export holds, in the order messages list them. */
export const EXPORT_FILES = ['trials.csv', 'best-config.json', 'history.svg', 'parallel-coordinates.svg', 'importance.svg'] as const;

/**
 * A study's export: every trial as CSV (number, state, value, epochs, worker, parameters as JSON), the
 * best trial's training config, and the sweep plots.
 */
export function studyExportFiles(trials: Trial[], space: SearchSpace, bestConfig: TrainConfig): Record<(typeof EXPORT_FILES)[number], string> {
  const names = Object.keys(space.parameters);
  const rows = trials.map((t) => ({ number: t.number, state: t.state, value: t.value, epochs: t.intermediate.length, worker: t.worker, ...Object.fromEntries(names.map((n) => [n, JSON.stringify(t.params[n])])) }));
  const metric = space.objective.metric;
  return {
    'trials.csv': Papa.unparse(rows, { newline: '\n' }) + '\n',
    'best-config.json': toJsonText(bestConfig),
    'history.svg': historyPlot(trials, metric, space.objective.direction === 'maximize'),
    'parallel-coordinates.svg': parallelCoordinates(trials, space.parameters, metric),
    'importance.svg': importancePlot(parameterImportance(trials, space.parameters)),
  };
}

/** Write a study's export into `dir` (created when missing; files of these names replaced, each atomically). */
export function writeStudyExport(dir: string, trials: Trial[], space: SearchSpace, bestConfig: TrainConfig): void {
  const files = studyExportFiles(trials, space, bestConfig);
  for (const name of EXPORT_FILES) writeFileAtomic(join(dir, name), files[name]);
}
