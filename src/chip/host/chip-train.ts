import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Dataset } from '../../data/dataset.js';
import { inFile, UserError } from '../../errors.js';
import { parseWith, readJsonFile } from '../../formats/validate.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { toJsonText } from '../../io/json.js';
import type { LossSettings, ModelFile } from '../../model/schema.js';
import { OFF_CHIP_NUDGE } from '../export.js';
import { runTrials, type BatchSums, type EpochEnd, type Learner, type LoopTrial } from '../../train/loop.js';
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

/** A chip-train run as the training loop runs it (one trial: the chip trains one network). */
type ChipTrial = LoopTrial<ChipTrainingState>;

/**
 * The on-chip training programs as the loop's learner: each batch runs on the simulated chip with the
 * learning rate the host writes (rounded to float32, as the chip stores it); after each epoch, accuracy
 * on the validation data (inference on the same chip) and the epoch's cost as columns of its row.
 */
class OnChipLearner implements Learner<ChipTrial> {
  constructor(
    private readonly trainer: OnChipTrainer,
    private readonly opts: ChipTrainOptions,
    private readonly slots: number,
  ) {}

  lastCost: TrainingCost | null = null;

  join(): void {}

  keep(): void {}

  runBatch([idx]: Int32Array[], [lr]: number[]): BatchSums[] {
    const { train } = this.opts;
    const nf = train.featureNames.length;
    const samples = [...idx].map((i) => ({ features: train.features.subarray(i * nf, (i + 1) * nf), label: train.labels[i] }));
    const sums: BatchSums = { ceSum: 0, rSum: 0, correct: 0 };
    this.trainer.runBatch(samples, { update: true, lr: Math.fround(lr), slots: this.slots, batchSize: idx.length }).forEach((o, s) => {
      sums.ceSum += o.ce;
      sums.rSum += o.r;
      if (o.prediction === samples[s].label) sums.correct++;
    });
    return [sums];
  }

  async endEpoch(): Promise<EpochEnd[]> {
    const cost = this.trainer.takeCost();
    this.lastCost = cost;
    const v = this.opts.validation;
    const validation = v ? { accuracy: this.trainer.sim.run(v.features, v.count, v.labels).samples.filter((s) => s.prediction === s.label).length / v.count } : null;
    const samples = Math.min(this.opts.train.count, this.opts.samplesPerEpoch ?? Infinity);
    return [{ validation, candidate: this.trainer.weights(), columns: costColumns(cost, samples) }];
  }

  async state(): Promise<ChipTrainingState> {
    return this.trainer.state();
  }
}

/**
 * On-chip training: the training loop (train/loop.ts) with the chip as its learner: epochs of shuffled
 * batches (the off-chip trainer's order for the same seed), each batch run on the simulated chip with the
 * learning rate of the off-chip schedule, written by the host; after each epoch the validation accuracy
 * (on the same chip), a log row with the cost, and a checkpoint of the chip state, so --resume continues
 * exactly. Selection is the loop's rule; without validation data the last epoch is kept.
 */
export async function chipTrain(opts: ChipTrainOptions): Promise<ChipTrainResult> {
  const info = readDirFile(opts.dir, 'export.json', 'export', ExportFileSchema);
  const loss = info.model.loss;
  if (!loss) throw inFile(join(opts.dir, 'export.json'), 'has no model.loss (written before on-chip training existed); export the model again');
  if (loss.nudge) throw inFile(join(opts.dir, 'export.json'), `model.loss.nudge is ${loss.nudge}: ${OFF_CHIP_NUDGE}`);
  const trainer = new OnChipTrainer(opts.config, opts.dir);
  const t = trainer.training;
  const batch = opts.batch ?? t.batchSize;
  const slots = opts.slots ?? trainer.slots;
  if (slots > trainer.slots) throw new UserError(`the config has ${trainer.slots} slot(s); ${slots} asked for`);
  opts.checkData?.(info.model.features ?? trainer.sizes[0] - (info.model.encoding.bias ? 1 : 0), trainer.sizes[trainer.sizes.length - 1]);
  const settings = { seed: opts.seed, batch, slots, data: opts.train.source };
  let ckpt: ChipCheckpoint | null = null;
  if (opts.resume) {
    if (!existsSync(opts.checkpointPath)) throw new UserError(`no checkpoint ${opts.checkpointPath} to resume from`);
    ckpt = parseWith(ChipCheckpointSchema, readJsonFile(opts.checkpointPath), opts.checkpointPath);
    for (const [k, v] of Object.entries(settings)) {
      const was = ckpt.settings[k as keyof typeof settings];
      if (was !== v) throw inFile(opts.checkpointPath, `settings.${k} is ${was}, but this run has ${v}; resume with the same settings`);
    }
    trainer.restore(ckpt.state);
  }
  const learner = new OnChipLearner(trainer, opts, slots);
  const trial: ChipTrial = {
    seed: opts.seed,
    batch,
    epochs: opts.epochs,
    schedule: t.optimiser,
    count: opts.train.count,
    ...(opts.samplesPerEpoch !== undefined ? { samples: opts.samplesPerEpoch } : {}),
    ...(ckpt ? { resume: { epochsDone: ckpt.epochsDone, history: ckpt.history, best: ckpt.best } } : {}),
    checkpoint: ({ epochsDone, history, best, state }) =>
      writeFileAtomic(opts.checkpointPath, toJsonText({ format: 's2prop-chip-checkpoint', version: 1, settings, epochsDone, state, best: best && { epoch: best.epoch, accuracy: best.accuracy, weights: best.weights }, history } satisfies ChipCheckpoint)),
    onProgress: (p) => {
      if (p.type === 'epoch') opts.onEpoch?.(p.history);
    },
  };
  const [result] = await runTrials(learner, [trial]);
  const { history, best } = result;
  return { model: chipModel({ info, loss, weights: best.weights, opts, epochs: history.length, bestEpoch: best.epoch, batch }), history, bestEpoch: best.epoch, lastCost: learner.lastCost };
}
