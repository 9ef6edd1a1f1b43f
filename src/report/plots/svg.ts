/**
 * SVG building blocks shared by the plots (no plotting library: a few simple charts are less code than
 * adapting one): a frame with a title, linear scales, "nice" axis ticks, axes with tick labels, a legend.
 * Text width is estimated (`textWidth`) so that layouts can keep labels apart without a renderer.
 */

export const FONT = 11;

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A standalone SVG document: white background, a title centred at the top. */
export function svgDocument(title: string, body: string, width: number, height: number): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${FONT}">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n` +
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>\n${body}</svg>\n`
  );
}

/** The linear map taking [lo, hi] to [a, b] (a degenerate range maps to its middle). */
export function scale(lo: number, hi: number, a: number, b: number): (v: number) => number {
  if (hi === lo) return () => (a + b) / 2;
  return (v) => a + ((v - lo) / (hi - lo)) * (b - a);
}

/** Estimated width in pixels of `text` at `size` px in a sans-serif font (about 0.6 em per character). */
export function textWidth(text: string, size = FONT): number {
  return text.length * size * 0.6;
}

/**
 * About `count` round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi], and the
 * range widened to the outer ticks. A degenerate range is widened around its value.
 */
export function niceTicks(lo: number, hi: number, count = 5): { ticks: number[]; lo: number; hi: number; step: number } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error(`niceTicks: range [${lo}, ${hi}] is not finite`);
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const raw = (hi - lo) / Math.max(1, count);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw * 0.999)!;
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let k = 0; first + k * step <= last + step * 1e-9; k++) ticks.push(round(first + k * step, step));
  return { ticks, lo: ticks[0], hi: ticks[ticks.length - 1], step };
}

/** `v` without the float noise of k * step (0.30000000000000004 -> 0.3). */
function round(v: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(20, digits)));
}

/** A tick value as text with the decimals its step needs. */
export function tickLabel(v: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(Math.min(20, decimals));
}

export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/**
 * Axes of a plot box: a y axis with `yTicks` (gridlines and labels), an x axis with `xTicks`, and the
 * axis titles. Ticks are given as [value, label] with the scales that place them.
 */
export function axes(
  box: Box,
  x: { ticks: [number, string][]; at: (v: number) => number; title: string },
  y: { ticks: [number, string][]; at: (v: number) => number; title: string },
): string {
  const out: string[] = [];
  for (const [v, label] of y.ticks) {
    const yy = y.at(v).toFixed(1);
    out.push(`<line x1="${box.left}" y1="${yy}" x2="${box.right}" y2="${yy}" stroke="#ddd"/>`);
    out.push(`<line x1="${box.left - 4}" y1="${yy}" x2="${box.left}" y2="${yy}" stroke="black"/>`);
    out.push(`<text x="${box.left - 6}" y="${(y.at(v) + 4).toFixed(1)}" text-anchor="end">${esc(label)}</text>`);
  }
  for (const [v, label] of x.ticks) {
    const xx = x.at(v).toFixed(1);
    out.push(`<line x1="${xx}" y1="${box.bottom}" x2="${xx}" y2="${box.bottom + 4}" stroke="black"/>`);
    out.push(`<text x="${xx}" y="${box.bottom + 16}" text-anchor="middle">${esc(label)}</text>`);
  }
  out.push(`<line x1="${box.left}" y1="${box.bottom}" x2="${box.right}" y2="${box.bottom}" stroke="black"/>`);
  out.push(`<line x1="${box.left}" y1="${box.top}" x2="${box.left}" y2="${box.bottom}" stroke="black"/>`);
  out.push(`<text x="${(box.left + box.right) / 2}" y="${box.bottom + 32}" text-anchor="middle">${esc(x.title)}</text>`);
  const cy = (box.top + box.bottom) / 2;
  const tx = box.left - 46;
  out.push(`<text x="${tx}" y="${cy}" transform="rotate(-90 ${tx} ${cy})" text-anchor="middle">${esc(y.title)}</text>`);
  return out.join('\n');
}

/** A legend entry: its label and the SVG of its 20 x 10 px marker drawn at (0, 0). */
export interface LegendEntry {
  label: string;
  marker: string;
}

/** A legend box with one row per entry, its top-right corner at (right, top). */
export function legend(entries: LegendEntry[], right: number, top: number): string {
  const width = 34 + Math.max(...entries.map((e) => textWidth(e.label)));
  const left = right - width;
  const rows = entries
    .map((e, i) => `<g transform="translate(${(left + 6).toFixed(1)} ${top + 6 + i * 16})">${e.marker}<text x="26" y="9">${esc(e.label)}</text></g>`)
    .join('\n');
  return `<rect x="${left.toFixed(1)}" y="${top}" width="${width.toFixed(1)}" height="${entries.length * 16 + 6}" fill="white" fill-opacity="0.85" stroke="#999"/>\n${rows}`;
}

/** Legend markers. */
export const marker = {
  line: (colour: string, dash = '') => `<line x1="0" y1="5" x2="20" y2="5" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
  dot: (colour: string, filled: boolean) => `<circle cx="10" cy="5" r="3.5" fill="${filled ? colour : 'white'}" stroke="${colour}"/>`,
};

/**
 * Where a legend of `rows` entries hides the fewest of `points` (pixel positions): the top or the
 * bottom of the right side of `box`. Returns the legend's top.
 */
export function legendTop(points: [number, number][], box: Box, rows: number): number {
  const height = rows * 16 + 6;
  const right = points.filter(([px]) => px > box.right - (box.right - box.left) * 0.45);
  const inTop = right.filter(([, py]) => py < box.top + height + 12).length;
  const inBottom = right.filter(([, py]) => py > box.bottom - height - 12).length;
  return inTop <= inBottom ? box.top + 4 : box.bottom - height - 4;
}

/** A legend as one row of entries centred at `centre`, its markers' tops at `top` (above a plot box). */
export function legendRow(entries: LegendEntry[], centre: number, top: number): string {
  const widths = entries.map((e) => 26 + textWidth(e.label) + 18);
  let x = centre - widths.reduce((a, b) => a + b, 0) / 2;
  return entries
    .map((e, i) => {
      const g = `<g transform="translate(${x.toFixed(1)} ${top})">${e.marker}<text x="26" y="9">${esc(e.label)}</text></g>`;
      x += widths[i];
      return g;
    })
    .join('\n');
}
