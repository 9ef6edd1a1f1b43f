// Calibrated rounding (src/quant/calibrated-rounding.ts): its time and the accuracy it keeps, for the twin
// model (test/fixtures/twin-seed0-before-subnormal-rule.json: 5-120-3, T = 27) and the swept 0.25 ms model (5-200-3, T = 168: the
// configuration results/sweep/twin-5/stage-c/best-config.json trained with seed 0), at int8 and int4.
// Per model and quantisation: float32, round-to-nearest and calibrated rounding (the default, on the
// training split), each with its tensor-engine accuracy on the canonical test split; calibrated
// rounding's seconds (wall and CPU), its work counts and its report; and the end-to-end `s2prop export`
// (calibrated rounding, the default) in seconds. For the swept model also calibrated rounding on more
// patterns than the default bound (--patterns, 'all' for every one): what the bound costs in accuracy.
// Writes results/bench-calibrated-rounding.json.
//
//   npm run build && node scripts/bench-calibrated-rounding.mjs [--work DIR] [--patterns 500,all] [--no-export]
// The work folder (default: s2prop-bench-calibrated-rounding in the temp folder) keeps the swept model;
// a rerun reuses it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const work = arg('work', join(tmpdir(), 's2prop-bench-calibrated-rounding'));
const extraPatterns = arg('patterns', 'all')
  .split(',')
  .filter(Boolean)
  .map((p) => (p === 'all' ? Infinity : Number(p)));
const runExport = !process.argv.includes('--no-export');
mkdirSync(work, { recursive: true });

const { startBackend } = await import(join(root, 'dist/cli/common.js'));
const { loadModel } = await import(join(root, 'dist/model/model-file.js'));
const { loadDataset } = await import(join(root, 'dist/data/sources.js'));
const { encodeDataset } = await import(join(root, 'dist/data/encoding.js'));
const { neuronConstants } = await import(join(root, 'dist/model/neuron.js'));
const { evaluateModel } = await import(join(root, 'dist/train/evaluate.js'));
const { calibrateRounding, defaultSearchPatterns } = await import(join(root, 'dist/quant/calibrated-rounding.js'));
const { dequantise, quantiseWeights } = await import(join(root, 'dist/quant/quantise.js'));
await startBackend('wasm');

/** Run the built CLI; resolves with the seconds it took. */
function s2prop(args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`s2prop ${args.join(' ')} exited with ${code}:\n${err}`));
      resolve(+((performance.now() - t0) / 1000).toFixed(1));
    });
  });
}

/** Test accuracy (tensor engine, canonical test split) of the model running these weights. */
async function testAccuracy(model, weights) {
  const { quantisation: _q, ...rest } = model;
  const e = await evaluateModel({ ...rest, layers: weights.map((w) => ({ weights: w })) }, 'yinyang:test', 250);
  return e.accuracy;
}

const train = loadDataset('yinyang:train');

/** Calibrated rounding of `model` at q on the training split: seconds, work counts, report, test accuracy. */
async function calibrated(model, q, options = {}) {
  const encoded = encodeDataset(train, { steps: model.steps, ...model.encoding });
  const stats = { moves: 0, pairs: 0, skipped: 0, steps: 0, changed: 0 };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { layers, report } = calibrateRounding(
    model.layers.map((l) => l.weights),
    q,
    100,
    { encoded, labels: train.labels },
    model.steps,
    neuronConstants(model.neuron),
    { ...options, stats },
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    seconds: +seconds.toFixed(2),
    cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
    work: stats,
    report,
    testAccuracy: await testAccuracy(model, layers.map(dequantise)),
  };
}

async function bench(name, path) {
  const model = loadModel(path);
  const synapses = model.layers.reduce((n, l) => n + l.weights.length * l.weights[0].length, 0);
  const entry = {
    model: name,
    path,
    sizes: [model.layers[0].weights.length, ...model.layers.map((l) => l.weights[0].length)],
    steps: model.steps,
    defaultSearchPatterns: defaultSearchPatterns(model.steps, synapses),
    float32: { testAccuracy: await testAccuracy(model, model.layers.map((l) => l.weights)) },
  };
  for (const q of ['int8', 'int4']) {
    const nearest = quantiseWeights(model.layers.map((l) => l.weights), q, 100).map(dequantise);
    const row = { nearest: { testAccuracy: await testAccuracy(model, nearest) }, calibrated: await calibrated(model, q) };
    console.error(`${name} ${q}: calibrated in ${row.calibrated.seconds} s, test ${row.calibrated.testAccuracy} (nearest ${row.nearest.testAccuracy})`);
    if (name === 'swept') {
      row.morePatterns = [];
      for (const maxPatterns of extraPatterns) {
        const more = await calibrated(model, q, { maxPatterns });
        row.morePatterns.push({ maxPatterns: Number.isFinite(maxPatterns) ? maxPatterns : 'all', ...more });
        console.error(`${name} ${q} on ${more.report.patternsSearched} patterns: ${more.seconds} s, test ${more.testAccuracy}`);
      }
    }
    if (runExport) row.exportSeconds = await s2prop(['export', '--model', path, '--quant', q, '--out', join(work, `${name}-${q}`)]);
    entry[q] = row;
  }
  return entry;
}

const sweptPath = join(work, 'swept-seed-0.json');
if (!existsSync(sweptPath)) await s2prop(['train', '--config', join(root, 'results/sweep/twin-5/stage-c/best-config.json'), '--seed', '0', '--backend', 'wasm', '--quiet', '--out', sweptPath]);

const started = new Date().toISOString();
const load = loadavg()[0];
const models = [await bench('twin', join(root, 'test/fixtures/twin-seed0-before-subnormal-rule.json')), await bench('swept', sweptPath)];
const result = {
  generated: started,
  command: `node scripts/bench-calibrated-rounding.mjs --patterns ${extraPatterns.map((p) => (Number.isFinite(p) ? p : 'all')).join(',')}${runExport ? '' : ' --no-export'}`,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadAverageAtStart: +load.toFixed(2), node: process.version },
  data: 'calibration on the canonical Yin-Yang training split (5000 samples); accuracy of the tensor engine on the canonical test split (1000 samples), weights as quantised (the chip simulator runs them spike for spike)',
  options: 'calibrated rounding with its defaults (clip percentile 100, 2 finer exponents, radius 2, 3 rounds, at most 30 sweeps, at most defaultSearchPatterns patterns)',
  swept: 's2prop train --config results/sweep/twin-5/stage-c/best-config.json --seed 0',
  fields: {
    seconds: 'wall seconds of calibrateRounding in this process; cpuSeconds: its CPU time (the machine is shared: wall can exceed CPU)',
    work: 'moves tried; (move, pattern) pairs in which the move\'s input spiked; pairs skipped by the bound; neuron steps run by trials; patterns whose spikes a trial changed',
    exportSeconds: 'wall seconds of s2prop export --quant Q (calibrated rounding, the default), start to end',
    morePatterns: 'swept model only: calibrated rounding with maxPatterns raised (all: every distinct pattern of the training split)',
  },
  models,
};
writeFileSync(join(root, 'results', 'bench-calibrated-rounding.json'), JSON.stringify(result, null, 2) + '\n');
console.error('results/bench-calibrated-rounding.json written');
