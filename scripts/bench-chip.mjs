// Chip benchmark: simulator throughput (samples/s, synaptic events/s) on the canonical test split for the
// twin model exported as int8, int4 and float32, and the time to export a large network onto the
// 48-chip board. Writes results/bench-chip.json.
//
//   npm run build && node scripts/bench-chip.mjs [--model test/fixtures/twin-seed0-before-subnormal-rule.json]
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = (p) => import(join(root, 'dist', p));
const { exportModel } = await lib('chip/export.js');
const { writeDirAtomic } = await lib('chip/config-dir.js');
const { BUILTIN_MACHINES } = await lib('chip/machine.js');
const { loadChipConfig } = await lib('chip/sim/load-config.js');
const { ChipSimulator } = await lib('chip/sim/simulator.js');
const { OnChipTrainer } = await lib('chip/host/on-chip-training.js');
const { yinyangDataset } = await lib('data/yinyang.js');
const { parseModel } = await lib('model/model-file.js');

const i = process.argv.indexOf('--model');
const modelPath = i >= 0 ? process.argv[i + 1] : join(root, 'test/fixtures/twin-seed0-before-subnormal-rule.json');
const model = parseModel(JSON.parse(readFileSync(modelPath, 'utf8')), modelPath);
const test = yinyangDataset('test');
const work = mkdtempSync(join(tmpdir(), 's2prop-bench-chip-'));

const simulator = [];
for (const quant of ['int8', 'int4', 'float32']) {
  const dir = join(work, quant);
  writeDirAtomic(dir, exportModel(model, { quant, clipPercentile: 100, machine: BUILTIN_MACHINES.chip, slots: 4 }).files);
  const sim = new ChipSimulator(loadChipConfig(dir));
  sim.run(test.features.subarray(0, 100 * 4), 100, test.labels); // warm-up
  const t0 = performance.now();
  const run = sim.run(test.features, test.count, test.labels);
  const seconds = (performance.now() - t0) / 1000;
  const correct = run.samples.filter((s) => s.prediction === s.label).length;
  const row = { quant, samples: test.count, seconds: +seconds.toFixed(3), samplesPerSecond: Math.round(test.count / seconds), synapticEventsPerSecond: Math.round(run.stats.synapticEvents / seconds), packetsPerSample: +(run.stats.packetsSent / test.count).toFixed(1), accuracy: correct / test.count };
  console.log(JSON.stringify(row));
  simulator.push(row);
}

// On-chip training: the twin's training export (22 slots, batch 22, one round per batch), 1000 training
// samples with an Adam update per batch: simulator samples/s and the chip's cost per sample (model values).
const train = yinyangDataset('train');
const trainDir = join(work, 'train');
const adam = { lr: 0.0019, gamma: 0.95, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 6.5e-7 };
writeDirAtomic(trainDir, exportModel(model, { quant: 'float32', clipPercentile: 100, machine: BUILTIN_MACHINES.chip, slots: 22, training: { batchSize: 22, optimiser: adam, packetsPerTick: 64 } }).files);
const trainer = new OnChipTrainer(loadChipConfig(trainDir), trainDir);
const batchOf = (b) => Array.from({ length: 22 }, (_, i) => ({ features: train.features.subarray(4 * (b * 22 + i), 4 * (b * 22 + i) + 4), label: train.labels[b * 22 + i] }));
trainer.runBatch(batchOf(0), { update: true, lr: 1e-4 }); // warm-up
trainer.takeCost();
const batches = 45;
const tTrain = performance.now();
for (let b = 0; b < batches; b++) trainer.runBatch(batchOf(b), { update: true, lr: 1e-4 });
const trainSeconds = (performance.now() - tTrain) / 1000;
const cost = trainer.takeCost();
const onChipTraining = {
  network: '5-120-3 (twin), float32 training export, 22 slots, 89 PEs',
  samples: batches * 22,
  seconds: +trainSeconds.toFixed(3),
  simulatorSamplesPerSecond: Math.round((batches * 22) / trainSeconds),
  ticksPerSample: +(cost.ticks / (batches * 22)).toFixed(2),
  cyclesPerSample: Math.round(cost.cycles / (batches * 22)),
  packetsPerSample: +(cost.packets / (batches * 22)).toFixed(1),
  worstTickCycles: cost.realTime.map((r) => ({ mhz: r.mhz, cycles: r.worstTickCycles, budget: r.budgetCycles, fits: r.fits })),
  busiestPe: cost.busiestPe,
  window: 'ticks 0-26 forward, 27-53 backward, 54-63 gradient gather, 64-78 Adam update and weights out, 79 last delivery',
  busiestCyclesPerTick: cost.busiestCyclesPerTick,
};
console.log(JSON.stringify(onChipTraining));

// A large network on the 48-chip board: 5-1200-1200-1200-1200-3 in float32 needs about 200 PEs per slot.
const sizes = [5, 1200, 1200, 1200, 1200, 3];
const big = { ...model, features: undefined, layers: sizes.slice(1).map((n, l) => ({ weights: Array.from({ length: sizes[l] }, (_, k) => Array.from({ length: n }, (_, j) => ((k * 31 + j * 17) % 13) / 100 - 0.06)) })) };
const t0 = performance.now();
const { files, report } = exportModel(big, { quant: 'float32', clipPercentile: 100, machine: BUILTIN_MACHINES.board, slots: 8 });
const tExport = performance.now();
writeDirAtomic(join(work, 'big'), files);
const tWrite = performance.now();
const largeExport = {
  network: sizes.join('-'),
  quant: 'float32',
  machine: 'board (48 chips)',
  slots: 8,
  activePes: report.activePes,
  chipsUsed: report.chipsUsed,
  routerEntriesMax: Math.max(...report.routerEntries.map((r) => r.entries)),
  bytesWritten: [...files.values()].reduce((a, f) => a + (typeof f === 'string' ? Buffer.byteLength(f) : f.length), 0),
  exportSeconds: +((tExport - t0) / 1000).toFixed(3),
  writeSeconds: +((tWrite - tExport) / 1000).toFixed(3),
};
console.log(JSON.stringify(largeExport));
rmSync(work, { recursive: true, force: true });

mkdirSync(join(root, 'results'), { recursive: true });
writeFileSync(
  join(root, 'results/bench-chip.json'),
  JSON.stringify({ what: 'chip simulator throughput on the canonical test split (twin model, 4 slots, one chip), on-chip training throughput, and export time of a large network on the 48-chip board', model: modelPath.replace(root + '/', ''), machine: { cpus: cpus().length, node: process.version }, date: new Date().toISOString().slice(0, 10), simulator, onChipTraining, largeExport }, null, 2) + '\n',
);
