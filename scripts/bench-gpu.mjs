// GPU benchmark: training samples/s (forward + loss + backward + optimiser update of one batch) on wasm
// and webgpu side by side, each measurement in a fresh child process, for
//   (a) the twin network (5-120-3, T = 27, 22 samples per trial) with K stacked trials, K = 1..1024;
//   (b) a wide network 5-1000-3, T = 168, batch 256 (Yin-Yang inputs over steps 0..120, 0.25 ms steps);
//   (c) a large spike-input network 700-256-20, T = 500, batch 256, random input rasters at 2 % density
//       held on the device as a training loop holds its data (the upload of one raster timed apart);
// plus peak GPU memory (webgpu: tf.memory().numBytesInGPU / numBytesAllocatedInGPU, the max seen) and
// peak RSS. Every case runs through the engine functions (forward, stackedTtfsLoss, backward,
// Optimiser.apply) with stacked weights [K, Nin, N]; a timed series ends with an awaited read of
// one weight element, so the GPU's queued work is inside the time. Writes the JSON after every case.
//
//   npm run build && node scripts/bench-gpu.mjs [--backends wasm,webgpu] [--quick] [--budget SECONDS]
//                                               [--cases twin,wide,large] [--out FILE] [--total-budget SECONDS]
//
// --budget: seconds of timed batches per case (default 40, 10 with --quick); a case whose warm-up batch
// alone exceeds it is timed on fewer batches (at least one after the warm-up, unless the warm-up itself
// exceeds the budget: then the warm-up batch is the measurement, flagged `fromWarmup`).
// Default output: results/bench-gpu-<adapter-slug>.json (results/bench-gpu-cpu-only.json without webgpu).
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { runJsonChild } from './gpu-check/lib/run-child.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE_FLAGS = ['--no-wasm-dynamic-tiering'];

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const quick = process.argv.includes('--quick');
const budget = Number(option('--budget', quick ? 10 : 40));
/** Seconds for the whole benchmark (cases that no longer fit are recorded as skipped). */
const totalBudget = Number(option('--total-budget', Infinity));
const backends = option('--backends', 'wasm,webgpu').split(',').filter(Boolean);
const caseGroups = option('--cases', 'twin,wide,large').split(',').filter(Boolean);
const K_LIST = quick ? [1, 16, 64] : [1, 16, 64, 256, 1024];
/** Timed batches at most per case (fewer when the budget runs out). */
const MAX_BATCHES = quick ? 4 : 20;

const CASES = [
  ...(caseGroups.includes('twin') ? K_LIST.map((K) => ({ id: `twin-K${K}`, kind: 'twin', K })) : []),
  ...(caseGroups.includes('wide') ? [{ id: 'wide-5-1000-3', kind: 'wide', K: 1 }] : []),
  ...(caseGroups.includes('large') ? [{ id: 'large-700-256-20', kind: 'large', K: 1 }] : []),
];

/** A small seeded generator (mulberry32) with Box-Muller normals, for the random network and rasters. */
function rng(seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

// ---------------------------------------------------------------------------------------------------
// Child: one case on one backend.

async function child(caseId, backend) {
  const spec = CASES.find((c) => c.id === caseId) ?? { id: caseId, kind: caseId.split('-')[0], K: Number(/K(\d+)/.exec(caseId)?.[1] ?? 1) };
  const tf = await import('@tensorflow/tfjs-core');
  const { useBackend, backendNote } = await import(join(root, 'dist/engine/backend.js'));
  const { presetConfig } = await import(join(root, 'dist/model/train-config.js'));
  const { initModel } = await import(join(root, 'dist/model/init.js'));
  const { neuronConstants } = await import(join(root, 'dist/model/neuron.js'));
  const { forward, stackedTtfsLoss, backward, disposeTrace } = await import(join(root, 'dist/engine/network.js'));
  const { Optimiser } = await import(join(root, 'dist/train/optimiser.js'));
  const { encodeSet } = await import(join(root, 'dist/train/batch-runner.js'));
  const { batchRaster } = await import(join(root, 'dist/data/encoding.js'));
  const { epochOrder } = await import(join(root, 'dist/data/epoch-order.js'));
  const { yinyangDataset } = await import(join(root, 'dist/data/yinyang.js'));

  const name = await useBackend(backend);
  const out = { backend: name, note: backendNote(), case: spec.id };
  if (name === 'webgpu') {
    const { probeAdapter } = await import(join(root, 'dist/engine/webgpu/adapter.js'));
    const probe = await probeAdapter();
    if (probe.ok) out.adapter = probe.info;
  }

  // Per case: layer sizes, steps, neuron, loss, K, samples per trial, and a batch maker (host side:
  // raster and labels, as a training loop builds them).
  let config;
  let sizes;
  let K = spec.K;
  let perTrial;
  let makeBatch;
  let layerWeights; // per trial: number[][][] or flat Float32Arrays
  let measureUpload = null;
  if (spec.kind === 'twin' || spec.kind === 'wide') {
    config = presetConfig(spec.kind === 'twin' ? 'twin' : 'exact');
    if (spec.kind === 'wide') {
      config.hidden = [1000];
      config.steps = 168;
      config.encoding = { ...config.encoding, tMin: 0, tMax: 120 };
      config.batch = 256;
    }
    perTrial = config.batch;
    const enc = { steps: config.steps, tMin: config.encoding.tMin, tMax: config.encoding.tMax ?? config.steps - 1, bias: config.encoding.bias };
    const set = encodeSet(yinyangDataset('train'), enc);
    sizes = [set.inputs, ...config.hidden, 3];
    const orders = Array.from({ length: K }, (_, k) => epochOrder(set.count, k, 0));
    const perEpoch = Math.floor(set.count / perTrial);
    makeBatch = (b) => {
      const j = b % perEpoch;
      const raster = new Uint8Array(K * perTrial * set.steps * set.inputs);
      const labels = new Int32Array(K * perTrial);
      for (let k = 0; k < K; k++) {
        const idx = orders[k].subarray(j * perTrial, (j + 1) * perTrial);
        raster.set(batchRaster(set.encoded, set.inputs, set.steps, idx), k * perTrial * set.steps * set.inputs);
        for (let i = 0; i < perTrial; i++) labels[k * perTrial + i] = set.labels[idx[i]];
      }
      return { raster, labels };
    };
    layerWeights = Array.from({ length: K }, (_, k) => initModel({ ...config, seed: k }, set.inputs, 3).layers.map((l) => l.weights.flat()));
  } else {
    // (c) 700-256-20 at the twin's neuron (1 ms steps), T = 500, random rasters at 2 % density. Weights
    // N(mu, sigma) per layer, chosen so that hidden and output neurons spike (recorded below).
    config = presetConfig('twin');
    config.steps = 500;
    perTrial = 256;
    K = 1;
    sizes = [700, 256, 20];
    const r = rng(1234);
    const init = [
      { mu: 0.015, sigma: 0.04 },
      { mu: 0.03, sigma: 0.08 },
    ];
    layerWeights = [init.map(({ mu, sigma }, l) => Float32Array.from({ length: sizes[l] * sizes[l + 1] }, () => mu + sigma * r.normal()))];
    const rasters = Array.from({ length: 2 }, () => {
      const raster = new Uint8Array(perTrial * config.steps * 700);
      for (let i = 0; i < raster.length; i++) raster[i] = r.uniform() < 0.02 ? 1 : 0;
      const labels = Int32Array.from({ length: perTrial }, () => Math.floor(r.uniform() * 20));
      return { raster, labels };
    });
    // Resident on the device, as a training loop keeps its data set there (the Yin-Yang path gathers
    // each batch's raster on the device): uploaded once, the upload timed apart (rasterUploadSeconds).
    let resident = null;
    makeBatch = (b) => {
      resident ??= rasters.map(({ raster, labels }) => ({ input: tf.tensor3d(raster, [perTrial, config.steps, 700], 'bool'), labels, resident: true }));
      return resident[b % resident.length];
    };
    measureUpload = async () => {
      const t = performance.now();
      const x = tf.tensor3d(rasters[0].raster, [perTrial, config.steps, 700], 'bool');
      const one = tf.slice(x, [perTrial - 1, config.steps - 1, 699], [1, 1, 1]);
      await one.data();
      tf.dispose([x, one]);
      return (performance.now() - t) / 1000;
    };
  }
  const steps = config.steps;
  const B = K * perTrial;
  Object.assign(out, { layers: sizes.join('-'), steps, trials: K, samplesPerTrial: perTrial, samplesPerBatch: B });

  const net = {
    weights: sizes.slice(1).map((n, l) => {
      const flat = new Float32Array(K * sizes[l] * n);
      for (let k = 0; k < K; k++) flat.set(layerWeights[k][l], k * sizes[l] * n);
      return tf.tensor3d(flat, [K, sizes[l], n], 'float32');
    }),
    constants: neuronConstants(config.neuron),
    losses: Array.from({ length: K }, () => ({ xi: config.loss.xi, alpha: config.loss.alpha, tau1: config.loss.tau1 })),
  };
  layerWeights = null;
  const opt = new Optimiser(
    config.optimiser.type,
    sizes.slice(1).map((n, l) => [sizes[l], n]),
    Array.from({ length: K }, () => ({ ...config.optimiser })),
  );
  const lrs = Array.from({ length: K }, () => config.optimiser.lr);

  let peakGpu = { numBytesInGPU: 0, numBytesAllocatedInGPU: 0 };
  const sampleMemory = () => {
    const m = tf.memory();
    if (m.numBytesInGPU !== undefined) peakGpu.numBytesInGPU = Math.max(peakGpu.numBytesInGPU, m.numBytesInGPU);
    if (m.numBytesAllocatedInGPU !== undefined) peakGpu.numBytesAllocatedInGPU = Math.max(peakGpu.numBytesAllocatedInGPU, m.numBytesAllocatedInGPU);
  };
  /** One training step: upload, forward, loss, backward, update. `inspect` may read the trace (async). */
  const step = async (b, inspect) => {
    const batch = makeBatch(b);
    const { labels } = batch;
    const input = batch.resident ? batch.input : tf.tensor3d(batch.raster, [B, steps, sizes[0]], 'bool');
    const labelT = tf.tensor1d(labels, 'int32');
    const trace = forward(net, input);
    const loss = stackedTtfsLoss(net, trace.spikes[trace.spikes.length - 1], labelT);
    const grads = backward(net, trace, loss.errors);
    sampleMemory();
    if (inspect) await inspect(trace);
    opt.apply(net.weights, grads, lrs);
    sampleMemory();
    disposeTrace(trace);
    if (!batch.resident) input.dispose();
    tf.dispose([labelT, loss.firstSpikes, loss.terms, loss.errors, ...grads]);
  };
  /** Wait for the GPU: read one weight element. */
  const sync = async () => {
    const one = tf.slice(net.weights[0], [0, 0, 0], [1, 1, 1]);
    await one.data();
    one.dispose();
  };

  // Warm-up batch (shader / wasm compilation, allocator), reading the spikes per sample of each layer.
  let t0 = performance.now();
  await step(0, async (trace) => {
    const counts = [];
    // Counted on the host: a GPU reduction over a raster larger than the adapter's
    // maxStorageBufferBindingSize (K = 1024: 73 M elements) is not reliable.
    for (const s of trace.spikes.slice(1)) {
      const v = await s.data();
      let n = 0;
      for (let i = 0; i < v.length; i++) n += v[i];
      counts.push(n / B);
    }
    out.spikesPerSample = counts;
  });
  await sync();
  const warmupSeconds = (performance.now() - t0) / 1000;
  out.warmupSeconds = +warmupSeconds.toFixed(3);
  if (name === 'webgpu' && warmupSeconds < budget / 4) {
    // A second warm-up on the GPU: the first batch compiles the pipelines.
    t0 = performance.now();
    await step(1);
    await sync();
    out.secondWarmupSeconds = +((performance.now() - t0) / 1000).toFixed(3);
  }
  const perBatchGuess = out.secondWarmupSeconds ?? warmupSeconds;
  if (warmupSeconds > budget) {
    out.timedBatches = 0;
    out.fromWarmup = true;
    out.trainSamplesPerSecond = +(B / warmupSeconds).toFixed(2);
    out.secondsPerBatch = +warmupSeconds.toFixed(3);
  } else {
    const n = Math.max(1, Math.min(MAX_BATCHES, Math.floor(budget / Math.max(perBatchGuess, 1e-3))));
    // Two series when there is room (the better half of the noise on a shared machine is reported too).
    const series = n >= 4 ? 2 : 1;
    const per = Math.max(1, Math.floor(n / series));
    const rates = [];
    for (let s = 0; s < series; s++) {
      t0 = performance.now();
      for (let b = 0; b < per; b++) await step(2 + s * per + b);
      await sync();
      const seconds = (performance.now() - t0) / 1000;
      rates.push({ batches: per, seconds: +seconds.toFixed(3), samplesPerSecond: +((per * B) / seconds).toFixed(2) });
    }
    out.timedBatches = per * series;
    out.series = rates;
    const totalSeconds = rates.reduce((a, r) => a + r.seconds, 0);
    out.trainSamplesPerSecond = +((out.timedBatches * B) / totalSeconds).toFixed(2);
    out.secondsPerBatch = +(totalSeconds / out.timedBatches).toFixed(4);
  }
  if (measureUpload) {
    await measureUpload();
    out.rasterUploadSeconds = +(await measureUpload()).toFixed(4);
    tf.dispose([makeBatch(0).input, makeBatch(1).input]);
  }
  if (name === 'webgpu') out.peakGpuMemoryMiB = { inUse: +(peakGpu.numBytesInGPU / 2 ** 20).toFixed(1), allocated: +(peakGpu.numBytesAllocatedInGPU / 2 ** 20).toFixed(1) };
  out.peakRssMiB = +(process.resourceUsage().maxRSS / 1024).toFixed(1);
  tf.dispose(net.weights);
  opt.dispose();
  out.tensorsLeft = tf.memory().numTensors;
  return out;
}

/** Child: what the webgpu adapter is (or why there is none). */
async function probeChild() {
  const { probeAdapter } = await import(join(root, 'dist/engine/webgpu/adapter.js'));
  const p = await probeAdapter();
  if (!p.ok) return { ok: false, missing: p.missing };
  const l = p.adapter.limits;
  return { ok: true, info: p.info, limits: { maxBufferSize: l.maxBufferSize, maxStorageBufferBindingSize: l.maxStorageBufferBindingSize } };
}

if (process.argv[2] === '--child') {
  const task = process.argv[3] === 'probe' ? probeChild() : child(process.argv[3], process.argv[4]);
  const out = await task.catch((err) => ({ backend: process.argv[4], case: process.argv[3], error: String(err?.stack ?? err).split('\n').slice(0, 4).join(' | ') }));
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
} else {
  await main();
}

// ---------------------------------------------------------------------------------------------------
// Parent.

/** Run a child with a wall-clock limit; its last stdout line is its JSON answer. */
function run(args, limitSeconds) {
  return runJsonChild([...NODE_FLAGS, fileURLToPath(import.meta.url), '--child', ...args, ...process.argv.slice(2)], limitSeconds, "over the case's time limit");
}

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'unknown';
}

async function main() {
  const report = {
    what:
      'training samples/s: forward + loss + backward + optimiser update (Optimiser, Adam) of one batch, including building and uploading the input raster (large: rasters resident on the device, their upload timed apart as rasterUploadSeconds); ' +
      'timed over the batches listed after one warm-up batch (two on webgpu), each timed series ended by an awaited read of one weight element; ' +
      'each case in a fresh child process. twin: 5-120-3, T = 27, 22 samples per trial, K stacked trials, canonical Yin-Yang train split; ' +
      'wide: 5-1000-3, T = 168, batch 256, exact preset neuron/loss (0.25 ms steps), inputs over steps 0..120; ' +
      'large: 700-256-20, T = 500, batch 256, twin neuron, random input rasters at 2 % density, random labels',
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, flags: NODE_FLAGS },
    date: new Date().toISOString(),
    options: { quick, budgetSeconds: budget, totalBudgetSeconds: Number.isFinite(totalBudget) ? totalBudget : null, backends, kList: K_LIST, maxBatches: MAX_BATCHES },
    adapter: null,
    skipped: {},
    cases: [],
  };
  let useBackends = [...backends];
  if (backends.includes('webgpu')) {
    const probe = await run(['probe'], 60);
    if (probe.ok) report.adapter = { ...probe.info, limits: probe.limits };
    else {
      report.skipped.webgpu = probe.missing ?? probe.error;
      useBackends = useBackends.filter((b) => b !== 'webgpu');
      console.log(`webgpu skipped: ${report.skipped.webgpu}`);
    }
  }
  const outPath = resolve(option('--out', join(root, 'results', `bench-gpu-${report.adapter ? slug(report.adapter.description || report.adapter.device || report.adapter.vendor) : 'cpu-only'}.json`)));
  mkdirSync(dirname(outPath), { recursive: true });
  const write = () => {
    writeFileSync(outPath + '.tmp', JSON.stringify(report, null, 2) + '\n');
    renameSync(outPath + '.tmp', outPath);
  };
  write();
  // The child's own limit: the timed budget plus its warm-up(s) and data preparation.
  const limit = Math.max(3 * budget, budget + 60);
  const start = performance.now();
  for (const c of CASES) {
    const row = { case: c.id };
    for (const b of useBackends) {
      const left = totalBudget - (performance.now() - start) / 1000;
      if (left < Math.min(limit, budget + 10)) {
        row[b] = { skipped: `the total budget of ${totalBudget} s was spent` };
        console.log(`${c.id} ${b}: skipped (total budget)`);
        continue;
      }
      const t0 = performance.now();
      const r = await run([c.id, b], Math.min(limit, left));
      r.wallSeconds = +((performance.now() - t0) / 1000).toFixed(1);
      row[b] = r;
      console.log(`${c.id} ${b}: ${r.error ? `FAILED ${r.error}` : `${r.trainSamplesPerSecond} samples/s (${r.timedBatches} batches timed${r.fromWarmup ? ', from the warm-up batch' : ''}), spikes/sample ${r.spikesPerSample?.map((x) => x.toFixed(1)).join('/')}, peak RSS ${r.peakRssMiB} MiB${r.peakGpuMemoryMiB ? `, GPU ${r.peakGpuMemoryMiB.allocated} MiB` : ''}${r.rasterUploadSeconds !== undefined ? `, raster upload ${r.rasterUploadSeconds} s` : ''}`}`);
    }
    if (row.wasm?.trainSamplesPerSecond && row.webgpu?.trainSamplesPerSecond) row.speedupWebgpuOverWasm = +(row.webgpu.trainSamplesPerSecond / row.wasm.trainSamplesPerSecond).toFixed(2);
    report.cases.push(row);
    write();
  }
  report.finished = new Date().toISOString();
  write();
  console.log(`wrote ${outPath}`);
}
