import type { ParamSpec, Trial } from '../../sweep/types.js';
import { finishedTrials } from './history.js';
import { esc, niceTicks, scale, svgDocument, textWidth, tickLabel } from './svg.js';

/** A parameter value as a number on its axis (log for log-uniform, index for categorical). */
export function axisValue(spec: ParamSpec, v: unknown): number {
  if (spec.type === 'categorical') return spec.choices.findIndex((c) => JSON.stringify(c) === JSON.stringify(v));
  if (spec.type === 'loguniform') return Math.log(Number(v));
  return Number(v);
}

/** A number in at most 3 significant digits, without trailing zeros. */
function short(v: number): string {
  return String(Number(v.toPrecision(3)));
}

/** An axis: its range (in axis values) and its ticks as [axis value, label]. */
interface Axis {
  name: string;
  lo: number;
  hi: number;
  ticks: [number, string][];
  value: (t: Trial) => number;
}

/** A parameter's axis spans its whole range in the space; ticks at both ends and the middle. */
function parameterAxis(name: string, spec: ParamSpec): Axis {
  const value = (t: Trial) => axisValue(spec, t.params[name]);
  if (spec.type === 'categorical') {
    const ticks = spec.choices.map((c, i): [number, string] => [i, typeof c === 'string' ? c : JSON.stringify(c)]);
    return { name, lo: 0, hi: Math.max(1, spec.choices.length - 1), ticks, value };
  }
  if (spec.type === 'loguniform') {
    const [lo, hi] = [Math.log(spec.low), Math.log(spec.high)];
    return { name, lo, hi, ticks: [lo, (lo + hi) / 2, hi].map((a): [number, string] => [a, short(Math.exp(a))]), value };
  }
  if (spec.type === 'fixed') throw new Error(`parallelCoordinates: fixed parameter ${name} has no axis`);
  const mid = spec.type === 'int' ? Math.round((spec.low + spec.high) / 2) : (spec.low + spec.high) / 2;
  const values = [...new Set([spec.low, mid, spec.high])];
  return { name, lo: spec.low, hi: spec.high, ticks: values.map((v): [number, string] => [v, short(v)]), value };
}

/** `text` cut to about `width` pixels, keeping its start and end ("optimiser…tMin"). */
function fit(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  const keep = Math.max(2, Math.floor(width / (0.6 * 11)) - 1);
  const head = Math.ceil(keep / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (keep - head))}`;
}

const H = 420;
const TOP = 96;
const BOTTOM = H - 56;
const HALO = 'stroke="white" stroke-width="3" paint-order="stroke"';

/**
 * Parallel coordinates: one vertical axis per swept parameter (its whole range in the space: log scale for
 * log-uniform, one tick per choice for categorical) and one for the objective; one line per finished
 * trial, coloured by its objective (blue lowest to red highest). Axis names sit above the axes, in two
 * staggered rows when one row would not hold them, shortened in the middle only when even that is too
 * narrow (the full name is the label's tooltip); each axis carries its own range labels.
 */
export function parallelCoordinates(trials: Trial[], parameters: Record<string, ParamSpec>, metric: string): string {
  const done = finishedTrials(trials);
  const axesList: Axis[] = Object.keys(parameters)
    .filter((n) => parameters[n].type !== 'fixed')
    .map((n) => parameterAxis(n, parameters[n]));
  const values = done.map((t) => t.value!);
  const vt = values.length ? niceTicks(Math.min(...values), Math.max(...values), 5) : niceTicks(0, 1, 5);
  axesList.push({ name: metric, lo: vt.lo, hi: vt.hi, ticks: vt.ticks.map((v) => [v, tickLabel(v, vt.step)]), value: (t) => t.value! });

  // Names in one row while the picture stays under 1200 px wide; else in two staggered rows, which halves
  // the room each needs.
  const widest = Math.max(...axesList.map((a) => textWidth(a.name)));
  const stagger = (widest + 14) * (axesList.length - 1) > 1100;
  const spacing = Math.max(96, Math.ceil(stagger ? widest / 2 + 14 : widest + 14));
  const nameWidth = Math.min(stagger ? 2 * spacing - 12 : spacing - 10, 240);
  const left = 12 + Math.max(40, Math.min(textWidth(axesList[0].name), nameWidth) / 2);
  const lastAxis = axesList[axesList.length - 1];
  const rightSpace = Math.max(Math.max(...lastAxis.ticks.map(([, l]) => textWidth(l))) + 16, Math.min(textWidth(lastAxis.name), nameWidth) / 2 + 12);
  const hasLog = Object.values(parameters).some((p) => p.type === 'loguniform');
  const noteText = `${done.length} finished trial${done.length === 1 ? '' : 's'}; line colour: ${metric} (blue lowest, red highest)${hasLog ? '; log scale for log-uniform parameters' : ''}`;
  const W = Math.max(520, Math.ceil(left + spacing * (axesList.length - 1) + rightSpace), Math.ceil(textWidth(noteText) + 24));
  const x = (i: number) => left + i * spacing;

  const valueMin = values.length ? Math.min(...values) : 0;
  const valueMax = values.length ? Math.max(...values) : 1;
  const colour = (v: number) => `hsl(${(240 * (1 - (valueMax === valueMin ? 0.5 : (v - valueMin) / (valueMax - valueMin)))).toFixed(0)},75%,45%)`;
  const ys = axesList.map((a) => scale(a.lo, a.hi, BOTTOM, TOP));
  const lines = done
    .map((t) => {
      const pts = axesList.map((a, i) => `${x(i).toFixed(1)},${ys[i](a.value(t)).toFixed(1)}`);
      return `<polyline points="${pts.join(' ')}" fill="none" stroke="${colour(t.value!)}" stroke-width="1.5" stroke-opacity="0.75"><title>trial ${t.number}: ${metric} ${t.value}</title></polyline>`;
    })
    .join('\n');
  const axisSvg = axesList
    .map((a, i) => {
      const xx = x(i);
      const nameY = stagger && i % 2 === 1 ? 58 : 42;
      const name = fit(a.name, nameWidth);
      const ticks = a.ticks
        .map(([v, label]) => {
          const yy = ys[i](v);
          return `<line x1="${xx - 3}" y1="${yy.toFixed(1)}" x2="${xx + 3}" y2="${yy.toFixed(1)}" stroke="#444"/><text x="${xx + 6}" y="${(yy + 4).toFixed(1)}" ${HALO}>${esc(fit(label, spacing - 12))}</text>`;
        })
        .join('');
      return (
        `<line x1="${xx}" y1="${TOP}" x2="${xx}" y2="${BOTTOM}" stroke="#444"/>` +
        `<text x="${xx}" y="${nameY}" text-anchor="middle" font-weight="bold"><title>${esc(a.name)}</title>${esc(name)}</text>` +
        (stagger ? `<line x1="${xx}" y1="${nameY + 4}" x2="${xx}" y2="${TOP - 8}" stroke="#bbb" stroke-dasharray="2 2"/>` : '') +
        ticks
      );
    })
    .join('\n');
  const note =
    `<text x="12" y="${H - 16}">${done.length} finished trial${done.length === 1 ? '' : 's'}; line colour: ${esc(metric)} ` +
    `(<tspan fill="hsl(240,75%,45%)">blue</tspan> lowest, <tspan fill="hsl(0,75%,45%)">red</tspan> highest)${hasLog ? '; log scale for log-uniform parameters' : ''}</text>`;
  return svgDocument('parallel coordinates', `${lines}\n${axisSvg}\n${note}\n`, W, H);
}
