import type { Evaluation } from '../train/evaluate.js';
import type { EpochMetrics } from '../train/trainer.js';

export function percent(x: number, digits = 2): string {
  return `${(100 * x).toFixed(digits)} %`;
}

/** Right-aligned plain-text table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  return cells.map((r) => r.map((v, c) => v.padStart(widths[c])).join('  ')).join('\n');
}

/** Numbered layer columns of a metrics row (`spikesPerSample1`, ...) as a list. */
export function perLayer(m: EpochMetrics, key: string): number[] {
  const out: number[] = [];
  for (let l = 1; m[`${key}${l}`] !== undefined; l++) out.push(m[`${key}${l}`]);
  return out;
}

/** One terminal line per epoch. */
export function epochLine(m: EpochMetrics, epochs: number, best: boolean): string {
  const spikes = perLayer(m, 'spikesPerSample').map((s) => s.toFixed(1)).join('/');
  const silent = perLayer(m, 'silentNeurons').join('/');
  return (
    `epoch ${String(m.epoch).padStart(String(epochs).length)}/${epochs}  ` +
    `train loss ${m.trainLoss.toFixed(4)} acc ${percent(m.trainAccuracy)}  ` +
    `val loss ${m.validationLoss.toFixed(4)} acc ${percent(m.validationAccuracy)}${best ? ' *' : '  '}  ` +
    `spikes/sample ${spikes}  silent ${silent}  ${m.trainSeconds.toFixed(2)} s`
  );
}

/** The evaluation report for people: accuracy, loss, confusion matrix, activity per layer. */
export function evaluationReport(e: Evaluation, title: string): string {
  const classes = e.confusion.length;
  const header = ['label \\ predicted', ...Array.from({ length: classes }, (_, c) => String(c)), 'recall'];
  const rows = e.confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return [String(c), ...row.map(String), total ? percent(row[c] / total, 1) : '-'];
  });
  return [
    `${title}: ${e.count} samples`,
    `accuracy ${percent(e.accuracy)}   loss ${e.loss.toFixed(4)}`,
    '',
    table(header, rows),
    '',
    `spikes per sample by layer: ${e.spikesPerSample.map((s) => s.toFixed(2)).join(', ')}`,
    `silent neurons by layer:    ${e.silentNeurons.join(', ')}`,
  ].join('\n');
}

/** The JSON form of an evaluation (accuracy as a fraction). */
export function evaluationJson(e: Evaluation): Record<string, unknown> {
  return {
    count: e.count,
    accuracy: e.accuracy,
    loss: e.loss,
    confusion: e.confusion,
    spikesPerSample: e.spikesPerSample,
    silentNeurons: e.silentNeurons,
  };
}
