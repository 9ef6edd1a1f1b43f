import { existsSync } from 'node:fs';
import type { Dataset } from '../data/dataset.js';
import { checkDatasetFits, classCount, classCoverage, loadDataset, SPLITS, type DataSpec, type Split } from '../data/sources.js';
import { checkMemory } from '../engine/memory-estimate.js';
import { networkFromModel } from '../engine/model-network.js';
import { UserError } from '../errors.js';
import { initModel } from '../model/init.js';
import { modelInputs, modelOutputs } from '../model/model-file.js';
import { neuronConstants } from '../model/neuron.js';
import type { ModelFile } from '../model/schema.js';
import { checkModelAgrees, TrainConfigSchema, withCurrentNames, type TrainConfig } from '../model/train-config.js';
import type { CalibrationProgress, CalibrationReport } from '../quant/calibrated-rounding.js';
import { quantiseModel } from '../quant/model-quantisation.js';
import { dequantise, quantiseLayer } from '../quant/quantise.js';
import { encodeSet, releaseDeviceSet, type EncodedSet } from './batch-runner.js';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from './checkpoint.js';
import { EngineLearner, type EngineTrial } from './engine-learner.js';
import { evaluate, type Evaluation } from './evaluate.js';
import { runTrials, type BestEpoch, type EpochMetrics, type LoopProgress, type LoopResult, type TrialGroup } from './loop.js';

export type { BestEpoch, EpochMetrics, TrialGroup };
export { epochOrder } from '../data/epoch-order.js';

export type TrainProgress =
  | { type: 'calibrated'; report: CalibrationReport & { data: string }; validationAccuracy: number }
  /** Something legitimate but worth knowing about the run (a split without some class). */
  | { type: 'warning'; message: string }
  | LoopProgress;

/** One training run: its settings and what the caller wants to see of it. */
export interface TrialRun {
  config: TrainConfig;
  /** Where to write the checkpoint after every epoch (none when absent). */
  checkpointPath?: string;
  /** Continue from the checkpoint at `checkpointPath`. */
  resume?: boolean;
  /**
   * Start from this model's weights instead of a fresh initialisation (`train --init`); `path` names it
   * in errors and provenance. Its hidden sizes, steps, neuron and encoding must agree with `config`.
   */
  init?: { path: string; model: ModelFile };
  onProgress?: (p: TrainProgress) => void;
  /** Progress of the calibrated roundings a quantised fine-tuning runs (its start, and each epoch's candidate). */
  onCalibration?: (p: CalibrationProgress) => void;
  /**
   * Awaited after every epoch (the event loop runs there, so timers such as a sweep worker's heartbeat
   * fire between epochs); resolving to true stops training early (a pruned sweep trial). The model is
   * then selected among the epochs run so far.
   */
  afterEpoch?: (metrics: EpochMetrics, history: EpochMetrics[]) => Promise<boolean | void> | boolean | void;
  /** Runs of one group stop together on its decision (the seeds of a multi-seed sweep trial). */
  group?: TrialGroup;
  /**
   * Called after each batch's update with that batch's gradients, per layer (disposed after the call;
   * read them synchronously): for diagnostics such as gradient norms (scripts/diagnose-training.mjs).
   */
  onGradients?: EngineTrial['onGradients'];
}

export interface TrainOptions extends TrialRun {
  data: DataSpec;
  /** Name of the backend in use, for provenance and to check a resumed run uses the same one. */
  backend: string;
}

export interface TrainResult {
  /** The best-validation model, with its provenance and metrics. */
  model: ModelFile;
  history: EpochMetrics[];
  bestEpoch: number;
  validation: Evaluation;
  test: Evaluation;
}

export interface StackOptions {
  runs: TrialRun[];
  /** One data set for all runs. */
  data: DataSpec;
  backend: string;
  /** At most this many runs train at once (default: as many as `runs` holds). */
  capacity?: number;
  /** Asked at every epoch boundary while places are free: runs to start now (each with the stack's `stackKey`). */
  refill?: (free: number) => Promise<TrialRun[]> | TrialRun[];
  /** Called as soon as a run ends (its epochs done, or stopped), before the others go on. */
  onResult?: (run: TrialRun, result: TrainResult) => Promise<void> | void;
}

/**
 * Runs with equal keys can train in one stack: what the engine's one tensor program fixes (layer sizes,
 * steps, batch size, neuron constants, bias input, optimiser type, evaluation batch).
 */
export function stackKey(config: TrainConfig): string {
  return JSON.stringify({
    hidden: config.hidden,
    steps: config.steps,
    batch: config.batch,
    neuron: neuronConstants(config.neuron),
    bias: config.encoding.bias,
    optimiser: config.optimiser.type,
    evalBatch: config.evalBatch,
  });
}

/** The config as stored in checkpoints and provenance; `epochs` may change on resume. */
function configKey(config: TrainConfig): string {
  const { epochs: _epochs, ...rest } = config;
  return JSON.stringify(rest);
}

export function withWeights(model: ModelFile, weights: number[][][]): ModelFile {
  return { ...model, layers: weights.map((w) => ({ weights: w })) };
}

/** The init model must take the data's inputs and features; its outputs are the classes. */
function checkInitFitsData(init: { path: string; model: ModelFile }, inputs: number, features: string[]): void {
  const { path, model } = init;
  if (modelInputs(model) !== inputs) {
    throw new UserError(`${path}: the model has ${modelInputs(model)} inputs, the training data give ${inputs} (${features.length} feature columns${inputs > features.length ? ' plus the bias input' : ''})`);
  }
  if (model.features && model.features.join(',') !== features.join(',')) {
    throw new UserError(`${path}: the model's features are ${model.features.join(',')}, the training data's columns are ${features.join(',')}`);
  }
}

/**
 * The result of a run: the model of the best validation epoch (its weights; the network runs them
 * quantised when the model records a quantisation), with its validation and, for it alone, test
 * evaluation, provenance and metrics.
 */
export async function selectedResult(run: {
  template: ModelFile;
  best: BestEpoch;
  config: TrainConfig;
  backend: string;
  data: DataSpec;
  history: EpochMetrics[];
  validationSet: EncodedSet;
  testSet: EncodedSet;
}): Promise<TrainResult> {
  const { best, config } = run;
  const chosen = withWeights(run.template, best.weights);
  const net = networkFromModel(chosen);
  try {
    const validation = await evaluate(net, run.validationSet, config.evalBatch);
    const test = await evaluate(net, run.testSet, config.evalBatch);
    const model: ModelFile = {
      ...chosen,
      provenance: {
        ...chosen.provenance!,
        epochs: config.epochs,
        bestEpoch: best.epoch,
        batch: config.batch,
        backend: run.backend,
        data: run.data,
        trainedOn: 'tensor-engine',
        config: config as unknown as Record<string, unknown>,
      },
      metrics: {
        bestEpoch: best.epoch,
        validationAccuracy: validation.accuracy,
        validationLoss: validation.loss,
        testAccuracy: test.accuracy,
        testLoss: test.loss,
      },
    };
    return { model, history: run.history, bestEpoch: best.epoch, validation, test };
  } finally {
    net.weights.forEach((w) => w.dispose());
  }
}

/** Refuse, before any work, a network whose tensors cannot fit (memory-estimate.ts). */
export function checkTrainingMemory(config: TrainConfig, inputs: number, classes: number, trials: number, backend: string): void {
  const sizes = [inputs, ...config.hidden, classes];
  checkMemory(
    { sizes, steps: config.steps, batch: config.batch * trials, evalBatch: config.evalBatch * trials, trials },
    backend,
    `a ${sizes.join('-')} network at ${config.steps} steps${trials > 1 ? ` (${trials} stacked trials)` : ''}`,
  );
}

/** A run made ready for the engine, with what its result needs at the end. */
interface Prepared {
  run: TrialRun;
  trial: EngineTrial;
  template: ModelFile;
  sets: Record<Split, EncodedSet>;
  /** The weights of the result for the selected epoch's. */
  resultWeights: (best: BestEpoch) => BestEpoch;
}

/** The loaded splits and their encodings, shared by the runs of a stack. */
class StackData {
  readonly sets = {} as Record<Split, Dataset>;
  private readonly encoded = new Map<string, Record<Split, EncodedSet>>();

  constructor(readonly spec: DataSpec) {
    for (const split of SPLITS) this.sets[split] = loadDataset(spec[split]);
  }

  get features(): string[] {
    return this.sets.train.featureNames;
  }

  encodedFor(config: TrainConfig): Record<Split, EncodedSet> {
    const enc = { steps: config.steps, tMin: config.encoding.tMin, tMax: config.encoding.tMax ?? config.steps - 1, bias: config.encoding.bias };
    const key = JSON.stringify(enc);
    if (!this.encoded.has(key)) this.encoded.set(key, { train: encodeSet(this.sets.train, enc), validation: encodeSet(this.sets.validation, enc), test: encodeSet(this.sets.test, enc) });
    return this.encoded.get(key)!;
  }

  release(): void {
    for (const s of this.encoded.values()) releaseDeviceSet(s.train, s.validation, s.test);
  }
}

/**
 * A run made ready: its data checked and encoded, its initial weights (fresh, `init`, or the
 * checkpoint's), and, when it trains quantised, how it runs them. Quantisation-aware training is
 * straight-through fake quantisation: forward, backward and validation run the dequantised copies of the
 * master weights; the gradient they give updates the master weights unchanged. Training on from a model
 * with quant.rounding calibrated starts from its calibrated rounding: the master weights start at the
 * calibrated values, each layer keeps the exponent calibration chose (a resumed run reads them from the
 * checkpoint), and the candidates for selection are the calibrated roundings of the start and of every
 * epoch's master weights, the networks a calibrated export would run. Otherwise the percentile rule
 * chooses the exponents every batch and the candidates are the master weights.
 */
function prepare(run: TrialRun, data: StackData, backend: string, capacity: number): Prepared {
  const { config } = run;
  const features = data.features;
  if (run.init) checkModelAgrees(run.init.model, config, run.init.path);
  // A model trained on from has its classes fixed by its outputs.
  const classes = run.init ? modelOutputs(run.init.model) : classCount(data.sets.train);
  for (const split of SPLITS) checkDatasetFits(data.sets[split], features, classes);
  checkTrainingMemory(config, features.length + (config.encoding.bias ? 1 : 0), classes, capacity, backend);
  for (const message of classCoverage(data.sets, classes, !run.init)) run.onProgress?.({ type: 'warning', message });
  const sets = data.encodedFor(config);

  let template = initModel(config, sets.train.inputs, classes, features);
  if (run.init) {
    checkInitFitsData(run.init, sets.train.inputs, features);
    template = withWeights(template, run.init.model.layers.map((l) => l.weights));
    template.provenance = { ...template.provenance!, initModel: run.init.path };
  }
  let weights = template.layers.map((l) => l.weights);
  let ckpt: Checkpoint | null = null;
  if (run.resume) {
    if (!run.checkpointPath || !existsSync(run.checkpointPath)) throw new UserError(`no checkpoint at ${run.checkpointPath ?? '(none given)'} to resume from`);
    ckpt = loadCheckpoint(run.checkpointPath);
    // Parsed, so that settings written before a key existed get its default (quant: float32).
    const saved = TrainConfigSchema.safeParse(withCurrentNames(ckpt.config));
    const what = !saved.success || configKey(saved.data) !== configKey(config)
      ? 'settings'
      : JSON.stringify(ckpt.data) !== JSON.stringify(data.spec)
        ? 'data'
        : ckpt.backend !== backend
          ? `backend (${ckpt.backend})`
          : ckpt.initModel !== run.init?.path
            ? `init model (${ckpt.initModel ?? 'none'})`
            : null;
    if (what) throw new UserError(`${run.checkpointPath}: written by a run with different ${what}; resume with the same ones or start afresh`);
    weights = ckpt.weights;
  }

  const q = config.quant;
  const qType = q.type === 'float32' ? null : q.type;
  const calibrated = qType !== null && run.init !== undefined && q.rounding === 'calibrated';
  let exponents: number[] | undefined = ckpt?.quantExponents;
  let calibration: (CalibrationReport & { data: string }) | null = null;
  if (calibrated && qType && !ckpt) {
    const cal = quantiseModel(withWeights(template, weights), qType, q.clipPercentile, 'calibrated', data.sets.train, { onProgress: run.onCalibration });
    weights = cal.layers.map(dequantise);
    exponents = cal.layers.map((l) => l.exp);
    calibration = cal.calibration;
  }
  const runAs = qType ? (w: number[][][]) => w.map((layer, l) => dequantise(quantiseLayer(layer, qType, q.clipPercentile, exponents?.[l]))) : undefined;
  const candidate = calibrated && qType
    ? (master: number[][][]) => quantiseModel(withWeights(template, master), qType, q.clipPercentile, 'calibrated', data.sets.train, { exponents, onProgress: run.onCalibration }).layers.map(dequantise)
    : undefined;
  const checkpointPath = run.checkpointPath;
  const trial: EngineTrial = {
    seed: config.seed,
    batch: config.batch,
    epochs: config.epochs,
    schedule: config.optimiser,
    count: sets.train.count,
    config,
    trainSet: sets.train,
    validationSet: sets.validation,
    weights,
    ...(ckpt ? { optimiser: ckpt.optimiser, resume: { epochsDone: ckpt.epochsDone, history: ckpt.history, best: ckpt.best } } : {}),
    ...(runAs ? { runAs } : {}),
    ...(candidate ? { candidate } : {}),
    // The calibrated start is a candidate for selection too (epoch 0): fine-tuning keeps it unless an
    // epoch does better on validation.
    ...(calibration
      ? { startIsCandidate: true, onStartCandidate: (val) => run.onProgress?.({ type: 'calibrated', report: calibration!, validationAccuracy: val!.accuracy }) }
      : {}),
    ...(run.onProgress ? { onProgress: run.onProgress } : {}),
    ...(run.afterEpoch ? { afterEpoch: run.afterEpoch } : {}),
    ...(run.group ? { group: run.group } : {}),
    ...(run.onGradients ? { onGradients: run.onGradients } : {}),
    ...(checkpointPath
      ? {
          checkpoint: (s) =>
            saveCheckpoint(checkpointPath, {
              format: 's2prop-checkpoint',
              version: 1,
              config: config as unknown as Record<string, unknown>,
              data: data.spec,
              features,
              classes,
              backend,
              ...(run.init ? { initModel: run.init.path } : {}),
              epochsDone: s.epochsDone,
              ...(exponents ? { quantExponents: exponents } : {}),
              weights: s.state.weights,
              optimiser: s.state.optimiser,
              best: s.best && { ...s.best, loss: s.best.loss! },
              history: s.history,
            }),
        }
      : {}),
  };
  // With fixed exponents the model holds the quantised weights themselves (mantissas times 2^exp) with
  // clip percentile 100: the percentile rule then reproduces them exactly (the largest magnitude
  // M * 2^exp gives an exponent e' <= exp with M * 2^(exp - e') <= max, so every weight is again a whole
  // mantissa), and eval, grad and export run that network.
  if (exponents && qType) template = { ...template, quantisation: { type: qType, clipPercentile: 100 } };
  const resultWeights = (best: BestEpoch) => (exponents && runAs ? { ...best, weights: runAs(best.weights) } : best);
  return { run, trial, template, sets, resultWeights };
}

/**
 * Train runs together as one stack on the tensor engine (the one training loop, loop.ts, with the
 * engine as its learner): each selects the epoch with the best validation accuracy (ties: lower
 * validation loss, then the earlier epoch) and reports the test split for that model only. Every run
 * gets exactly the result it gets alone (every number bit for bit; only the seconds in the metrics are
 * the stack's). Runs of one stack must share `stackKey`. Returns the results in the order the runs
 * started (given ones first).
 */
export async function trainStack(opts: StackOptions): Promise<TrainResult[]> {
  const capacity = opts.capacity ?? opts.runs.length;
  const data = new StackData(opts.data);
  const prepared = new Map<EngineTrial, Prepared>();
  let key: string | null = null;
  const ready = (runs: TrialRun[]): EngineTrial[] =>
    runs.map((run) => {
      if (key === null) key = stackKey(run.config);
      if (stackKey(run.config) !== key) throw new Error(`a run of shape ${stackKey(run.config)} cannot join a stack of ${key}`);
      const p = prepare(run, data, opts.backend, capacity);
      prepared.set(p.trial, p);
      return p.trial;
    });
  const learner = new EngineLearner();
  const results = new Map<EngineTrial, TrainResult>();
  try {
    const onEnd = async (trial: EngineTrial, r: LoopResult) => {
      const p = prepared.get(trial)!;
      const result = await selectedResult({
        template: p.template,
        best: p.resultWeights(r.best),
        config: p.run.config,
        backend: opts.backend,
        data: opts.data,
        history: r.history,
        validationSet: p.sets.validation,
        testSet: p.sets.test,
      });
      results.set(trial, result);
      await opts.onResult?.(p.run, result);
    };
    const refill = opts.refill;
    const trials = ready(opts.runs);
    await runTrials(learner, trials, { capacity, onEnd, ...(refill ? { refill: async (free: number) => ready(await refill(free)) } : {}) });
    return [...prepared.keys()].map((t) => results.get(t)!);
  } finally {
    learner.dispose();
    data.release();
  }
}

/**
 * Train one run on the train split, select the epoch with the best validation accuracy (ties: lower
 * validation loss, then the earlier epoch), and report the test split for that model only.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { data, backend, ...run } = opts;
  const [result] = await trainStack({ runs: [run], data, backend });
  return result;
}
