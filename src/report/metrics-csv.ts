import Papa from 'papaparse';
import { writeFileAtomic } from '../io/atomic.js';
import type { EpochMetrics } from '../train/trainer.js';

/** The whole metrics history as CSV, rewritten atomically each epoch (so a resumed run's log is whole). */
export function writeMetricsCsv(path: string, history: EpochMetrics[]): void {
  const columns = [...new Set(history.flatMap((r) => Object.keys(r)))];
  writeFileAtomic(path, Papa.unparse({ fields: columns, data: history.map((r) => columns.map((c) => r[c])) }, { newline: '\n' }) + '\n');
}
