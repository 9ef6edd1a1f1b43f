// Plots of the collapse diagnosis (scripts/diagnose-training.mjs output): per diagnosed seed the
// quantities per epoch as stacked panels; validation accuracy per seed before and after the fix; the
// settings tried on seeds 2 and 6; and a table of when each warning sign first appears.
// Writes SVG into results/training-collapse/ and, where rsvg-convert is installed, a PNG beside each.
//
//   node scripts/plot-training-collapse.mjs [--runs results/training-collapse/runs] [--seeds 0,2,6]
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linePanels } from './lib/line-panels.mjs';
import { readColumns } from './lib/run-cli.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const runs = resolve(root, arg('runs', 'results/training-collapse/runs'));
const outDir = join(runs, '..');
const seeds = arg('seeds', '0,2,6').split(',').map(Number);

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
  const path = join(runs, 'a0.003', `seed-${seed}.csv`);
  if (!existsSync(path)) continue;
  const d = readColumns(path);
  const x = d.epoch;
  const s = (name, y, extra = {}) => ({ name, x, y, ...extra });
  write(
    `diagnosis-seed-${seed}`,
    linePanels({
      title: `exact preset with a = 0.003 (before the fix), seed ${seed}: per epoch (training split at each epoch's end)`,
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

// Validation accuracy per seed of a run folder (the diagnosed preset; the final preset's 10 seeds).
const seedFiles = (folder) =>
  readdirSync(join(runs, folder)).filter((n) => /^seed-\d+\.csv$/.test(n)).sort((a, b) => parseInt(a.slice(5)) - parseInt(b.slice(5)));
for (const folder of ['a0.003', 'final']) {
  if (!existsSync(join(runs, folder))) continue;
  const series = seedFiles(folder).map((f) => {
    const d = readColumns(join(runs, folder, f));
    return { name: f.replace('.csv', ''), x: d.epoch, y: d.validationAccuracy.map((v) => 100 * v) };
  });
  write(`validation-${folder}`, linePanels({ title: `validation accuracy per epoch, ${folder === 'a0.003' ? 'exact preset with a = 0.003 (before)' : 'exact preset with a = 0.01 (after)'}`, panels: [{ label: 'validation accuracy (%)', min: 30, max: 100, series }, { label: 'zoom (%)', min: 93, max: 99, series }], panelHeight: 200 }));
}

// The settings tried, on the seeds that collapsed first: validation accuracy and output spikes per sample.
for (const seed of [2, 6]) {
  const folders = readdirSync(runs).filter((f) => f !== 'final' && existsSync(join(runs, f, `seed-${seed}.csv`))).sort();
  const data = folders.map((f) => [f, readColumns(join(runs, f, `seed-${seed}.csv`))]);
  const series = (col, scale = 1) => data.map(([f, d]) => ({ name: f, x: d.epoch, y: d[col].map((v) => scale * v) }));
  write(
    `settings-seed-${seed}`,
    linePanels({
      title: `seed ${seed}: the settings tried (run folders under runs/)`,
      panels: [
        { label: 'validation accuracy (%)', min: 30, max: 100, series: series('validationAccuracy', 100) },
        { label: 'output spikes / sample (validation)', log: true, series: series('valSpikes2') },
      ],
      panelHeight: 220,
    }),
  );
}

// Per seed of the preset before the fix (runs/a0.003): when each warning sign first appears, against the collapse (the
// first epoch whose validation accuracy is 5 points or more below the best so far). Printed as a
// markdown table and written to results/training-collapse/first-signs.md.
const firstEpoch = (d, test) => {
  const i = d.epoch.findIndex((_, k) => test(k));
  return i < 0 ? '-' : String(d.epoch[i]);
};
const exactDir = join(runs, 'a0.003');
const table = [
  '| seed | epochs run | best validation (epoch) | last validation | collapse (val 5 points below best so far) | output spikes/sample < 3 | label silent > 0.1 % of training samples | no output spike > 0.1 % | an output neuron silent on > 90 % of samples |',
  '|---|---|---|---|---|---|---|---|---|',
];
if (existsSync(exactDir)) {
  const files = readdirSync(exactDir).filter((n) => /^seed-\d+\.csv$/.test(n)).sort((a, b) => parseInt(a.slice(5)) - parseInt(b.slice(5)));
  for (const f of files) {
    const d = readColumns(join(exactDir, f));
    const v = d.validationAccuracy;
    let best = 0;
    let bestAt = 0;
    let collapse = '-';
    v.forEach((a, k) => {
      if (collapse === '-' && a <= Math.max(...v.slice(0, k + 1)) - 0.05) collapse = String(d.epoch[k]);
      if (a > best) [best, bestAt] = [a, d.epoch[k]];
    });
    table.push(
      `| ${f.slice(5, -4)} | ${v.length} | ${(100 * best).toFixed(1)} (${bestAt}) | ${(100 * v[v.length - 1]).toFixed(1)} | ${collapse} | ` +
        `${firstEpoch(d, (k) => d.trSpikes2[k] < 3)} | ${firstEpoch(d, (k) => d.trLabelSilent[k] > 0.001)} | ${firstEpoch(d, (k) => d.trAllSilent[k] > 0.001)} | ` +
        `${firstEpoch(d, (k) => Math.max(d.trOut0Silent[k], d.trOut1Silent[k], d.trOut2Silent[k]) > 0.9)} |`,
    );
  }
  const md = table.join('\n') + '\n';
  writeFileSync(join(outDir, 'first-signs.md.tmp'), md);
  renameSync(join(outDir, 'first-signs.md.tmp'), join(outDir, 'first-signs.md'));
  console.log(md);
}
