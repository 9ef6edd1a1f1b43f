import type { Trial } from '../../sweep/types.js';
import { axes, esc, legendRow, marker, niceTicks, scale, svgDocument, tickLabel, type Box } from './svg.js';

const W = 680;
const H = 380;
const BOX: Box = { left: 70, right: W - 20, top: 52, bottom: H - 50 };
const BLUE = '#1f77b4';
const RED = '#d62728';

/** Trials with an objective value to plot (complete, or pruned at their last epoch). */
export function finishedTrials(trials: Trial[]): Trial[] {
  return trials.filter((t) => t.value !== null && Number.isFinite(t.value) && (t.state === 'complete' || t.state === 'pruned'));
}

/** Integer ticks for trial numbers 0..last: every trial while they fit, else round steps. */
function trialTicks(last: number, width: number): number[] {
  const fit = Math.floor(width / 26);
  if (last + 1 <= fit) return Array.from({ length: last + 1 }, (_, i) => i);
  const { ticks } = niceTicks(0, last, Math.max(2, Math.floor(fit / 2)));
  return ticks.filter((t) => Number.isInteger(t) && t >= 0 && t <= last);
}

/**
 * Optimisation history: the objective of each finished trial against its trial number (filled dots:
 * complete; hollow: pruned, at their last epoch), the best complete value so far (red steps), a y axis
 * with ticks, the trial numbers on the x axis, and a legend.
 */
export function historyPlot(trials: Trial[], metric: string, maximize: boolean): string {
  const done = finishedTrials(trials).sort((a, b) => a.number - b.number);
  if (!done.length) return svgDocument(`optimisation history of ${metric} (no finished trial yet)`, '', W, H);
  const last = Math.max(...trials.map((t) => t.number));
  const x = scale(-0.5, last + 0.5, BOX.left, BOX.right);
  const values = done.map((t) => t.value!);
  const yt = niceTicks(Math.min(...values), Math.max(...values), 6);
  const y = scale(yt.lo, yt.hi, BOX.bottom, BOX.top);
  // The best complete value so far, as steps that change at the trial that improved it.
  let best = maximize ? -Infinity : Infinity;
  const steps: string[] = [];
  for (const t of done) {
    if (t.state !== 'complete' || !(maximize ? t.value! > best : t.value! < best)) continue;
    if (steps.length) steps.push(`${x(t.number).toFixed(1)},${y(best).toFixed(1)}`);
    best = t.value!;
    steps.push(`${x(t.number).toFixed(1)},${y(best).toFixed(1)}`);
  }
  if (steps.length) steps.push(`${x(last).toFixed(1)},${y(best).toFixed(1)}`);
  const dots = done
    .map((t) => {
      const fill = t.state === 'complete' ? BLUE : 'white';
      return `<circle cx="${x(t.number).toFixed(1)}" cy="${y(t.value!).toFixed(1)}" r="4" fill="${fill}" stroke="${BLUE}" stroke-width="1.5"><title>trial ${t.number} (${t.state}): ${t.value}</title></circle>`;
    })
    .join('\n');
  const body = [
    axes(
      BOX,
      { ticks: trialTicks(last, BOX.right - BOX.left).map((n) => [n, String(n)]), at: x, title: 'trial number' },
      { ticks: yt.ticks.map((v) => [v, tickLabel(v, yt.step)]), at: y, title: metric },
    ),
    steps.length ? `<polyline points="${steps.join(' ')}" fill="none" stroke="${RED}" stroke-width="2"/>` : '',
    dots,
    legendRow(
      [
        { label: 'complete trial', marker: marker.dot(BLUE, true) },
        { label: 'pruned trial (last epoch)', marker: marker.dot(BLUE, false) },
        { label: `best so far (${maximize ? 'max' : 'min'})`, marker: marker.line(RED) },
      ],
      (BOX.left + BOX.right) / 2,
      28,
    ),
  ];
  return svgDocument(`optimisation history of ${esc(metric)}`, body.join('\n') + '\n', W, H);
}
