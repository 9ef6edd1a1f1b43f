// Plots of the collapse diagnosis (scripts/diagnose-training.mjs output): per seed of a run folder, the
// quantities per epoch as stacked panels, and validation accuracy per seed for run folders side by side.
// Writes SVG into results/training-collapse/ and, where rsvg-convert is installed, a PNG beside each.
//
//   node scripts/plot-training-collapse.mjs [--runs results/training-collapse/runs] [--seeds 0,2,6]
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linePanels } from './lib/line-panels.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const runs = resolve(root, arg('runs', 'results/training-collapse/runs'));
const outDir = join(runs, '..');
const seeds = arg('seeds', '0,2,6').split(',').map(Number);

function readCsv(path) {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = head.split(',');
  const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], Number(v)])));
  return Object.fromEntries(cols.map((c) => [c, rows.map((r) => r[c])]));
}

function write(name, svg) {
  const path = join(outDir, `${name}.svg`);
  writeFileSync(`${path}.tmp`, svg);
  renameSync(`${path}.tmp`, path);
  try {
    execFileSync('rsvg-convert', ['-o', join(outDir, `${name}.png`), path]);
  } catch {
    process.stderr.write(`rsvg-convert failed or missing: ${name}.png not written\n`);
  }
  console.log(path);
}

// Per seed of the diagnosed preset (full diagnostics).
for (const seed of seeds) {
  const path = join(runs, 'exact', `seed-${seed}.csv`);
  if (!existsSync(path)) continue;
  const d = readCsv(path);
  const x = d.epoch;
  const s = (name, y, extra = {}) => ({ name, x, y, ...extra });
  write(
    `diagnosis-seed-${seed}`,
    linePanels({
      title: `exact preset, seed ${seed}: what happens per epoch (training split at each epoch's end)`,
      panels: [
        { label: 'accuracy', series: [s('validation', d.validationAccuracy), s('train (end)', d.trAccuracyEnd, { dash: true })] },
        { label: 'output spikes / sample', log: true, series: [s('output layer', d.trSpikes2), s('hidden / 10', d.trSpikes1.map((v) => v / 10), { dash: true })] },
        {
          label: 'fraction of samples',
          min: 0,
          max: 1,
          series: [s('out 0 silent', d.trOut0Silent), s('out 1 silent', d.trOut1Silent), s('out 2 silent', d.trOut2Silent), s('label silent', d.trLabelSilent, { color: 'black' }), s('all silent', d.trAllSilent, { color: 'black', dash: true })],
        },
        { label: 'mean output weight', series: [s('into out 0', d.wOutMean0), s('into out 1', d.wOutMean1), s('into out 2', d.wOutMean2)] },
        { label: '|gradient| per batch', log: true, series: [s('hidden, mean', d.gradNorm1), s('output, mean', d.gradNorm2), s('output, max', d.gradMax2, { dash: true })] },
        { label: 'silent hidden (of 200)', series: [s('training split', d.trSilent1), s('validation split', d.valSilent1, { dash: true })] },
      ],
    }),
  );
}

// Validation accuracy per seed, for each run folder (the preset and the fixes).
const folders = readdirSync(runs).filter((f) => readdirSync(join(runs, f)).some((n) => n.endsWith('.csv'))).sort();
for (const folder of folders) {
  const files = readdirSync(join(runs, folder)).filter((n) => /^seed-\d+\.csv$/.test(n)).sort((a, b) => parseInt(a.slice(5)) - parseInt(b.slice(5)));
  const series = files.map((f) => {
    const d = readCsv(join(runs, folder, f));
    return { name: f.replace('.csv', ''), x: d.epoch, y: d.validationAccuracy.map((v) => 100 * v) };
  });
  write(`validation-${folder}`, linePanels({ title: `validation accuracy per epoch: ${folder}`, panels: [{ label: 'validation accuracy (%)', min: 30, max: 100, series }, { label: 'zoom (%)', min: 93, max: 99, series }], panelHeight: 200 }));
}
