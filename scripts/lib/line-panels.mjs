// Line charts as standalone SVG text: panels stacked over one shared x axis (epochs), each with its own
// y axis (linear, or log10 for quantities spanning decades) and a legend. No plotting library.

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A few round tick values between lo and hi. */
function ticks(lo, hi, n = 4) {
  const span = hi - lo || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(+v.toPrecision(12));
  return out;
}

function fmt(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-2 ? v.toExponential(0) : String(+v.toPrecision(3));
}

/**
 * panels: [{ label, log?, min?, max?, series: [{ name, x: number[], y: number[], color?, dash? }] }]
 * Non-finite points (and, on a log axis, points <= 0) break the line.
 */
export function linePanels({ title, xLabel = 'epoch', panels, width = 760, panelHeight = 150 }) {
  const M = { left: 70, right: 170, top: 34, gap: 26, bottom: 36 };
  const height = M.top + panels.length * panelHeight + (panels.length - 1) * M.gap + M.bottom;
  const allX = panels.flatMap((p) => p.series.flatMap((s) => s.x));
  const [x0, x1] = [Math.min(...allX), Math.max(...allX)];
  const sx = (v) => M.left + ((v - x0) / (x1 - x0 || 1)) * (width - M.left - M.right);
  let body = '';
  panels.forEach((p, i) => {
    const top = M.top + i * (panelHeight + M.gap);
    const bottom = top + panelHeight;
    const tf = p.log ? (v) => (v > 0 ? Math.log10(v) : NaN) : (v) => v;
    const ys = p.series.flatMap((s) => s.y.map(tf)).filter(Number.isFinite);
    let lo = p.min !== undefined ? tf(p.min) : Math.min(...ys);
    let hi = p.max !== undefined ? tf(p.max) : Math.max(...ys);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
    if (hi === lo) [lo, hi] = [lo - 0.5, hi + 0.5];
    const sy = (v) => bottom - ((v - lo) / (hi - lo)) * panelHeight;
    body += `<rect x="${M.left}" y="${top}" width="${width - M.left - M.right}" height="${panelHeight}" fill="none" stroke="#999"/>\n`;
    const yt = p.log ? ticks(Math.floor(lo), Math.ceil(hi), 4).filter((t) => Number.isInteger(t) && t >= lo - 1e-9 && t <= hi + 1e-9) : ticks(lo, hi);
    for (const t of yt) {
      body += `<line x1="${M.left - 4}" x2="${width - M.right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>`;
      body += `<text x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${p.log ? `1e${t}` : fmt(t)}</text>\n`;
    }
    body += `<text x="16" y="${(top + bottom) / 2}" transform="rotate(-90 16 ${(top + bottom) / 2})" text-anchor="middle">${esc(p.label)}</text>\n`;
    p.series.forEach((s, k) => {
      const color = s.color ?? COLORS[k % COLORS.length];
      const parts = [[]];
      s.x.forEach((x, j) => {
        const v = tf(s.y[j]);
        if (Number.isFinite(v)) parts[parts.length - 1].push(`${sx(x).toFixed(1)},${sy(Math.min(hi, Math.max(lo, v))).toFixed(1)}`);
        else if (parts[parts.length - 1].length) parts.push([]);
      });
      for (const pts of parts) {
        if (pts.length === 1) body += `<circle cx="${pts[0].split(',')[0]}" cy="${pts[0].split(',')[1]}" r="2" fill="${color}"/>`;
        else if (pts.length) body += `<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="1.6"${s.dash ? ' stroke-dasharray="5,3"' : ''}/>\n`;
      }
      const ly = top + 12 + k * 14;
      body += `<line x1="${width - M.right + 8}" x2="${width - M.right + 26}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${s.dash ? ' stroke-dasharray="5,3"' : ''}/>`;
      body += `<text x="${width - M.right + 30}" y="${ly}">${esc(s.name)}</text>\n`;
    });
  });
  const axisY = M.top + panels.length * panelHeight + (panels.length - 1) * M.gap;
  for (const t of ticks(x0, x1, 8)) body += `<text x="${sx(t).toFixed(1)}" y="${axisY + 14}" text-anchor="middle">${fmt(t)}</text>`;
  body += `\n<text x="${(M.left + width - M.right) / 2}" y="${height - 6}" text-anchor="middle">${esc(xLabel)}</text>\n`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>\n${body}</svg>\n`;
}
