// Train one configuration with N seeds at once (stacked trials: one tensor program, each seed exactly
// what `s2prop train --seed S` gives on the same backend) and report each seed's best epoch, its
// validation and test accuracy, how far its last epoch fell below its best, and the mean and sd.
// Made for GPUs (--backend webgpu: the seeds share every kernel launch), runs anywhere.
//
//   npm run build && node scripts/train-seeds.mjs [--preset exact] [--seeds 10] [--first-seed 0]
//       [--config settings.json] [--set optimiser.lr=0.003 --set loss.xi=1 ...] [--epochs N]
//       [--backend auto|wasm|webgpu] [--out FILE.json]
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const sets = args.flatMap((a, i) => (a === '--set' ? [args[i + 1]] : []));

const { resolveConfig } = await import(join(root, 'dist/model/train-config.js'));
const { trainStack } = await import(join(root, 'dist/train/trainer.js'));
const { useBackend, backendNote, parseBackend } = await import(join(root, 'dist/engine/backend.js'));
const { CANONICAL_DATA } = await import(join(root, 'dist/data/sources.js'));

/** `a.b=1.5` as {a: {b: 1.5}} (numbers, booleans and JSON arrays parsed). */
function setting(text) {
  const eq = text.indexOf('=');
  if (eq < 1) throw new Error(`--set ${text}: expected key=value`);
  let value = text.slice(eq + 1);
  try {
    value = JSON.parse(value);
  } catch {}
  return text
    .slice(0, eq)
    .split('.')
    .reduceRight((inner, key) => ({ [key]: inner }), value);
}

const preset = option('--preset', 'exact');
const seeds = Number(option('--seeds', '10'));
const firstSeed = Number(option('--first-seed', '0'));
const overrides = [];
if (option('--config')) overrides.push(JSON.parse(readFileSync(option('--config'), 'utf8')));
overrides.push(...sets.map(setting));
if (option('--epochs')) overrides.push({ epochs: Number(option('--epochs')) });

const backend = await useBackend(parseBackend(option('--backend', 'auto')));
if (backendNote()) console.error(backendNote());
const configs = Array.from({ length: seeds }, (_, k) => resolveConfig(preset, [...overrides, { seed: firstSeed + k }], 'train-seeds settings'));
console.error(`${preset}: ${seeds} seeds from ${firstSeed}, ${configs[0].hidden.join('-')} hidden, ${configs[0].epochs} epochs, backend ${backend}`);

const t0 = performance.now();
const results = await trainStack({ runs: configs.map((config) => ({ config })), data: CANONICAL_DATA, backend });
const seconds = (performance.now() - t0) / 1000;

const rows = results.map((r, k) => {
  const h = r.history;
  const bestValidation = Math.max(...h.map((m) => m.validationAccuracy));
  const last = h[h.length - 1];
  return {
    seed: firstSeed + k,
    bestEpoch: r.bestEpoch,
    validation: r.validation.accuracy,
    test: r.test.accuracy,
    lastEpochValidation: last.validationAccuracy,
    dropFromBestValidation: bestValidation - last.validationAccuracy,
    validationPerEpoch: h.map((m) => m.validationAccuracy),
  };
});
const stats = (xs) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs) };
};
const report = {
  what: 'N seeds of one configuration trained as stacked trials; test accuracy of each seed at its best validation epoch',
  date: new Date().toISOString(),
  backend,
  note: backendNote() ?? null,
  preset,
  overrides,
  seconds: +seconds.toFixed(1),
  test: stats(rows.map((r) => r.test)),
  maxDropFromBestValidation: Math.max(...rows.map((r) => r.dropFromBestValidation)),
  seeds: rows,
};
for (const r of rows) console.log(`seed ${r.seed}: best epoch ${r.bestEpoch}, validation ${(100 * r.validation).toFixed(2)} %, test ${(100 * r.test).toFixed(2)} %, last epoch ${(100 * r.lastEpochValidation).toFixed(2)} % validation`);
console.log(`test ${(100 * report.test.mean).toFixed(2)} ± ${(100 * report.test.sd).toFixed(2)} % over ${seeds} seeds (min ${(100 * report.test.min).toFixed(2)}), ${report.seconds} s`);
const out = option('--out');
if (out) {
  mkdirSync(dirname(resolve(out)), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 1) + '\n');
  console.log(`wrote ${out}`);
}
