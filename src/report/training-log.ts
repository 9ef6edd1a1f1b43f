import { basename, dirname, extname, join } from 'node:path';
import { SettingError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { EpochMetrics } from '../train/trainer.js';
import { writeMetricsCsv } from './metrics-csv.js';
import { trainingCurves } from './plots/training-curves.js';

/** Where the training curves of a metrics log go: beside it, same base name, `.svg` (`m.csv` -> `m.svg`). */
export function curvesPath(logPath: string): string {
  const ext = extname(logPath);
  const path = join(dirname(logPath), `${ext ? basename(logPath, ext) : basename(logPath)}.svg`);
  if (ext.toLowerCase() === '.svg') throw new SettingError('log', logPath, `the metrics log is CSV and its training curves go to ${path}; name it .csv`);
  return path;
}

/** The metrics CSV and its training-curve SVG, both rewritten atomically (after every epoch). */
export function writeTrainingLog(logPath: string, history: EpochMetrics[]): void {
  writeMetricsCsv(logPath, history);
  writeFileAtomic(curvesPath(logPath), trainingCurves(history, `training curves (${basename(logPath)})`));
}
