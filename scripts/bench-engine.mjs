// Engine throughput benchmark: training (forward + backward + Adam update) and inference samples/s at
// batch 22, 64 and 256 on each available backend, plus peak RSS; and one full twin training run (40
// epochs) for its wall time and peak RSS. Each measurement runs in a fresh child process so peak RSS
// belongs to that backend alone. Writes results/bench-engine.json.
//
//   npm run build && node scripts/bench-engine.mjs [--quick]
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { writeFileSync, mkdirSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const NODE_FLAGS = ['--no-wasm-dynamic-tiering'];

async function child(mode, backend) {
  const tf = await import('@tensorflow/tfjs-core');
  const { useBackend } = await import(join(root, 'dist/engine/backend.js'));
  const { presetConfig } = await import(join(root, 'dist/model/train-config.js'));
  const { initModel } = await import(join(root, 'dist/model/init.js'));
  const { networkFromModel } = await import(join(root, 'dist/engine/model-network.js'));
  const { runBatchPending, readOutcomes, encodeSet } = await import(join(root, 'dist/train/batch-runner.js'));
  const { Optimiser } = await import(join(root, 'dist/train/optimiser.js'));
  const { train, epochOrder } = await import(join(root, 'dist/train/trainer.js'));
  const { yinyangDataset } = await import(join(root, 'dist/data/yinyang.js'));
  const { CANONICAL_DATA } = await import(join(root, 'dist/data/sources.js'));
  const name = await useBackend(backend);
  const config = presetConfig('twin');
  if (mode === 'twin-run') {
    const t0 = performance.now();
    const r = await train({ config, data: CANONICAL_DATA, backend: name });
    const seconds = (performance.now() - t0) / 1000;
    const trainSeconds = r.history.reduce((a, m) => a + m.trainSeconds, 0);
    return { backend: name, epochs: config.epochs, wallSeconds: seconds, trainSeconds, trainSamplesPerSecond: (config.epochs * 5000) / trainSeconds, testAccuracy: r.test.accuracy, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
  }
  const ds = yinyangDataset('train');
  const set = encodeSet(ds, { steps: config.steps, ...config.encoding });
  const results = [];
  for (const batch of [22, 64, 256]) {
    const model = initModel(config, 5, 3);
    // One trial of the stack, as the training loop runs a plain training run (weights [1, Nin, N]).
    const base = networkFromModel(model);
    const net = { weights: base.weights.map((w) => tf.expandDims(w, 0)), constants: base.constants, losses: [base.loss] };
    tf.dispose(base.weights);
    const opt = new Optimiser(config.optimiser.type, net.weights.map((w) => [w.shape[1], w.shape[2]]), [config.optimiser]);
    const order = epochOrder(set.count, 0, 0);
    const epochs = quick ? 1 : 5;
    const runEpoch = async (withGrads) => {
      const nb = Math.floor(set.count / batch);
      for (let b = 0; b < nb; b++) {
        const idx = order.subarray(b * batch, (b + 1) * batch);
        const { grads, pending } = runBatchPending(net, [set], [idx], withGrads);
        await readOutcomes([pending]);
        if (withGrads) {
          opt.apply(net.weights, grads, [0.0019]);
          tf.dispose(grads);
        }
      }
      return nb * batch;
    };
    // One warm-up epoch (JIT, wasm compilation, allocator), then timed epochs; the median is reported
    // because this shared machine's timings vary by tens of percent from one epoch to the next.
    const measure = async (withGrads) => {
      await runEpoch(withGrads);
      const rates = [];
      for (let e = 0; e < epochs; e++) {
        const t0 = performance.now();
        const n = await runEpoch(withGrads);
        rates.push(n / ((performance.now() - t0) / 1000));
      }
      rates.sort((a, b) => a - b);
      return { median: Math.round(rates[rates.length >> 1]), min: Math.round(rates[0]), max: Math.round(rates[rates.length - 1]) };
    };
    const trainSps = await measure(true);
    const inferSps = await measure(false);
    results.push({ batch, trainSamplesPerSecond: trainSps.median, trainRange: [trainSps.min, trainSps.max], inferenceSamplesPerSecond: inferSps.median, inferenceRange: [inferSps.min, inferSps.max] });
    tf.dispose(net.weights);
    opt.dispose();
  }
  return { backend: name, results, peakRssMiB: process.resourceUsage().maxRSS / 1024, tensorsLeft: tf.memory().numTensors };
}

if (process.argv[2] === '--child') {
  const out = await child(process.argv[3], process.argv[4]).catch((err) => ({ backend: process.argv[4], unavailable: err.message }));
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

function run(mode, backend) {
  const r = spawnSync(process.execPath, [...NODE_FLAGS, fileURLToPath(import.meta.url), '--child', mode, backend, ...(quick ? ['--quick'] : [])], { encoding: 'utf8' });
  if (r.status !== 0) return { backend, error: (r.stderr || '').trim().split('\n').slice(-1)[0] };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const backends = ['wasm', 'cpu', 'tensorflow'];
const engine = [];
for (const b of backends) {
  const r = run('throughput', b);
  engine.push(r);
  console.log(JSON.stringify(r));
}
const twin = quick ? null : run('twin-run', 'wasm');
if (twin) console.log(JSON.stringify(twin));
const report = {
  what: 'tensor engine throughput, twin network 5-120-3, T = 27, canonical Yin-Yang train split; samples/s: median over 5 epochs (and range) after one warm-up epoch, starting from a fresh seed-0 network',
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, flags: NODE_FLAGS },
  date: new Date().toISOString().slice(0, 10),
  engine,
  twinTrainingRun: twin,
};
mkdirSync(join(root, 'results'), { recursive: true });
if (!quick) writeFileSync(join(root, 'results/bench-engine.json'), JSON.stringify(report, null, 2) + '\n');
