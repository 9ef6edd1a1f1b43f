import type { ParamSpec, Trial } from '../../sweep/types.js';
import { axisValue } from './parallel-coordinates.js';
import { esc, scale, svgDocument, textWidth } from './svg.js';

/** Rank (average ranks for ties). */
function ranks(xs: number[]): number[] {
  const order = xs.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) r[order[k][1]] = (i + j) / 2;
    i = j + 1;
  }
  return r;
}

/**
 * Importance of each parameter: |Spearman rank correlation| between its value and the objective over
 * complete trials (for categorical parameters: the correlation ratio of the objective's ranks over
 * the choices). A simple, transparent stand-in for fANOVA.
 */
export function parameterImportance(trials: Trial[], parameters: Record<string, ParamSpec>): Record<string, number> {
  const done = trials.filter((t) => t.state === 'complete' && t.value !== null);
  const out: Record<string, number> = {};
  if (done.length < 3) return out;
  const vr = ranks(done.map((t) => t.value!));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [name, spec] of Object.entries(parameters)) {
    if (spec.type === 'fixed') continue;
    const xs = done.map((t) => axisValue(spec, t.params[name]));
    if (spec.type === 'categorical') {
      const m = mean(vr);
      const groups = new Map<number, number[]>();
      xs.forEach((x, i) => groups.set(x, [...(groups.get(x) ?? []), vr[i]]));
      const between = [...groups.values()].reduce((a, g) => a + g.length * (mean(g) - m) ** 2, 0);
      const total = vr.reduce((a, v) => a + (v - m) ** 2, 0);
      out[name] = total > 0 ? Math.sqrt(between / total) : 0;
    } else {
      const xr = ranks(xs);
      const [mx, mv] = [mean(xr), mean(vr)];
      const cov = xr.reduce((a, x, i) => a + (x - mx) * (vr[i] - mv), 0);
      const sx = Math.sqrt(xr.reduce((a, x) => a + (x - mx) ** 2, 0));
      const sv = Math.sqrt(vr.reduce((a, v) => a + (v - mv) ** 2, 0));
      out[name] = sx > 0 && sv > 0 ? Math.abs(cov / (sx * sv)) : 0;
    }
  }
  return out;
}

/** One bar per parameter, most important first, with its value. */
export function importancePlot(importance: Record<string, number>): string {
  const entries = Object.entries(importance).sort((a, b) => b[1] - a[1]);
  const W = 640;
  const rowH = 22;
  const top = 34;
  const height = Math.max(120, top + entries.length * rowH + 20);
  const left = Math.max(100, 12 + Math.max(0, ...entries.map(([n]) => textWidth(n))));
  const bar = scale(0, 1, left, W - 60);
  const rows = entries
    .map(([name, v], i) => {
      const yy = top + i * rowH;
      return `<text x="${left - 6}" y="${yy + 14}" text-anchor="end">${esc(name)}</text><rect x="${left}" y="${yy + 3}" width="${(bar(v) - left).toFixed(1)}" height="${rowH - 6}" fill="#2ca02c"/><text x="${(bar(v) + 4).toFixed(1)}" y="${yy + 14}">${v.toFixed(2)}</text>`;
    })
    .join('\n');
  const empty = entries.length ? '' : `<text x="${W / 2}" y="70" text-anchor="middle">(needs 3 complete trials)</text>`;
  return svgDocument('parameter importance (|rank correlation| with the objective)', rows + empty + '\n', W, height);
}
