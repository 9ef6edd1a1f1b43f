// Diagnosis of training collapse: train a preset with the library's trainer (src/train/trainer.ts) and
// record per epoch and layer what the metrics log does not hold: spikes per sample and silent neurons on
// the training set (at the end of the epoch) and on the validation set, the fraction of samples whose
// label neuron is silent (it then gets no error: docs/contract.md), the fraction with no output spike at all,
// each output neuron's silent fraction, the label neuron's mean first-spike step, the loss terms (CE and
// regulariser), gradient norms (per batch; mean and max over the epoch), weight norms, and the
// validation accuracy. Per seed a CSV (one row per epoch) and a JSON (settings, best and last epoch, test).
//
//   npm run build && node --no-wasm-dynamic-tiering scripts/diagnose-training.mjs \
//     [--preset exact] [--seeds 0-9] [--epochs 40] [--out results/training-collapse/runs/base] \
//     [--set '{"optimiser":{"lr":0.002}}']
//
// --set deep-merges settings over the preset (as `s2prop train --config`). One process, one seed at a time.
import { mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = (p) => import(join(root, 'dist', p));
const tf = await import('@tensorflow/tfjs-core');
const { useBackend } = await lib('engine/backend.js');
const { resolveConfig } = await lib('model/train-config.js');
const { train } = await lib('train/trainer.js');
const { evaluate } = await lib('train/evaluate.js');
const { encodeSet, releaseDeviceSet } = await lib('train/batch-runner.js');
const { loadDataset, CANONICAL_DATA } = await lib('data/sources.js');
const { initModel } = await lib('model/init.js');
const { networkFromModel } = await lib('engine/model-network.js');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const preset = arg('preset', 'exact');
const seedsArg = arg('seeds', '0-9');
const seeds = seedsArg.includes('-')
  ? (([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i))(seedsArg.split('-').map(Number))
  : seedsArg.split(',').map(Number);
const epochs = Number(arg('epochs', 40));
const outDir = resolve(root, arg('out', 'results/training-collapse/runs/base'));
const overrides = JSON.parse(arg('set', '{}'));
/** --quick: no evaluations beyond the trainer's own (validation accuracy, spikes, silent neurons). */
const quick = process.argv.includes('--quick');

const backend = await useBackend('wasm');
mkdirSync(outDir, { recursive: true });

const writeAtomic = (path, text) => {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
};

/** Per-sample loss terms from first-spike steps, as the loss kernel computes them (docs/contract.md). */
function lossTerms(first, labels, outputs, { xi, alpha: a, tau1 }) {
  let ce = 0;
  let r = 0;
  for (let b = 0; b < labels.length; b++) {
    const t = first.subarray(b * outputs, (b + 1) * outputs);
    const zMax = Math.max(...Array.from(t, (x) => -x / xi));
    let sum = 0;
    for (const x of t) sum += Math.exp(-x / xi - zMax);
    const c = labels[b];
    ce += t[c] / xi + zMax + Math.log(sum);
    r += a * (Math.exp(t[c] / tau1) - 1);
  }
  return { ce: ce / labels.length, r: r / labels.length };
}

/** Silent statistics of output first spikes: label silent, all silent, per neuron silent, label time. */
function outputStats(first, labels, outputs, T) {
  let labelSilent = 0;
  let allSilent = 0;
  let labelTime = 0;
  let labelTimed = 0;
  const neuronSilent = new Array(outputs).fill(0);
  for (let b = 0; b < labels.length; b++) {
    let silentHere = 0;
    for (let n = 0; n < outputs; n++) {
      if (first[b * outputs + n] >= T - 1) {
        neuronSilent[n]++;
        silentHere++;
      }
    }
    if (silentHere === outputs) allSilent++;
    const tc = first[b * outputs + labels[b]];
    if (tc >= T - 1) labelSilent++;
    else {
      labelTime += tc;
      labelTimed++;
    }
  }
  const N = labels.length;
  return { labelSilent: labelSilent / N, allSilent: allSilent / N, neuronSilent: neuronSilent.map((s) => s / N), labelTime: labelTimed ? labelTime / labelTimed : NaN };
}

const norm = (w) => Math.sqrt(w.flat().reduce((a, x) => a + x * x, 0));

async function runSeed(seed) {
  const config = resolveConfig(preset, [overrides, { seed, epochs }], 'diagnose-training --set');
  const sets = { train: loadDataset(CANONICAL_DATA.train), validation: loadDataset(CANONICAL_DATA.validation) };
  const enc = { steps: config.steps, tMin: config.encoding.tMin, tMax: config.encoding.tMax ?? config.steps - 1, bias: config.encoding.bias };
  const encoded = { train: encodeSet(sets.train, enc), validation: encodeSet(sets.validation, enc) };
  const template = initModel(config, encoded.train.inputs, 3);
  const work = join(tmpdir(), `s2prop-diagnose-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const ckptPath = join(work, `seed-${seed}.ckpt.json`);
  rmSync(ckptPath, { force: true });

  const layers = config.hidden.length + 1;
  let gradSum = new Array(layers).fill(0);
  let gradMax = new Array(layers).fill(0);
  let gradCount = 0;
  const rows = [];
  const t0 = performance.now();
  const result = await train({
    config,
    data: CANONICAL_DATA,
    backend,
    checkpointPath: ckptPath,
    onGradients: (_epoch, _batch, grads) => {
      grads.forEach((g, l) => {
        const n = tf.tidy(() => tf.norm(g).dataSync()[0]);
        gradSum[l] += n;
        gradMax[l] = Math.max(gradMax[l], n);
      });
      gradCount++;
    },
    afterEpoch: async (metrics) => {
      const ckpt = JSON.parse(readFileSync(ckptPath, 'utf8'));
      const weights = ckpt.weights;
      const net = networkFromModel({ ...template, layers: weights.map((w) => ({ weights: w })) });
      const row = { epoch: metrics.epoch, lr: metrics.lr, trainLoss: metrics.trainLoss, trainAccuracy: metrics.trainAccuracy, validationAccuracy: metrics.validationAccuracy };
      for (let l = 1; l <= layers; l++) {
        row[`valSpikes${l}`] = metrics[`spikesPerSample${l}`];
        row[`valSilent${l}`] = metrics[`silentNeurons${l}`];
      }
      try {
        for (const split of quick ? [] : ['train', 'validation']) {
          const set = encoded[split];
          const ev = await evaluate(net, set, config.evalBatch);
          const short = split === 'train' ? 'tr' : 'val';
          const terms = lossTerms(ev.firstSpikes, set.labels, 3, config.loss);
          const out = outputStats(ev.firstSpikes, set.labels, 3, config.steps);
          row[`${short}CE`] = terms.ce;
          row[`${short}R`] = terms.r;
          ev.spikesPerSample.forEach((s, l) => (row[`${short}Spikes${l + 1}`] = s));
          ev.silentNeurons.forEach((s, l) => (row[`${short}Silent${l + 1}`] = s));
          row[`${short}LabelSilent`] = out.labelSilent;
          row[`${short}AllSilent`] = out.allSilent;
          out.neuronSilent.forEach((s, n) => (row[`${short}Out${n}Silent`] = s));
          row[`${short}LabelTime`] = out.labelTime;
          if (split === 'train') row.trAccuracyEnd = ev.accuracy;
        }
      } finally {
        net.weights.forEach((w) => w.dispose());
      }
      for (let l = 0; l < layers; l++) {
        row[`gradNorm${l + 1}`] = gradSum[l] / gradCount;
        row[`gradMax${l + 1}`] = gradMax[l];
        row[`weightNorm${l + 1}`] = norm(weights[l]);
      }
      // Mean incoming weight of each output neuron (a neuron driven below threshold falls silent).
      const wOut = weights[layers - 1];
      for (let n = 0; n < wOut[0].length; n++) row[`wOutMean${n}`] = wOut.reduce((a, r) => a + r[n], 0) / wOut.length;
      gradSum = new Array(layers).fill(0);
      gradMax = new Array(layers).fill(0);
      gradCount = 0;
      rows.push(row);
      const cols = Object.keys(rows[0]);
      writeAtomic(join(outDir, `seed-${seed}.csv`), [cols.join(','), ...rows.map((r) => cols.map((c) => (Number.isInteger(r[c]) ? r[c] : Number(r[c]).toPrecision(6))).join(','))].join('\n') + '\n');
      process.stderr.write(`seed ${seed} epoch ${row.epoch}: val ${(100 * row.validationAccuracy).toFixed(1)} %, silent hidden ${row.valSilent1}\n`);
    },
  });
  releaseDeviceSet(encoded.train, encoded.validation);
  rmSync(ckptPath, { force: true });
  const last = rows[rows.length - 1];
  const bestVal = Math.max(...rows.map((r) => r.validationAccuracy));
  return {
    seed,
    loss: config.loss,
    init: config.init,
    optimiser: { lr: config.optimiser.lr, gamma: config.optimiser.gamma },
    bestEpoch: result.bestEpoch,
    bestValidation: bestVal,
    lastValidation: last.validationAccuracy,
    test: result.test.accuracy,
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
  };
}

for (const seed of seeds) {
  const s = await runSeed(seed);
  console.log(JSON.stringify(s));
  writeAtomic(join(outDir, `seed-${seed}.json`), JSON.stringify({ preset, epochs, overrides, backend, ...s }, null, 2) + '\n');
}
