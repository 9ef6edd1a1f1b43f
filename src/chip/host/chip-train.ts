import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Dataset } from '../../data/dataset.js';
import { epochOrder } from '../../data/epoch-order.js';
import { inFile, UserError } from '../../errors.js';
import { parseWith, readJsonFile } from '../../formats/validate.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { toJsonText } from '../../io/json.js';
import type { LossSettings, ModelFile } from '../../model/schema.js';
import { TOOL_NAME, TOOL_VERSION } from '../../version.js';
import { ExportFileSchema, readDirFile, type ExportFile } from '../config-dir.js';
import type { ChipConfig } from '../sim/load-config.js';
import { OnChipTrainer, type ChipTrainingState, type TrainingCost } from './on-chip-training.js';

const matrices = z.array(z.array(z.array(z.number())));

/** A chip-train checkpoint: the chip state (weights, Adam moments and counters) after whole epochs. */
const ChipCheckpointSchema = z
  .object({
    format: z.literal('s2prop-chip-checkpoint'),
    version: z.literal(1),
    settings: z.object({ seed: z.number().int(), batch: z.number().int(), slots: z.number().int(), data: z.string() }).strict(),
    epochsDone: z.number().int().nonnegative(),
    state: z.object({ step: z.number().int(), beta1Power: z.number(), beta2Power: z.number(), weights: matrices, m: matrices, v: matrices }).strict(),
    best: z.object({ epoch: z.number().int(), accuracy: z.number(), weights: matrices }).strict().nullable(),
    history: z.array(z.record(z.string(), z.number())),
  })
  .strict();
type ChipCheckpoint = z.output<typeof ChipCheckpointSchema>;

export interface ChipTrainOptions {
  dir: string;
  config: ChipConfig;
  train: Dataset;
  /** Selects the epoch whose weights are kept (best accuracy on the simulator); the last epoch without it. */
  validation?: Dataset;
  epochs: number;
  seed: number;
  /** Samples per optimiser update (default: the batch the export was made for). */
  batch?: number;
  /** Slots used (default: all the export has). */
  slots?: number;
  checkpointPath: string;
  resume: boolean;
  /** Stop after this many samples of the first epoch (online adaptation with a few samples). */
  samplesPerEpoch?: number;
  /** Check the data against the network (feature names or count, classes) before anything runs. */
  checkData?: (features: string[] | number, classes: number) => void;
  onEpoch?: (history: Record<string, number>[]) => void;
}

export interface ChipTrainResult {
  model: ModelFile;
  history: Record<string, number>[];
  bestEpoch: number;
  /** The last epoch's cost, per tick of the sample window and per PE (model values). */
  lastCost: TrainingCost | null;
}

/** Cost columns of the training log (model values: see the machine description). */
function costColumns(cost: TrainingCost, samples: number): Record<string, number> {
  const cols: Record<string, number> = {
    ticksPerSample: cost.ticks / samples,
    cyclesPerSample: cost.cycles / samples,
    packetsPerSample: cost.packets / samples,
    chipSecondsPerEpoch: cost.chipSeconds,
  };
  for (const e of cost.energyJoules) cols[`energyPerSampleJ${e.mhz}MHz`] = e.joules / samples;
  for (const r of cost.realTime) {
    // Real-time factor: a tick whose busiest PE needs more cycles than the budget stretches (no barrier).
    const stretched = cost.busiestCyclesPerTick.reduce((a, c) => a + Math.max(1, c / r.budgetCycles), 0);
    cols[`realTimeFactor${r.mhz}MHz`] = stretched / cost.busiestCyclesPerTick.length;
    cols[`worstTickCycles${r.mhz}MHz`] = r.worstTickCycles;
  }
  return cols;
}

/** What a chip-trained model file is made of: the export, the kept weights and how they were trained. */
interface ChipModelSource {
  info: ExportFile;
  loss: LossSettings;
  weights: number[][][];
  opts: ChipTrainOptions;
  epochs: number;
  bestEpoch: number;
  batch: number;
}

/** The model file of chip-trained weights: the export's settings, on-chip provenance. */
function chipModel({ info, loss, weights, opts, epochs, bestEpoch, batch }: ChipModelSource): ModelFile {
  const m = info.model;
  return {
    format: 's2prop-model',
    version: 1,
    steps: m.steps,
    neuron: m.neuron,
    loss,
    encoding: m.encoding,
    ...(m.features ? { features: m.features } : {}),
    layers: weights.map((w) => ({ weights: w })),
    provenance: {
      tool: TOOL_NAME,
      toolVersion: TOOL_VERSION,
      seed: opts.seed,
      epochs,
      bestEpoch,
      batch,
      backend: 'chip-simulator',
      trainedOn: 'on-chip (SpiNNaker2 simulator, float32 EventProp programs)',
      initModel: opts.dir,
      data: { train: opts.train.source, ...(opts.validation ? { validation: opts.validation.source } : {}) },
    },
  };
}

/**
 * On-chip training: epochs of shuffled batches (the off-chip trainer's order for the same seed), each batch
 * run on the simulated chip with the learning rate of the off-chip schedule, lr * gamma^(batch/batches per
 * epoch), written by the host. After each epoch: accuracy on the validation data (inference on the same
 * chip), a log row with the cost, and a checkpoint of the chip state, so --resume continues exactly.
 */
export function chipTrain(opts: ChipTrainOptions): ChipTrainResult {
  const info = readDirFile(opts.dir, 'export.json', 'export', ExportFileSchema);
  const loss = info.model.loss;
  if (!loss) throw inFile(join(opts.dir, 'export.json'), 'has no model.loss (written before on-chip training existed); export the model again');
  const trainer = new OnChipTrainer(opts.config, opts.dir);
  const t = trainer.training;
  const batch = opts.batch ?? t.batchSize;
  const slots = opts.slots ?? trainer.slots;
  if (slots > trainer.slots) throw new UserError(`--slots: the config has ${trainer.slots} slot(s), got ${slots}`);
  opts.checkData?.(info.model.features ?? trainer.sizes[0] - (info.model.encoding.bias ? 1 : 0), trainer.sizes[trainer.sizes.length - 1]);
  const settings = { seed: opts.seed, batch, slots, data: opts.train.source };
  let ckpt: ChipCheckpoint | null = null;
  if (opts.resume) {
    if (!existsSync(opts.checkpointPath)) throw new UserError(`--resume: no checkpoint ${opts.checkpointPath} to resume from`);
    ckpt = parseWith(ChipCheckpointSchema, readJsonFile(opts.checkpointPath), opts.checkpointPath);
    for (const [k, v] of Object.entries(settings)) {
      const was = ckpt.settings[k as keyof typeof settings];
      if (was !== v) throw inFile(opts.checkpointPath, `settings.${k} is ${was}, but this run has ${v}; resume with the same settings`);
    }
    trainer.restore(ckpt.state);
  }
  const history = ckpt?.history ?? [];
  let best = ckpt?.best ?? null;
  const n = Math.min(opts.train.count, opts.samplesPerEpoch ?? Infinity);
  const batches = Math.ceil(n / batch);
  const nf = opts.train.featureNames.length;
  let lastCost: TrainingCost | null = null;
  for (let epoch = ckpt?.epochsDone ?? 0; epoch < opts.epochs; epoch++) {
    const started = Date.now();
    const order = epochOrder(opts.train.count, opts.seed, epoch);
    let lossSum = 0;
    let correct = 0;
    let lr = 0;
    for (let b = 0; b < batches; b++) {
      const idx = order.subarray(b * batch, Math.min(n, (b + 1) * batch));
      lr = Math.fround(t.optimizer.lr * t.optimizer.gamma ** ((epoch * batches + b) / batches));
      const samples = [...idx].map((i) => ({ features: opts.train.features.subarray(i * nf, (i + 1) * nf), label: opts.train.labels[i] }));
      const out = trainer.runBatch(samples, { update: true, lr, slots, batchSize: idx.length });
      out.forEach((o, s) => {
        lossSum += o.ce + o.r;
        if (o.prediction === samples[s].label) correct++;
      });
    }
    const cost = trainer.takeCost();
    lastCost = cost;
    const row: Record<string, number> = { epoch: epoch + 1, lr, trainLoss: lossSum / n, trainAccuracy: correct / n };
    if (opts.validation) {
      const v = opts.validation;
      const sim = trainer.sim.run(v.features, v.count, v.labels);
      row.validationAccuracy = sim.samples.filter((s) => s.prediction === s.label).length / v.count;
    }
    Object.assign(row, costColumns(cost, n), { wallSeconds: (Date.now() - started) / 1000 });
    history.push(row);
    const weights = trainer.weights();
    const accuracy = row.validationAccuracy ?? row.trainAccuracy;
    if (!opts.validation || !best || accuracy > best.accuracy) best = { epoch: epoch + 1, accuracy, weights };
    const state: ChipTrainingState = trainer.state();
    writeFileAtomic(opts.checkpointPath, toJsonText({ format: 's2prop-chip-checkpoint', version: 1, settings, epochsDone: epoch + 1, state, best, history } satisfies ChipCheckpoint));
    opts.onEpoch?.(history);
  }
  if (!best) throw new UserError(`--epochs: the run had no epoch to train (checkpoint already at ${ckpt?.epochsDone} epochs)`);
  return { model: chipModel({ info, loss, weights: best.weights, opts, epochs: history.length, bestEpoch: best.epoch, batch }), history, bestEpoch: best.epoch, lastCost };
}

