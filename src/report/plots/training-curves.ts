import type { EpochMetrics } from '../../train/trainer.js';
import { axes, legend, legendTop, marker, niceTicks, scale, svgDocument, tickLabel, type Box } from './svg.js';

const BLUE = '#1f77b4';
const ORANGE = '#ff7f0e';
const PANEL_W = 400;
const H = 340;

/** Epoch ticks: every epoch while they fit, else round steps. */
function epochTicks(first: number, last: number): number[] {
  if (last - first + 1 <= 14) return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  return niceTicks(first, last, 7).ticks.filter((e) => e >= first && e <= last && Number.isInteger(e));
}

/** One panel: train and validation of a metric against the epoch. */
function panel(history: EpochMetrics[], left: number, title: string, keys: [string, string], percent: boolean): string {
  const box: Box = { left: left + 64, right: left + PANEL_W - 16, top: 48, bottom: H - 52 };
  const epochs = history.map((m) => m.epoch);
  const [first, last] = [Math.min(...epochs), Math.max(...epochs)];
  const x = scale(first - 0.5, last + 0.5, box.left, box.right);
  const k = percent ? 100 : 1;
  const values = history.flatMap((m) => keys.map((key) => k * m[key])).filter(Number.isFinite);
  const yt = values.length ? niceTicks(Math.min(...values), Math.max(...values), 5) : niceTicks(0, 1, 5);
  const y = scale(yt.lo, yt.hi, box.bottom, box.top);
  const all: [number, number][] = [];
  const series = keys.map((key, s) => {
    const colour = s === 0 ? BLUE : ORANGE;
    const pts = history.filter((m) => Number.isFinite(m[key])).map((m): [number, number] => [x(m.epoch), y(k * m[key])]);
    all.push(...pts);
    const line = `<polyline points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`;
    const dots = pts.map(([a, b]) => `<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="2.5" fill="${colour}"/>`).join('');
    return line + dots;
  });
  return [
    `<text x="${(box.left + box.right) / 2}" y="40" text-anchor="middle" font-size="12">${title}</text>`,
    axes(
      box,
      { ticks: epochTicks(first, last).map((e) => [e, String(e)]), at: x, title: 'epoch' },
      { ticks: yt.ticks.map((v) => [v, tickLabel(v, yt.step)]), at: y, title: percent ? `${title} (%)` : title },
    ),
    ...series,
    legend(
      [
        { label: 'train', marker: marker.line(BLUE) },
        { label: 'validation', marker: marker.line(ORANGE) },
      ],
      box.right - 4,
      legendTop(all, box, 2),
    ),
  ].join('\n');
}

/**
 * Training curves of one run, as `train --log` writes them beside its metrics CSV: loss (left) and
 * accuracy in % (right) per epoch, train (the running mean over the epoch's batches) and validation.
 */
export function trainingCurves(history: EpochMetrics[], title = 'training curves'): string {
  if (!history.length) return svgDocument(`${title} (no epoch yet)`, '', 2 * PANEL_W, H);
  const body = [panel(history, 0, 'loss', ['trainLoss', 'validationLoss'], false), panel(history, PANEL_W, 'accuracy', ['trainAccuracy', 'validationAccuracy'], true)];
  return svgDocument(title, body.join('\n') + '\n', 2 * PANEL_W, H);
}
