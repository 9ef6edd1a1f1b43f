// Reproduction: train a preset with several seeds on the canonical Yin-Yang splits and write per seed
// the best-validation epoch, validation and test accuracy (results/yinyang-<preset>.csv) and the
// summary mean ± std (sample standard deviation, n - 1) in results/yinyang-<preset>-summary.json, with
// how far each seed's last epoch ended below its best validation epoch (a late collapse shows there).
// Runs two seeds at a time (one per core), each `s2prop train` in its own process.
//
//   npm run build && node scripts/reproduce.mjs [--preset twin|exact] [--seeds 10] [--jobs 2]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readColumns } from './lib/run-cli.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const preset = arg('preset', 'twin');
const seeds = Number(arg('seeds', 10));
const jobs = Number(arg('jobs', Math.min(2, cpus().length)));
const extra = (arg('extra', '') || '').split(' ').filter(Boolean);
const work = mkdtempSync(join(tmpdir(), `s2prop-${preset}-`));

function trainSeed(seed) {
  const out = join(work, `seed-${seed}.json`);
  const args = ['--no-wasm-dynamic-tiering', join(root, 'dist/cli/main.js'), 'train', '--preset', preset, '--seed', String(seed), '--backend', 'wasm', '--quiet', '--out', out, '--log', join(work, `seed-${seed}.csv`), ...extra];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`seed ${seed}: s2prop train exited with ${code}`));
      const model = JSON.parse(readFileSync(out, 'utf8'));
      const m = model.metrics;
      const perEpoch = readColumns(join(work, `seed-${seed}.csv`)).validationAccuracy;
      const lastValidationAccuracy = perEpoch[perEpoch.length - 1];
      const dropFromBestValidation = +(Math.max(...perEpoch) - lastValidationAccuracy).toFixed(6);
      const row = { seed, bestEpoch: m.bestEpoch, validationAccuracy: m.validationAccuracy, testAccuracy: m.testAccuracy, lastValidationAccuracy, dropFromBestValidation, seconds: +((performance.now() - t0) / 1000).toFixed(1) };
      console.log(JSON.stringify(row));
      resolve(row);
    });
  });
}

const queue = Array.from({ length: seeds }, (_, s) => s);
const rows = [];
await Promise.all(
  Array.from({ length: jobs }, async () => {
    while (queue.length) rows.push(await trainSeed(queue.shift()));
  }),
);
rows.sort((a, b) => a.seed - b.seed);

const stats = (xs) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std, min: Math.min(...xs), max: Math.max(...xs) };
};
const summary = {
  preset,
  seeds,
  extraFlags: extra,
  data: 'canonical Yin-Yang splits (train 5000 / validation 1000 / test 1000); model selection on validation',
  validationAccuracy: stats(rows.map((r) => r.validationAccuracy)),
  testAccuracy: stats(rows.map((r) => r.testAccuracy)),
  maxDropFromBestValidation: Math.max(...rows.map((r) => r.dropFromBestValidation)),
  secondsPerSeed: stats(rows.map((r) => r.seconds)),
  date: new Date().toISOString().slice(0, 10),
};
mkdirSync(join(root, 'results'), { recursive: true });
const csv =
  ['seed,bestEpoch,validationAccuracy,testAccuracy,lastValidationAccuracy,dropFromBestValidation', ...rows.map((r) => `${r.seed},${r.bestEpoch},${r.validationAccuracy},${r.testAccuracy},${r.lastValidationAccuracy},${r.dropFromBestValidation}`)].join(
    '\n',
  ) + '\n';
writeFileSync(join(root, `results/yinyang-${preset}.csv`), csv);
writeFileSync(join(root, `results/yinyang-${preset}-summary.json`), JSON.stringify(summary, null, 2) + '\n');
const pct = (s) => `${(100 * s.mean).toFixed(2)} ± ${(100 * s.std).toFixed(2)} %`;
console.log(
  `${preset}: test ${pct(summary.testAccuracy)}, validation ${pct(summary.validationAccuracy)} over ${seeds} seeds; the largest fall from a seed's best validation epoch to its last: ${(100 * summary.maxDropFromBestValidation).toFixed(1)} points`,
);
