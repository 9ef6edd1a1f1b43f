import type { ParamSpec, Trial } from '../sweep/types.js';

/**
 * Sweep plots as standalone SVG text (no plotting library: three simple charts are less code than
 * adapting one): optimisation history, parallel coordinates, parameter importance.
 */

const W = 640;
const H = 360;
const M = { left: 60, right: 20, top: 30, bottom: 40 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function svg(title: string, body: string, width = W, height = H): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>\n${body}</svg>\n`;
}

function scale(lo: number, hi: number, a: number, b: number): (v: number) => number {
  const span = hi - lo || 1;
  return (v) => a + ((v - lo) / span) * (b - a);
}

function finished(trials: Trial[]): Trial[] {
  return trials.filter((t) => t.value !== null && (t.state === 'complete' || t.state === 'pruned'));
}

/** Objective per trial (dots; pruned hollow) and the best so far (line). */
export function historyPlot(trials: Trial[], metric: string, maximize: boolean): string {
  const done = finished(trials);
  if (!done.length) return svg('optimisation history (no finished trials)', '');
  const values = done.map((t) => t.value!);
  const x = scale(0, Math.max(1, ...done.map((t) => t.number)), M.left, W - M.right);
  const y = scale(Math.min(...values), Math.max(...values), H - M.bottom, M.top);
  let best = maximize ? -Infinity : Infinity;
  const line: string[] = [];
  for (const t of [...done].sort((a, b) => a.number - b.number)) {
    if (t.state === 'complete' && (maximize ? t.value! > best : t.value! < best)) best = t.value!;
    if (Number.isFinite(best)) line.push(`${x(t.number).toFixed(1)},${y(best).toFixed(1)}`);
  }
  const dots = done
    .map((t) => `<circle cx="${x(t.number).toFixed(1)}" cy="${y(t.value!).toFixed(1)}" r="3.5" fill="${t.state === 'complete' ? '#1f77b4' : 'none'}" stroke="#1f77b4"><title>trial ${t.number}: ${t.value}</title></circle>`)
    .join('\n');
  const axes =
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>` +
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>` +
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">trial</text>` +
    `<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">${esc(metric)}</text>` +
    `<text x="${M.left - 4}" y="${M.top + 4}" text-anchor="end">${Math.max(...values).toPrecision(4)}</text>` +
    `<text x="${M.left - 4}" y="${H - M.bottom}" text-anchor="end">${Math.min(...values).toPrecision(4)}</text>`;
  return svg(`optimisation history (${esc(metric)})`, `${axes}\n<polyline points="${line.join(' ')}" fill="none" stroke="#d62728" stroke-width="2"/>\n${dots}\n`);
}

/** A parameter value as a number on its axis (log for log-uniform, index for categorical). */
function axisValue(spec: ParamSpec, v: unknown): number {
  if (spec.type === 'categorical') return spec.choices.findIndex((c) => JSON.stringify(c) === JSON.stringify(v));
  if (spec.type === 'loguniform') return Math.log(Number(v));
  return Number(v);
}

function axisRange(spec: ParamSpec): [number, number] {
  if (spec.type === 'categorical') return [0, Math.max(1, spec.choices.length - 1)];
  if (spec.type === 'loguniform') return [Math.log(spec.low), Math.log(spec.high)];
  if (spec.type === 'fixed') return [Number(spec.value) - 1, Number(spec.value) + 1];
  return [spec.low, spec.high];
}

/** One vertical axis per parameter and one for the objective; one line per finished trial, coloured by value. */
export function parallelCoordinates(trials: Trial[], parameters: Record<string, ParamSpec>, metric: string): string {
  const names = Object.keys(parameters).filter((n) => parameters[n].type !== 'fixed');
  const done = finished(trials);
  const axes = [...names, metric];
  const x = (i: number) => M.left + (i * (W - M.left - M.right)) / Math.max(1, axes.length - 1);
  const values = done.map((t) => t.value!);
  const [vlo, vhi] = [Math.min(...values), Math.max(...values)];
  const colour = (v: number) => `hsl(${(240 * (1 - (v - vlo) / (vhi - vlo || 1))).toFixed(0)},70%,45%)`;
  const lines = done
    .map((t) => {
      const pts = axes.map((a, i) => {
        const [lo, hi] = a === metric ? [vlo, vhi] : axisRange(parameters[a]);
        const v = a === metric ? t.value! : axisValue(parameters[a], t.params[a]);
        return `${x(i).toFixed(1)},${scale(lo, hi, H - M.bottom, M.top)(v).toFixed(1)}`;
      });
      return `<polyline points="${pts.join(' ')}" fill="none" stroke="${colour(t.value!)}" stroke-opacity="0.7"><title>trial ${t.number}</title></polyline>`;
    })
    .join('\n');
  const axisLines = axes
    .map((a, i) => `<line x1="${x(i)}" y1="${M.top}" x2="${x(i)}" y2="${H - M.bottom}" stroke="#444"/><text x="${x(i)}" y="${H - M.bottom + 16}" text-anchor="middle">${esc(a)}</text>`)
    .join('\n');
  return svg('parallel coordinates', `${axisLines}\n${lines}\n`);
}

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

export function importancePlot(importance: Record<string, number>): string {
  const entries = Object.entries(importance).sort((a, b) => b[1] - a[1]);
  const rowH = 22;
  const height = Math.max(H / 2, M.top + entries.length * rowH + M.bottom);
  const left = 140;
  const bar = scale(0, 1, left, W - M.right - 40);
  const rows = entries
    .map(([name, v], i) => {
      const yy = M.top + i * rowH;
      return `<text x="${left - 6}" y="${yy + 14}" text-anchor="end">${esc(name)}</text><rect x="${left}" y="${yy + 3}" width="${(bar(v) - left).toFixed(1)}" height="${rowH - 6}" fill="#2ca02c"/><text x="${(bar(v) + 4).toFixed(1)}" y="${yy + 14}">${v.toFixed(2)}</text>`;
    })
    .join('\n');
  return svg('parameter importance (|rank correlation| with the objective)', rows + '\n', W, height);
}
