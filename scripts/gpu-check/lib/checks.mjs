// Engine agreement checks between two backends (by default wasm, the reference, and webgpu, the
// candidate). Every check is an async function returning { name, pass, ...numbers }; it switches the
// process's tfjs backend with useBackend (both backends registered in one process, the data moved as
// host arrays) and reads every result with `await tensor.data()` (dataSync throws on webgpu in Node).
// Used by scripts/gpu-check/agree.mjs (one child process per check); importable from vitest too.
//
// The checks need the built engine (dist/): `npm run build` first.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dist = (p) => import(join(root, 'dist', p));

const tf = await import('@tensorflow/tfjs-core');
const { useBackend } = await dist('engine/backend.js');
const { presetConfig } = await dist('model/train-config.js');
const { initModel } = await dist('model/init.js');
const { neuronConstants } = await dist('model/neuron.js');
const { forward, ttfsLoss, stackedTtfsLoss, backward, disposeTrace } = await dist('engine/network.js');
const { Optimiser } = await dist('train/optimiser.js');
const { encodeSet, predict } = await dist('train/batch-runner.js');
const { batchRaster } = await dist('data/encoding.js');
const { epochOrder } = await dist('data/epoch-order.js');
const { yinyangDataset } = await dist('data/yinyang.js');
const { CANONICAL_DATA } = await dist('data/sources.js');
const { train } = await dist('train/trainer.js');

/** Relative gradient tolerance: max |g_c - g_r| / max |g_r| per layer. */
export const GRAD_TOLERANCE = 1e-5;
/** Test accuracy after the short training run: within this many percentage points. */
export const ACCURACY_POINTS = 0.5;

/**
 * The networks the checks run: the twin preset, the exact preset, and a 3-layer network 5-120-60-3 at
 * the twin settings. Every layer spikes at initialisation (seed 0, test split, spikes per sample:
 * twin 70 / 12, exact 91 / 21, deep3 70 / 155 / 21), so `scales` (a factor per layer on the initial
 * weights) is 1 throughout; it is there for networks that need it.
 */
export const NETWORKS = ['twin', 'exact', 'deep3'];

/** Settings of a named network (a TrainConfig) and the factor applied to each layer's initial weights. */
export function networkConfig(name) {
  if (name === 'twin' || name === 'exact') return { config: presetConfig(name), scales: null };
  if (name === 'deep3') {
    const config = { ...presetConfig('twin'), hidden: [120, 60] };
    return { config, scales: [1, 1, 1] };
  }
  throw new Error(`unknown network '${name}' (expected ${NETWORKS.join(', ')})`);
}

function encodingOf(config) {
  return { steps: config.steps, tMin: config.encoding.tMin, tMax: config.encoding.tMax ?? config.steps - 1, bias: config.encoding.bias };
}

/** Initial weights per layer as flat Float32Arrays [Nin * N] with their shapes (seeded, scaled). */
export function initialWeights(name, seed = 0) {
  const { config, scales } = networkConfig(name);
  const model = initModel({ ...config, seed }, 5, 3);
  return model.layers.map((l, i) => {
    const flat = Float32Array.from(l.weights.flat(), (w) => Math.fround(w * (scales?.[i] ?? 1)));
    return { data: flat, shape: [l.weights.length, l.weights[0].length] };
  });
}

/** Switch the process to `backend` (registering it on first use). */
export async function switchTo(backend) {
  const name = await useBackend(backend);
  if (name !== backend) throw new Error(`asked for backend ${backend}, got ${name}`);
  return name;
}

/**
 * Where a tensor's data lives: 'gpu' when the webgpu backend holds it in a GPU buffer, else 'host'
 * (cpu, wasm, or webgpu data that no GPU kernel has touched: the engine's download/compute/upload
 * fallback leaves its outputs on the host, so a check that passes with 'host' has not run a kernel).
 */
export function residency(t) {
  const backend = tf.engine().backend;
  if (tf.getBackend() !== 'webgpu') return 'host';
  const entry = backend.tensorMap?.get(t.dataId);
  return entry?.resource ? 'gpu' : 'host';
}

function engineNet(config, weights) {
  const { xi, alpha, tau1 } = config.loss;
  return {
    weights: weights.map((w) => tf.tensor2d(w.data, w.shape, 'float32')),
    constants: neuronConstants(config.neuron),
    loss: { xi, alpha, tau1 },
  };
}

/** Forward the whole split in batches on the current backend; returns each layer's spikes [count, T, N]. */
async function forwardSplit(config, weights, set, batch) {
  const net = engineNet(config, weights);
  const sizes = weights.map((w) => w.shape[1]);
  const T = set.steps;
  const out = sizes.map((n) => new Uint8Array(set.count * T * n));
  out.residency = null;
  try {
    for (let start = 0; start < set.count; start += batch) {
      const order = Int32Array.from({ length: Math.min(batch, set.count - start) }, (_, i) => start + i);
      const input = tf.tensor3d(batchRaster(set.encoded, set.inputs, T, order), [order.length, T, set.inputs], 'bool');
      const trace = forward(net, input);
      out.residency ??= residency(trace.spikes[trace.spikes.length - 1]);
      for (let l = 0; l < sizes.length; l++) out[l].set(await trace.spikes[l + 1].data(), start * T * sizes[l]);
      disposeTrace(trace);
      input.dispose();
    }
  } finally {
    tf.dispose(net.weights);
  }
  return out;
}

/** First spike step per sample and neuron (T when silent), from a [count, T, N] raster. */
function firstSpikes(spikes, count, T, N) {
  const first = new Int32Array(count * N).fill(T);
  for (let b = 0; b < count; b++) {
    for (let t = T - 1; t >= 0; t--) {
      const row = (b * T + t) * N;
      for (let n = 0; n < N; n++) if (spikes[row + n]) first[b * N + n] = t;
    }
  }
  return first;
}

/**
 * Forward spikes on the canonical Yin-Yang test split (1000 samples): the candidate's spikes must equal
 * the reference's in every layer of every sample. Reports samples with any differing spike, differing
 * spikes, the largest first-spike difference (steps; a silent neuron counts as step T), spikes per
 * sample and both test accuracies of the (untrained) network.
 */
export async function checkForward(network, { reference = 'wasm', candidate = 'webgpu', seed = 0 } = {}) {
  const { config } = networkConfig(network);
  const set = encodeSet(yinyangDataset('test'), encodingOf(config));
  const weights = initialWeights(network, seed);
  const sizes = weights.map((w) => w.shape[1]);
  const T = set.steps;
  const times = {};
  let t0 = performance.now();
  await switchTo(reference);
  const ref = await forwardSplit(config, weights, set, config.evalBatch);
  times[reference] = +((performance.now() - t0) / 1000).toFixed(2);
  t0 = performance.now();
  await switchTo(candidate);
  const cand = await forwardSplit(config, weights, set, config.evalBatch);
  times[candidate] = +((performance.now() - t0) / 1000).toFixed(2);
  const layers = [];
  const differing = new Uint8Array(set.count);
  let maxFirstSpikeDiff = 0;
  let accuracies = null;
  for (let l = 0; l < sizes.length; l++) {
    const N = sizes[l];
    const per = T * N;
    let spikesDiffering = 0;
    let samplesDiffering = 0;
    let refSpikes = 0;
    let candSpikes = 0;
    for (let b = 0; b < set.count; b++) {
      let any = false;
      for (let i = b * per; i < (b + 1) * per; i++) {
        refSpikes += ref[l][i];
        candSpikes += cand[l][i];
        if (ref[l][i] !== cand[l][i]) {
          spikesDiffering++;
          any = true;
        }
      }
      if (any) {
        samplesDiffering++;
        differing[b] = 1;
      }
    }
    const fr = firstSpikes(ref[l], set.count, T, N);
    const fc = firstSpikes(cand[l], set.count, T, N);
    let maxDiff = 0;
    for (let i = 0; i < fr.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fr[i] - fc[i]));
    maxFirstSpikeDiff = Math.max(maxFirstSpikeDiff, maxDiff);
    layers.push({
      layer: l + 1,
      neurons: N,
      samplesDiffering,
      spikesDiffering,
      maxFirstSpikeDiff: maxDiff,
      spikesPerSample: { [reference]: refSpikes / set.count, [candidate]: candSpikes / set.count },
    });
    if (l === sizes.length - 1) {
      const acc = (first) => {
        const p = predict(first, N);
        let correct = 0;
        for (let b = 0; b < set.count; b++) if (p[b] === set.labels[b]) correct++;
        return correct / set.count;
      };
      accuracies = { [reference]: acc(fr), [candidate]: acc(fc) };
    }
  }
  const samplesDiffering = differing.reduce((a, b) => a + b, 0);
  return {
    name: `forward-${network}`,
    pass: samplesDiffering === 0,
    criterion: 'every spike of every layer equal on all test samples',
    network: [5, ...sizes].join('-'),
    steps: T,
    samples: set.count,
    samplesDiffering,
    samplesEqualPercent: +(100 * (1 - samplesDiffering / set.count)).toFixed(3),
    maxFirstSpikeDiff,
    layers,
    untrainedTestAccuracy: accuracies,
    outputResidency: { [reference]: ref.residency, [candidate]: cand.residency },
    seconds: times,
  };
}

/** One batch's forward, loss and backward on the current backend; host copies of what it gives. */
async function batchGradients(config, weights, set, order) {
  const net = engineNet(config, weights);
  const input = tf.tensor3d(batchRaster(set.encoded, set.inputs, set.steps, order), [order.length, set.steps, set.inputs], 'bool');
  const labels = tf.tensor1d(Int32Array.from(order, (s) => set.labels[s]), 'int32');
  try {
    const trace = forward(net, input);
    const loss = ttfsLoss(net, trace.spikes[trace.spikes.length - 1], labels);
    const grads = backward(net, trace, loss.errors);
    const out = {
      residency: { spikes: residency(trace.spikes[trace.spikes.length - 1]), loss: residency(loss.errors), grads: residency(grads[0]) },
      grads: await Promise.all(grads.map((g) => g.data())),
      terms: await loss.terms.data(),
      firstSpikes: await loss.firstSpikes.data(),
      spikes: await Promise.all(trace.spikes.slice(1).map((s) => s.data())),
    };
    disposeTrace(trace);
    tf.dispose([loss.firstSpikes, loss.terms, loss.errors, ...grads]);
    return out;
  } finally {
    tf.dispose([...net.weights, input, labels]);
  }
}

function maxAbs(a) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
function countDiffering(a, b) {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/**
 * Gradients of one training batch (the first batch of epoch 0 of the canonical train split, the
 * preset's batch size): per layer max |g_c - g_r| / max |g_r| within GRAD_TOLERANCE; also the loss
 * terms and the forward spikes of that batch.
 */
export async function checkGradients(network, { reference = 'wasm', candidate = 'webgpu', seed = 0, tolerance = GRAD_TOLERANCE } = {}) {
  const { config } = networkConfig(network);
  const set = encodeSet(yinyangDataset('train'), encodingOf(config));
  const weights = initialWeights(network, seed);
  const order = epochOrder(set.count, seed, 0).subarray(0, config.batch);
  await switchTo(reference);
  const ref = await batchGradients(config, weights, set, order);
  await switchTo(candidate);
  const cand = await batchGradients(config, weights, set, order);
  const layers = ref.grads.map((g, l) => {
    const scale = maxAbs(g);
    const diff = maxAbsDiff(g, cand.grads[l]);
    return { layer: l + 1, maxAbsGradient: scale, maxAbsDiff: diff, relative: scale > 0 ? diff / scale : diff, exactlyEqual: diff === 0 };
  });
  const spikesDiffering = ref.spikes.map((s, l) => countDiffering(s, cand.spikes[l]));
  const termsMaxDiff = maxAbsDiff(ref.terms, cand.terms);
  const nonFinite = cand.grads.some((g) => g.some((x) => !Number.isFinite(x)));
  return {
    name: `gradients-${network}`,
    pass: !nonFinite && layers.every((l) => l.relative <= tolerance),
    criterion: `max |g_${candidate} - g_${reference}| / max |g_${reference}| <= ${tolerance} per layer`,
    network: [5, ...weights.map((w) => w.shape[1])].join('-'),
    batch: order.length,
    layers,
    candidateNonFinite: nonFinite,
    forwardSpikesDiffering: spikesDiffering,
    firstSpikesDiffering: countDiffering(ref.firstSpikes, cand.firstSpikes),
    lossTermsMaxAbsDiff: termsMaxDiff,
    residency: { [reference]: ref.residency, [candidate]: cand.residency },
  };
}

/**
 * Stacked trials against the same trials alone, on one backend (the candidate): K twin networks (seeds
 * 0..K-1, each its own batch) as one stacked forward / loss / backward / Optimiser update, and
 * each alone (2-D weights, ttfsLoss, backward; a one-trial Optimiser). Everything must be equal
 * bit for bit: spikes, first spikes, loss terms, gradients and the updated weights.
 */
export async function checkStacked({ backend = 'webgpu', K = 4, network = 'twin' } = {}) {
  const { config } = networkConfig(network);
  const set = encodeSet(yinyangDataset('train'), encodingOf(config));
  const B = config.batch;
  const trials = Array.from({ length: K }, (_, k) => ({ weights: initialWeights(network, k), order: epochOrder(set.count, k, 0).subarray(0, B) }));
  const shapes = trials[0].weights.map((w) => w.shape);
  const { xi, alpha, tau1 } = config.loss;
  const loss = { xi, alpha, tau1 };
  const constants = neuronConstants(config.neuron);
  const opt = () => ({ ...config.optimiser });
  await switchTo(backend);

  // Stacked.
  const raster = new Uint8Array(K * B * set.steps * set.inputs);
  const labels = new Int32Array(K * B);
  trials.forEach((t, k) => {
    raster.set(batchRaster(set.encoded, set.inputs, set.steps, t.order), k * B * set.steps * set.inputs);
    labels.set(Int32Array.from(t.order, (s) => set.labels[s]), k * B);
  });
  const stackedNet = {
    weights: shapes.map(([nIn, n], l) => {
      const flat = new Float32Array(K * nIn * n);
      trials.forEach((t, k) => flat.set(t.weights[l].data, k * nIn * n));
      return tf.tensor3d(flat, [K, nIn, n], 'float32');
    }),
    constants,
    losses: trials.map(() => loss),
  };
  const input = tf.tensor3d(raster, [K * B, set.steps, set.inputs], 'bool');
  const labelT = tf.tensor1d(labels, 'int32');
  const trace = forward(stackedNet, input);
  const sl = stackedTtfsLoss(stackedNet, trace.spikes[trace.spikes.length - 1], labelT);
  const sg = backward(stackedNet, trace, sl.errors);
  const stacked = {
    residency: { spikes: residency(trace.spikes[trace.spikes.length - 1]), grads: residency(sg[0]) },
    spikes: await Promise.all(trace.spikes.slice(1).map((s) => s.data())),
    firstSpikes: await sl.firstSpikes.data(),
    terms: await sl.terms.data(),
    grads: await Promise.all(sg.map((g) => g.data())),
  };
  const sopt = new Optimiser(config.optimiser.type, shapes, trials.map(opt));
  sopt.apply(stackedNet.weights, sg, trials.map(() => config.optimiser.lr));
  stacked.residency.updated = residency(stackedNet.weights[0]);
  stacked.updated = await Promise.all(stackedNet.weights.map((w) => w.data()));
  disposeTrace(trace);
  sopt.dispose();
  tf.dispose([input, labelT, sl.firstSpikes, sl.terms, sl.errors, ...sg, ...stackedNet.weights]);

  // Alone, compared slice by slice.
  const diffs = { spikes: 0, firstSpikes: 0, terms: 0, gradsMaxAbsDiff: 0, updatedMaxAbsDiff: 0 };
  for (let k = 0; k < K; k++) {
    const t = trials[k];
    const net = { weights: t.weights.map((w) => tf.tensor2d(w.data, w.shape, 'float32')), constants, loss };
    const inp = tf.tensor3d(batchRaster(set.encoded, set.inputs, set.steps, t.order), [B, set.steps, set.inputs], 'bool');
    const lab = tf.tensor1d(Int32Array.from(t.order, (s) => set.labels[s]), 'int32');
    const tr = forward(net, inp);
    const l1 = ttfsLoss(net, tr.spikes[tr.spikes.length - 1], lab);
    const g = backward(net, tr, l1.errors);
    const spikes = await Promise.all(tr.spikes.slice(1).map((s) => s.data()));
    spikes.forEach((s, l) => {
      const per = s.length;
      diffs.spikes += countDiffering(s, stacked.spikes[l].subarray(k * per, (k + 1) * per));
    });
    const fs = await l1.firstSpikes.data();
    diffs.firstSpikes += countDiffering(fs, stacked.firstSpikes.subarray(k * fs.length, (k + 1) * fs.length));
    const terms = await l1.terms.data();
    diffs.terms += countDiffering(terms, stacked.terms.subarray(k * terms.length, (k + 1) * terms.length));
    const grads = await Promise.all(g.map((x) => x.data()));
    grads.forEach((x, l) => (diffs.gradsMaxAbsDiff = Math.max(diffs.gradsMaxAbsDiff, maxAbsDiff(x, stacked.grads[l].subarray(k * x.length, (k + 1) * x.length)))));
    // One-trial update with 3-D weights [1, Nin, N].
    const w3 = net.weights.map((w) => tf.reshape(w, [1, ...w.shape]));
    const g3 = g.map((x) => tf.reshape(x, [1, ...x.shape]));
    const o1 = new Optimiser(config.optimiser.type, shapes, [opt()]);
    o1.apply(w3, g3, [config.optimiser.lr]);
    const updated = await Promise.all(w3.map((w) => w.data()));
    updated.forEach((x, l) => (diffs.updatedMaxAbsDiff = Math.max(diffs.updatedMaxAbsDiff, maxAbsDiff(x, stacked.updated[l].subarray(k * x.length, (k + 1) * x.length)))));
    disposeTrace(tr);
    o1.dispose();
    tf.dispose([...net.weights, inp, lab, l1.firstSpikes, l1.terms, l1.errors, ...g, ...w3, ...g3]);
  }
  return {
    name: `stacked-${network}`,
    pass: diffs.spikes === 0 && diffs.firstSpikes === 0 && diffs.terms === 0 && diffs.gradsMaxAbsDiff === 0 && diffs.updatedMaxAbsDiff === 0,
    criterion: `on ${backend}: K = ${K} stacked trials equal each trial alone bit for bit (spikes, first spikes, loss terms, gradients, Adam update)`,
    backend,
    trials: K,
    samplesPerTrial: B,
    differing: diffs,
    residency: stacked.residency,
  };
}

/**
 * A short training run (the twin preset, `epochs` epochs, seed 0, canonical splits) on both backends
 * with `train` from dist/train/trainer.js: test accuracies within ACCURACY_POINTS percentage points.
 */
export async function checkTraining({ reference = 'wasm', candidate = 'webgpu', epochs = 3, seed = 0, points = ACCURACY_POINTS } = {}) {
  const config = { ...presetConfig('twin'), epochs, seed };
  const runs = {};
  for (const backend of [reference, candidate]) {
    await switchTo(backend);
    const t0 = performance.now();
    const r = await train({ config, data: CANONICAL_DATA, backend });
    runs[backend] = {
      seconds: +((performance.now() - t0) / 1000).toFixed(2),
      testAccuracy: r.test.accuracy,
      bestEpoch: r.bestEpoch,
      validationAccuracy: r.history.map((m) => m.validationAccuracy),
      trainLoss: r.history.map((m) => m.trainLoss),
    };
  }
  const diffPoints = 100 * Math.abs(runs[candidate].testAccuracy - runs[reference].testAccuracy);
  return {
    name: 'training',
    pass: diffPoints <= points,
    criterion: `twin preset, ${epochs} epochs, seed ${seed}: test accuracy within ${points} points`,
    testAccuracyDiffPoints: +diffPoints.toFixed(3),
    runs,
  };
}

/** Every check by name, as agree.mjs runs them. */
export const CHECKS = {
  ...Object.fromEntries(NETWORKS.map((n) => [`forward-${n}`, (o) => checkForward(n, o)])),
  ...Object.fromEntries(NETWORKS.map((n) => [`gradients-${n}`, (o) => checkGradients(n, o)])),
  'stacked-twin': (o) => checkStacked({ backend: o.candidate, network: 'twin' }),
  training: (o) => checkTraining(o),
};
