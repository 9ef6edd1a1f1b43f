// Quantised accuracy of the twin model on the chip simulator: per seed, train the float twin (or load it),
// export it as int8 directly (round-to-nearest and calibrated rounding), fine-tune it for int4
// (quantisation-aware with calibrated rounding: calibrated start, epochs selected as calibrated) and
// export that (calibrated rounding), and for comparison
// the int4 recipe used before calibrated rounding existed (round-to-nearest start, clip percentile 98,
// Adam 0.003, 60 epochs, round-to-nearest export). Every export is validated on the canonical test split:
// the simulator must reproduce the tensor engine's spikes, and its accuracy is what the table reports.
// Calibration and fine-tuning use the training split only; selection uses the validation split.
// Writes results/quant-accuracy.json and results/quant-accuracy.md.
//
//   npm run build && node scripts/quant-accuracy.mjs [--seeds 0,1,2,3,4] [--work DIR] [--no-baseline]
// The work folder (default: s2prop-quant-accuracy in the temp folder) keeps the models; a rerun reuses them.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const seeds = arg('seeds', '0,1,2,3,4').split(',').map(Number);
const work = arg('work', join(tmpdir(), 's2prop-quant-accuracy'));
const baseline = !process.argv.includes('--no-baseline');
mkdirSync(work, { recursive: true });

const { startBackend } = await import(join(root, 'dist/cli/common.js'));
const { validateExport } = await import(join(root, 'dist/validation/export-validation.js'));
const { loadModel } = await import(join(root, 'dist/model/model-file.js'));
await startBackend('wasm');

/** Run the built CLI; resolves with its stdout and the seconds it took. */
function s2prop(args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--no-wasm-dynamic-tiering', join(root, 'dist/cli/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`s2prop ${args.join(' ')} exited with ${code}:\n${err}`));
      resolve({ out, seconds: +((performance.now() - t0) / 1000).toFixed(1) });
    });
  });
}

/** Train unless the model file exists (a rerun reuses it). */
async function trained(out, args) {
  if (!existsSync(out)) await s2prop(['train', ...args, '--backend', 'wasm', '--quiet', '--out', out]);
  return loadModel(out);
}

/** Export, then validate on the test split: simulator and engine accuracy, spike agreement, what the export chose. */
async function exported(modelPath, dir, args) {
  const { seconds } = await s2prop(['export', '--model', modelPath, ...args, '--out', dir]);
  const v = await validateExport(loadModel(modelPath), modelPath, dir, 'yinyang:test');
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
  const cal = report.calibration;
  return {
    chipAccuracy: v.chipAccuracy,
    engineAccuracy: v.engineAccuracy,
    spikeTrainAgreement: v.agreement,
    rounding: report.rounding,
    exponents: report.quantisation.map((l) => l.exp),
    clipped: report.quantisation.map((l) => l.clipped),
    ...(cal ? { calibration: { trainErrorsNearest: cal.errorsNearest, trainErrors: cal.errors, samples: cal.samples, changed: cal.changed } } : {}),
    exportSeconds: seconds,
  };
}

const rows = [];
for (const seed of seeds) {
  const floatPath = join(work, `seed-${seed}.json`);
  const float = await trained(floatPath, ['--preset', 'twin', '--seed', String(seed)]);
  const row = { seed, float: { validationAccuracy: float.metrics.validationAccuracy, testAccuracy: float.metrics.testAccuracy, bestEpoch: float.metrics.bestEpoch } };
  row.int8Nearest = await exported(floatPath, join(work, `seed-${seed}-int8-nearest`), ['--quant', 'int8', '--rounding', 'nearest']);
  row.int8 = await exported(floatPath, join(work, `seed-${seed}-int8`), ['--quant', 'int8']);

  const q4Path = join(work, `seed-${seed}-int4.json`);
  const q4 = await trained(q4Path, ['--init', floatPath, '--quant', 'int4', '--optimiser.lr', '0.0005', '--epochs', '10']);
  row.int4 = {
    fineTuning: { bestEpoch: q4.metrics.bestEpoch, validationAccuracy: q4.metrics.validationAccuracy, testAccuracy: q4.metrics.testAccuracy, exponents: q4.quantisation.exponents },
    ...(await exported(q4Path, join(work, `seed-${seed}-int4`), [])),
  };
  if (baseline) {
    const b4Path = join(work, `seed-${seed}-int4-before.json`);
    const b4 = await trained(b4Path, ['--init', floatPath, '--quant', 'int4', '--quant-rounding', 'nearest', '--clip-percentile', '98', '--optimiser.lr', '0.003', '--epochs', '60']);
    row.int4Before = {
      fineTuning: { bestEpoch: b4.metrics.bestEpoch, validationAccuracy: b4.metrics.validationAccuracy, testAccuracy: b4.metrics.testAccuracy },
      ...(await exported(b4Path, join(work, `seed-${seed}-int4-before`), ['--rounding', 'nearest'])),
    };
  }
  console.log(JSON.stringify(row));
  rows.push(row);
}

const variants = ['int8Nearest', 'int8', 'int4', ...(baseline ? ['int4Before'] : [])];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs) => (xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)) : 0);
const summary = Object.fromEntries(
  ['float', ...variants].map((v) => {
    const acc = rows.map((r) => (v === 'float' ? r.float.testAccuracy : r[v].chipAccuracy));
    const loss = rows.map((r, i) => 100 * (r.float.testAccuracy - acc[i]));
    return [v, { meanAccuracy: mean(acc), stdAccuracy: std(acc), meanLossPoints: mean(loss), maxLossPoints: Math.max(...loss), identicalSpikeTrains: v === 'float' ? null : rows.every((r) => r[v].spikeTrainAgreement === 1) }];
  }),
);
const result = {
  generated: new Date().toISOString(),
  command: `node scripts/quant-accuracy.mjs --seeds ${seeds.join(',')}${baseline ? '' : ' --no-baseline'}`,
  data: 'canonical Yin-Yang splits; calibration and fine-tuning on train (5000), selection on validation (1000), accuracy on test (1000)',
  variants: {
    float: 's2prop train --preset twin --seed S (tensor engine)',
    int8Nearest: 'export --quant int8 --rounding nearest (clip percentile 100), chip simulator',
    int8: 'export --quant int8 (calibrated rounding, the default), chip simulator',
    int4: 'train --init FLOAT --quant int4 --optimiser.lr 0.0005 --epochs 10 (calibrated rounding: calibrated start, epochs selected as calibrated), then export (calibrated rounding), chip simulator',
    int4Before: 'train --init FLOAT --quant int4 --quant-rounding nearest --clip-percentile 98 --optimiser.lr 0.003 --epochs 60, then export --rounding nearest, chip simulator',
  },
  lossPoints: 'float test accuracy minus the variant\'s simulator test accuracy, in percentage points (negative: the quantised network is better)',
  seeds: rows,
  summary,
};
writeFileSync(join(root, 'results', 'quant-accuracy.json'), JSON.stringify(result, null, 2) + '\n');

const pct = (x) => (100 * x).toFixed(1);
const pts = (x) => (x >= 0 ? '' : '−') + Math.abs(x).toFixed(1);
const header = ['seed', 'float', 'int8 nearest', 'int8 calibrated', 'int4 QAT + calibrated', ...(baseline ? ['int4 before (QAT P98, nearest)'] : [])];
const lines = [
  `| ${header.join(' | ')} |`,
  `|${header.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${r.seed} | ${pct(r.float.testAccuracy)} | ${variants.map((v) => `${pct(r[v].chipAccuracy)} (${pts(100 * (r.float.testAccuracy - r[v].chipAccuracy))})`).join(' | ')} |`),
  `| mean | ${pct(summary.float.meanAccuracy)} | ${variants.map((v) => `${pct(summary[v].meanAccuracy)} (${pts(summary[v].meanLossPoints)})`).join(' | ')} |`,
];
const md = [
  '# Quantised twin models on the chip simulator',
  '',
  `\`${result.command}\` (${result.generated.slice(0, 10)}). Test accuracy in %, simulator (float: tensor engine); in brackets the loss against float in points (− = better than float).`,
  `Every export's spike trains equal the tensor engine's on all 1000 test samples: ${variants.every((v) => summary[v].identicalSpikeTrains) ? 'yes' : 'NO'}.`,
  '',
  ...lines,
  '',
].join('\n');
writeFileSync(join(root, 'results', 'quant-accuracy.md'), md);
console.log(md);
