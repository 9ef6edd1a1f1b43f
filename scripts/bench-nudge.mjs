// What the silent-label nudge costs: training batches of the `exact` preset (5-200-3, T = 160, batch 40:
// forward, loss, backward and the Adam update) with loss.nudge 0 and 0.01, alternating so that both see
// the same machine load; and the nudge's kernel alone, on a batch whose every label neuron is silent (its
// worst case: every sample is read). Writes results/bench-nudge.json.
//
//   npm run build && node --no-wasm-dynamic-tiering scripts/bench-nudge.mjs [--backend wasm] [--rounds 5]
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const tf = await import('@tensorflow/tfjs-core');
const { useBackend } = await import(join(root, 'dist/engine/backend.js'));
const { presetConfig } = await import(join(root, 'dist/model/train-config.js'));
const { initModel } = await import(join(root, 'dist/model/init.js'));
const { networkFromModel } = await import(join(root, 'dist/engine/model-network.js'));
const { runBatchPending, readOutcomes, encodeSet } = await import(join(root, 'dist/train/batch-runner.js'));
const { Optimiser } = await import(join(root, 'dist/train/optimiser.js'));
const { yinyangDataset } = await import(join(root, 'dist/data/yinyang.js'));
const { silentLabelNudge } = await import(join(root, 'dist/engine/silent-label-nudge.js'));

const backend = await useBackend(arg('backend', 'wasm'));
const rounds = Number(arg('rounds', 5));
const batchesPerRound = 60;
const config = presetConfig('exact');
const B = config.batch;
const data = yinyangDataset('train');
const set = encodeSet(data, { ...config.encoding, steps: config.steps });
const model = initModel(config, set.inputs, 3);

/** Seconds per training batch with this nudge, over `batchesPerRound` batches. */
async function trainingBatches(nudge) {
  const net = networkFromModel({ ...model, loss: { ...model.loss, nudge } });
  const stacked = { weights: net.weights.map((w) => tf.expandDims(w, 0)), constants: net.constants, losses: [net.loss] };
  tf.dispose(net.weights);
  const optimiser = new Optimiser('adam', stacked.weights.map((w) => [w.shape[1], w.shape[2]]), [config.optimiser]);
  const t0 = performance.now();
  for (let i = 0; i < batchesPerRound; i++) {
    const order = Int32Array.from({ length: B }, (_, b) => (i * B + b) % set.count);
    const { grads, pending } = runBatchPending(stacked, [set], [order], true);
    optimiser.apply(stacked.weights, grads, [config.optimiser.lr]);
    tf.dispose(grads);
    await readOutcomes([pending]);
  }
  const seconds = (performance.now() - t0) / 1000 / batchesPerRound;
  tf.dispose(stacked.weights);
  return seconds;
}

/** Milliseconds of the nudge's kernel alone on a batch whose every label neuron is silent. */
async function worstCaseKernel() {
  const [T, H, N] = [config.steps, config.hidden[0], 3];
  const spikes = tf.tensor3d(Uint8Array.from({ length: B * T * H }, (_, i) => (i % 97 === 0 ? 1 : 0)), [B, T, H], 'bool');
  const first = tf.fill([B, N], T, 'int32');
  const labels = tf.tensor1d(Int32Array.from({ length: B }, (_, b) => b % N), 'int32');
  const times = [];
  for (let r = 0; r < 20; r++) {
    const t0 = performance.now();
    const term = silentLabelNudge(spikes, first, labels, [0.01], B);
    await term.data();
    times.push(performance.now() - t0);
    term.dispose();
  }
  tf.dispose([spikes, first, labels]);
  return times.sort((a, b) => a - b)[10];
}

await trainingBatches(0); // warm-up: kernels compiled, heap grown
const plain = [];
const nudged = [];
for (let r = 0; r < rounds; r++) {
  plain.push(await trainingBatches(0));
  nudged.push(await trainingBatches(0.01));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = {
  what: 'exact preset training batches (forward, loss, backward, Adam) with and without the silent-label nudge, and the nudge kernel alone with every label neuron silent',
  date: new Date().toISOString(),
  backend,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  batch: B,
  steps: config.steps,
  hidden: config.hidden,
  rounds,
  batchesPerRound,
  secondsPerBatch: { nudge0: median(plain), nudge001: median(nudged) },
  samplesPerSecond: { nudge0: B / median(plain), nudge001: B / median(nudged) },
  perRound: { nudge0: plain, nudge001: nudged },
  worstCaseKernelMs: await worstCaseKernel(),
};
writeFileSync(join(root, 'results/bench-nudge.json'), JSON.stringify(result, null, 1) + '\n');
console.log(
  `${backend}: ${result.samplesPerSecond.nudge0.toFixed(0)} samples/s without the nudge, ${result.samplesPerSecond.nudge001.toFixed(0)} with it; the kernel alone, every label silent: ${result.worstCaseKernelMs.toFixed(2)} ms per batch of ${B}`,
);
