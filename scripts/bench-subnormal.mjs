// The subnormal rule's speed-up (docs/contract.md, "The subnormal rule"): a forward pass over the Yin-Yang test
// split (1000 samples, one batch, wasm) with the seed-0 twin model trained for 40 epochs before the rule
// (test/fixtures/twin-seed0-before-subnormal-rule.json: 166 of 600 hidden and 201 of 360 output weights are float32 subnormals), and
// whole 40-epoch twin training runs (seed 0, wasm, the CLI), each with the build before the rule and with
// this checkout's build. Every measurement runs in a fresh child process.
//
//   node scripts/bench-subnormal.mjs --before DIR [--runs 3] [--passes 30] [--out results/bench-subnormal.json]
//
// DIR is the root of a built checkout of the version before the rule, e.g.
//   git worktree add /tmp/before 2f0d5d8 && (cd /tmp/before && ln -s "$PWD/node_modules" . && npm run build)
// (any copy of the tree with node_modules and dist/ will do). Writes results/bench-subnormal.json.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE_FLAGS = ['--no-wasm-dynamic-tiering'];
const FLT_MIN = 2 ** -126;

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Subnormal weights per layer of a model file: [count, total]. */
function subnormals(model) {
  return model.layers.map((l) => {
    let n = 0;
    let total = 0;
    for (const row of l.weights)
      for (const x of row) {
        total++;
        const f = Math.fround(x);
        if (f !== 0 && Math.abs(f) < FLT_MIN) n++;
      }
    return [n, total];
  });
}

function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { median: round(s[s.length >> 1]), mean: round(mean), min: round(s[0]), max: round(s[s.length - 1]), n: s.length };
}

function round(x, digits = 3) {
  return Number(x.toFixed(digits));
}

// ------------------------------------------------------------------------------------------------
// Child: time forward passes over the test split with DIST's engine.
// ------------------------------------------------------------------------------------------------
async function forwardChild(dist, modelPath, passes) {
  const imp = (p) => import(pathToFileURL(join(dist, 'dist', p)).href);
  const { useBackend } = await imp('engine/backend.js');
  const { networkFromModel } = await imp('engine/model-network.js');
  const { runBatch, encodeSet } = await imp('train/batch-runner.js');
  const { yinyangDataset } = await imp('data/yinyang.js');
  const { parseModel } = await imp('model/model-file.js');
  await useBackend('wasm');
  const model = parseModel(JSON.parse(readFileSync(modelPath, 'utf8')), modelPath);
  const net = networkFromModel(model);
  const uploaded = net.weights.map((w) => Array.from(w.dataSync()));
  const subnormalUploaded = uploaded.map((w) => w.filter((x) => x !== 0 && Math.abs(x) < FLT_MIN).length);
  const set = encodeSet(yinyangDataset('test'), { steps: model.steps, ...model.encoding });
  const order = Int32Array.from({ length: set.count }, (_, i) => i);
  let correct = 0;
  const once = () => {
    const t0 = performance.now();
    const { outcome } = runBatch(net, set, order, false);
    const ms = performance.now() - t0;
    correct = outcome.correct;
    return ms;
  };
  for (let i = 0; i < 3; i++) once(); // warm-up: JIT, wasm compilation, allocator
  const times = [];
  for (let i = 0; i < passes; i++) times.push(once());
  return { ms: stats(times), accuracy: correct / set.count, subnormalWeightsInEngine: subnormalUploaded };
}

if (process.argv[2] === '--child') {
  const [, , , dist, modelPath, passes] = process.argv;
  const out = await forwardChild(dist, modelPath, Number(passes));
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

// ------------------------------------------------------------------------------------------------
// Parent
// ------------------------------------------------------------------------------------------------
const beforeArg = arg('--before');
if (!beforeArg || !existsSync(join(beforeArg, 'dist/cli/main.js'))) {
  console.error('bench-subnormal: --before DIR: the root of a built checkout of the version before the subnormal rule (see the header of this script)');
  process.exit(1);
}
const before = resolve(beforeArg);
const runs = Number(arg('--runs', '3'));
const passes = Number(arg('--passes', '30'));
const outPath = resolve(arg('--out', join(root, 'results/bench-subnormal.json')));
const work = mkdtempSync(join(tmpdir(), 's2prop-bench-subnormal-'));
const builds = { before, after: root };

const modelPath = join(root, 'test/fixtures/twin-seed0-before-subnormal-rule.json');
const model = JSON.parse(readFileSync(modelPath, 'utf8'));
// The same model with its subnormal weights set to zero by hand (what the rule does on upload).
const zeroedPath = join(work, 'model-zeroed.json');
writeFileSync(zeroedPath, JSON.stringify({ ...model, layers: model.layers.map((l) => ({ ...l, weights: l.weights.map((r) => r.map((x) => (Math.abs(Math.fround(x)) < FLT_MIN ? 0 : x))) })) }));

function forward(build, path) {
  const r = spawnSync(process.execPath, [...NODE_FLAGS, fileURLToPath(import.meta.url), '--child', builds[build], path, String(passes)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`forward child (${build}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function parseCsv(text) {
  const [head, ...rows] = text.trim().split('\n');
  const cols = head.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i], Number(v)])));
}

function trainRun(build, i) {
  const out = join(work, `${build}-${i}.json`);
  const log = join(work, `${build}-${i}.csv`);
  const args = [...NODE_FLAGS, join(builds[build], 'dist/cli/main.js'), 'train', '--backend', 'wasm', '--seed', '0', '--epochs', '40', '--quiet', '--out', out, '--log', log];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const wallSeconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`train (${build}) failed: ${r.stderr}`);
  const m = JSON.parse(readFileSync(out, 'utf8'));
  const epochs = parseCsv(readFileSync(log, 'utf8'));
  const trainSeconds = epochs.map((e) => e.trainSeconds);
  const evalSeconds = epochs.map((e) => e.evalSeconds);
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  return {
    wallSeconds: round(wallSeconds),
    trainSeconds: round(sum(trainSeconds)),
    evalSeconds: round(sum(evalSeconds)),
    firstFiveEpochsTrainSeconds: round(sum(trainSeconds.slice(0, 5))),
    lastFiveEpochsTrainSeconds: round(sum(trainSeconds.slice(-5))),
    testAccuracy: m.metrics?.testAccuracy,
    validationAccuracy: m.metrics?.validationAccuracy,
    subnormalWeights: subnormals(m).map(([n, t]) => `${n} of ${t}`),
    modelPath: out,
  };
}

const startLoad = loadavg()[0];
console.log(`before: ${before}\nafter: ${root}\nload average ${startLoad.toFixed(2)}, ${cpus().length} cores`);

// Forward passes: alternate the builds so that a change in machine load hits both.
const fwd = { beforeModelAsIs: [], beforeSubnormalsZeroed: [], afterModelAsIs: [] };
for (let i = 0; i < runs; i++) {
  fwd.beforeModelAsIs.push(forward('before', modelPath));
  fwd.beforeSubnormalsZeroed.push(forward('before', zeroedPath));
  fwd.afterModelAsIs.push(forward('after', modelPath));
  console.log(`forward round ${i + 1}: ${Object.entries(fwd).map(([k, v]) => `${k} ${v[i].ms.median} ms`).join(', ')}`);
}

const train = { before: [], after: [] };
for (let i = 0; i < runs; i++) {
  for (const build of ['before', 'after']) {
    const r = trainRun(build, i);
    train[build].push(r);
    console.log(`train ${build} run ${i + 1}: ${r.wallSeconds} s wall, ${r.trainSeconds} s training, test ${r.testAccuracy}, subnormal weights ${r.subnormalWeights.join(', ')}`);
  }
}
// The model trained with the rule, forward over the test split with this build.
fwd.afterModelTrainedWithRule = [];
for (let i = 0; i < runs; i++) fwd.afterModelTrainedWithRule.push(forward('after', train.after[0].modelPath));

const summary = (list) => ({
  medianMsPerPass: stats(list.map((r) => r.ms.median)),
  accuracy: list[0].accuracy,
  subnormalWeightsInEngine: list[0].subnormalWeightsInEngine,
  perProcess: list.map((r) => r.ms),
});
const trainSummary = (list) => ({
  wallSeconds: stats(list.map((r) => r.wallSeconds)),
  trainSeconds: stats(list.map((r) => r.trainSeconds)),
  firstFiveEpochsTrainSeconds: stats(list.map((r) => r.firstFiveEpochsTrainSeconds)),
  lastFiveEpochsTrainSeconds: stats(list.map((r) => r.lastFiveEpochsTrainSeconds)),
  testAccuracy: list.map((r) => r.testAccuracy),
  subnormalWeights: list[0].subnormalWeights,
  runs: list.map(({ modelPath: _p, ...r }) => r),
});

const result = {
  date: new Date().toISOString().slice(0, 10),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, flags: NODE_FLAGS, loadAverageAtStart: round(startLoad, 2), loadAverageAtEnd: round(loadavg()[0], 2) },
  builds: { before: 'the version before the subnormal rule (the --before checkout)', after: 'this checkout' },
  averaging: `forward: ${runs} processes per variant (alternating), each ${passes} timed passes after 3 warm-up passes; the per-process median is averaged/ranged over processes. training: ${runs} runs per build (alternating before/after)`,
  forwardPass: {
    what: 'forward + loss (no gradients) over the Yin-Yang test split, 1000 samples in one batch, wasm backend, milliseconds per pass',
    model: 'test/fixtures/twin-seed0-before-subnormal-rule.json: twin, seed 0, 40 epochs, trained before the rule (166 of 600 hidden, 201 of 360 output weights subnormal)',
    beforeModelAsIs: summary(fwd.beforeModelAsIs),
    beforeSubnormalsZeroed: summary(fwd.beforeSubnormalsZeroed),
    afterModelAsIs: summary(fwd.afterModelAsIs),
    afterModelTrainedWithRule: summary(fwd.afterModelTrainedWithRule),
  },
  training: {
    what: 's2prop train --backend wasm --seed 0 --epochs 40 (twin preset, canonical splits, evaluation every epoch), wall seconds of the process and the trainSeconds of the metrics CSV',
    before: trainSummary(train.before),
    after: trainSummary(train.after),
  },
};
result.speedUp = {
  forwardPass: round(result.forwardPass.beforeModelAsIs.medianMsPerPass.mean / result.forwardPass.afterModelAsIs.medianMsPerPass.mean, 2),
  trainingWall: round(result.training.before.wallSeconds.mean / result.training.after.wallSeconds.mean, 2),
  trainingTrainSeconds: round(result.training.before.trainSeconds.mean / result.training.after.trainSeconds.mean, 2),
};
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result.speedUp));
console.log(`written ${outPath}`);
