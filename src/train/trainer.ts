import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import type { Dataset } from '../data/dataset.js';
import { epochOrder } from '../data/epoch-order.js';
import { checkDatasetFits, classCount, classCoverage, loadDataset, SPLITS, type DataSpec, type Split } from '../data/sources.js';
import { checkMemory } from '../engine/memory-estimate.js';
import type { CalibrationProgress, CalibrationReport } from '../quant/calibrated-rounding.js';
import { quantiseModel } from '../quant/model-quantisation.js';
import { dequantise, quantiseLayer } from '../quant/quantise.js';
import { networkFromModel, uploadWeights, weightsToArrays } from '../engine/model-network.js';
import type { EngineNetwork } from '../engine/network.js';
import { UserError } from '../errors.js';
import { initModel } from '../model/init.js';
import { modelInputs, modelOutputs } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { checkModelAgrees, TrainConfigSchema, type TrainConfig } from '../model/train-config.js';
import { disposePending, encodeSet, readOutcomes, releaseDeviceSet, runBatchPending, type BatchOutcome, type EncodedSet, type PendingOutcome } from './batch-runner.js';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from './checkpoint.js';
import { evaluate, type Evaluation } from './evaluate.js';
import { Optimizer, scheduledLr } from './optimizer.js';
import { readsPerBatch } from './readback.js';

/** One row of the metrics log. */
export type EpochMetrics = Record<string, number>;

export type TrainProgress =
  | { type: 'calibrated'; report: CalibrationReport & { data: string }; validationAccuracy: number }
  | { type: 'start'; epoch: number; epochs: number; batches: number }
  /** Something legitimate but worth knowing about the run (a split without some class). */
  | { type: 'warning'; message: string }
  /**
   * After each batch; with the running training loss and accuracy of the epoch only where reading them
   * per batch is free (cpu, wasm: `readsPerBatch`). GPU backends read the outcomes once per epoch.
   */
  | { type: 'batch'; epoch: number; batch: number; batches: number; loss?: number; accuracy?: number }
  | { type: 'epoch'; metrics: EpochMetrics; history: EpochMetrics[]; best: boolean };

export interface TrainOptions {
  config: TrainConfig;
  data: DataSpec;
  /** Name of the backend in use, for provenance and to check a resumed run uses the same one. */
  backend: string;
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
  /**
   * Called after each batch's update with that batch's gradients, per layer (disposed after the call;
   * read them synchronously): for diagnostics such as gradient norms (scripts/diagnose-training.mjs).
   */
  onGradients?: (epoch: number, batch: number, grads: readonly tf.Tensor2D[]) => void;
}

export interface TrainResult {
  /** The best-validation model, with its provenance and metrics. */
  model: ModelFile;
  history: EpochMetrics[];
  bestEpoch: number;
  validation: Evaluation;
  test: Evaluation;
}

export { epochOrder } from '../data/epoch-order.js';

/** The config as stored in checkpoints and provenance; `epochs` may change on resume. */
function configKey(config: TrainConfig): string {
  const { epochs: _epochs, ...rest } = config;
  return JSON.stringify(rest);
}

export function withWeights(model: ModelFile, weights: number[][][]): ModelFile {
  return { ...model, layers: weights.map((w) => ({ weights: w })) };
}

/** The float master weights as a network (never quantised: the optimiser updates these). */
function masterNetwork(template: ModelFile, weights: number[][][]): EngineNetwork {
  const { quantisation: _quantisation, ...float } = withWeights(template, weights);
  return networkFromModel(float);
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

/** The best epoch so far of a run (its master weights), as checkpoints keep it. */
export type BestEpoch = NonNullable<Checkpoint['best']>;

/** The metrics row of an epoch: training sums over the epoch's batches, the validation of its end. */
export function epochMetrics(
  epoch: number,
  lr: number,
  train: { ceSum: number; rSum: number; correct: number; count: number },
  val: Evaluation,
  trainSeconds: number,
  evalSeconds: number,
): EpochMetrics {
  const metrics: EpochMetrics = {
    epoch,
    lr,
    trainLoss: (train.ceSum + train.rSum) / train.count,
    trainAccuracy: train.correct / train.count,
    validationLoss: val.loss,
    validationAccuracy: val.accuracy,
  };
  val.spikesPerSample.forEach((s, l) => (metrics[`spikesPerSample${l + 1}`] = s));
  val.silentNeurons.forEach((s, l) => (metrics[`silentNeurons${l + 1}`] = s));
  metrics.trainSeconds = trainSeconds;
  metrics.evalSeconds = evalSeconds;
  return metrics;
}

/** Model selection: a higher validation accuracy, or the same with a lower validation loss. */
export function improves(val: Evaluation, best: BestEpoch | null): boolean {
  return !best || val.accuracy > best.accuracy || (val.accuracy === best.accuracy && val.loss < best.loss);
}

/**
 * The result of a run: the model of the best validation epoch (its master weights; the network runs
 * them quantised when the model records a quantisation), with its validation and, for it alone, test
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

/**
 * Train on the train split, select the epoch with the best validation accuracy (ties: lower validation
 * loss, then the earlier epoch), and report the test split for that model only.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { config } = opts;
  const sets = {} as Record<Split, Dataset>;
  for (const split of SPLITS) sets[split] = loadDataset(opts.data[split]);
  const features = sets.train.featureNames;
  if (opts.init) checkModelAgrees(opts.init.model, config, opts.init.path);
  // A model trained on from has its classes fixed by its outputs.
  const classes = opts.init ? modelOutputs(opts.init.model) : classCount(sets.train);
  for (const split of SPLITS) checkDatasetFits(sets[split], features, classes);
  const enc = { steps: config.steps, tMin: config.encoding.tMin, tMax: config.encoding.tMax ?? config.steps - 1, bias: config.encoding.bias };
  checkTrainingMemory(config, features.length + (enc.bias ? 1 : 0), classes, 1, opts.backend);
  for (const message of classCoverage(sets, classes, !opts.init)) opts.onProgress?.({ type: 'warning', message });
  const trainSet = encodeSet(sets.train, enc);
  const validationSet = encodeSet(sets.validation, enc);
  let testSet: EncodedSet | undefined;

  let template = initModel(config, trainSet.inputs, classes, features);
  if (opts.init) {
    checkInitFitsData(opts.init, trainSet.inputs, features);
    template = withWeights(template, opts.init.model.layers.map((l) => l.weights));
    template.provenance = { ...template.provenance!, initModel: opts.init.path };
  }
  let weights = template.layers.map((l) => l.weights);
  let ckpt: Checkpoint | null = null;
  if (opts.resume) {
    if (!opts.checkpointPath || !existsSync(opts.checkpointPath)) {
      throw new UserError(`--resume: no checkpoint at ${opts.checkpointPath ?? '(none given)'} to resume from`);
    }
    ckpt = loadCheckpoint(opts.checkpointPath);
    // Parsed, so that settings written before a key existed get its default (quant: float32).
    const saved = TrainConfigSchema.safeParse(ckpt.config);
    const what = !saved.success || configKey(saved.data) !== configKey(config)
      ? 'settings'
      : JSON.stringify(ckpt.data) !== JSON.stringify(opts.data)
        ? 'data'
        : ckpt.backend !== opts.backend
          ? `backend (${ckpt.backend})`
          : ckpt.initModel !== opts.init?.path
            ? `init model (${ckpt.initModel ?? 'none'})`
            : null;
    if (what) throw new UserError(`${opts.checkpointPath}: written by a run with different ${what}; resume with the same ones or start afresh`);
    weights = ckpt.weights;
  }

  // Straight-through fake quantisation: forward, backward and validation run the dequantised copies of
  // the master weights; the gradient they give updates the master weights unchanged. Training on from a
  // model with quant.rounding calibrated starts from its calibrated rounding: the master weights start at
  // the calibrated values, each layer keeps the exponent calibration chose (a resumed run reads them from
  // the checkpoint), and the candidates for selection are the calibrated roundings of the start and of
  // every epoch's master weights, the networks a calibrated export would run. Otherwise the percentile
  // rule chooses the exponents every batch and the candidates are round-to-nearest.
  const q = config.quant;
  const qType = q.type === 'float32' ? null : q.type;
  const calibrated = qType !== null && opts.init !== undefined && q.rounding === 'calibrated';
  let exponents: number[] | undefined = ckpt?.quantExponents;
  let calibration: (CalibrationReport & { data: string }) | null = null;
  if (calibrated && qType && !ckpt) {
    const cal = quantiseModel(withWeights(template, weights), qType, q.clipPercentile, 'calibrated', sets.train, { onProgress: opts.onCalibration });
    weights = cal.layers.map(dequantise);
    exponents = cal.layers.map((l) => l.exp);
    calibration = cal.calibration;
  }
  const runWeights = (w: number[][][]): number[][][] =>
    qType ? w.map((layer, l) => dequantise(quantiseLayer(layer, qType, q.clipPercentile, exponents?.[l]))) : w;
  const net = masterNetwork(template, weights);
  /** Run `fn` on the network with these weights (the master weights, quantised, by default). */
  const withRunNetwork = async <T>(fn: (run: EngineNetwork) => T | Promise<T>, runAs?: number[][][]): Promise<T> => {
    if (!qType && !runAs) return fn(net);
    const run: EngineNetwork = { ...net, weights: uploadWeights(runAs ?? runWeights(await weightsToArrays(net.weights))) };
    try {
      return await fn(run);
    } finally {
      tf.dispose(run.weights);
    }
  };
  /** An epoch's candidate: the calibrated rounding of the master weights with the run's exponents. */
  const candidate = (master: number[][][]): number[][][] =>
    calibrated && qType ? quantiseModel(withWeights(template, master), qType, q.clipPercentile, 'calibrated', sets.train, { exponents, onProgress: opts.onCalibration }).layers.map(dequantise) : master;
  const optimizer = new Optimizer(config.optimizer, net.weights.map((w) => w.shape as [number, number]), ckpt?.optimizer);
  const history: EpochMetrics[] = ckpt ? [...ckpt.history] : [];
  let best = ckpt?.best ?? null;
  const batches = Math.ceil(trainSet.count / config.batch);
  if (calibration) {
    // The calibrated start is a candidate for selection too (epoch 0): fine-tuning keeps it unless an
    // epoch does better on validation.
    const val = await withRunNetwork((run) => evaluate(run, validationSet, config.evalBatch));
    best = { epoch: 0, accuracy: val.accuracy, loss: val.loss, weights };
    opts.onProgress?.({ type: 'calibrated', report: calibration, validationAccuracy: val.accuracy });
  }

  try {
    for (let epoch = ckpt?.epochsDone ?? 0; epoch < config.epochs; epoch++) {
      opts.onProgress?.({ type: 'start', epoch: epoch + 1, epochs: config.epochs, batches });
      const order = epochOrder(trainSet.count, config.seed, epoch);
      let ceSum = 0;
      let rSum = 0;
      let correct = 0;
      let lr = config.optimizer.lr;
      const add = (outcome: BatchOutcome) => {
        ceSum += outcome.ceSum;
        rSum += outcome.rSum;
        correct += outcome.correct;
      };
      // Where reads are free each batch's outcome is read at once (for the running numbers of the
      // progress bar); on GPU backends the outcomes stay on the device until the end of the epoch, read
      // in one download and summed in the same order.
      const perBatch = readsPerBatch();
      const t0 = performance.now();
      let pending: PendingOutcome[] = [];
      try {
        for (let b = 0; b < batches; b++) {
          const idx = order.subarray(b * config.batch, Math.min((b + 1) * config.batch, trainSet.count));
          const { grads, pending: p } = await withRunNetwork((run) => runBatchPending(run, [trainSet], [idx], true));
          lr = scheduledLr(config.optimizer, epoch * batches + b, batches);
          optimizer.apply(net.weights, grads as tf.Tensor2D[], lr);
          opts.onGradients?.(epoch + 1, b + 1, grads as tf.Tensor2D[]);
          tf.dispose(grads);
          if (perBatch) {
            const [[outcome]] = await readOutcomes([p]);
            add(outcome);
            const seen = Math.min((b + 1) * config.batch, trainSet.count);
            opts.onProgress?.({ type: 'batch', epoch: epoch + 1, batch: b + 1, batches, loss: (ceSum + rSum) / seen, accuracy: correct / seen });
          } else {
            pending.push(p);
            opts.onProgress?.({ type: 'batch', epoch: epoch + 1, batch: b + 1, batches });
          }
        }
        const read = pending;
        pending = [];
        for (const [outcome] of await readOutcomes(read)) add(outcome);
      } finally {
        disposePending(pending);
      }
      const trainSeconds = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      const current = await weightsToArrays(net.weights);
      const selectable = candidate(current);
      const val = await withRunNetwork((run) => evaluate(run, validationSet, config.evalBatch), calibrated ? selectable : undefined);
      const evalSeconds = (performance.now() - t1) / 1000;
      const metrics = epochMetrics(epoch + 1, lr, { ceSum, rSum, correct, count: trainSet.count }, val, trainSeconds, evalSeconds);
      history.push(metrics);
      const isBest = improves(val, best);
      if (isBest) best = { epoch: epoch + 1, accuracy: val.accuracy, loss: val.loss, weights: selectable };
      if (opts.checkpointPath) {
        saveCheckpoint(opts.checkpointPath, {
          format: 's2prop-checkpoint',
          version: 1,
          config: config as unknown as Record<string, unknown>,
          data: opts.data,
          features,
          classes,
          backend: opts.backend,
          ...(opts.init ? { initModel: opts.init.path } : {}),
          epochsDone: epoch + 1,
          ...(exponents ? { quantExponents: exponents } : {}),
          weights: current,
          optimizer: await optimizer.state(),
          best,
          history,
        });
      }
      opts.onProgress?.({ type: 'epoch', metrics, history, best: isBest });
      if (await opts.afterEpoch?.(metrics, history)) break;
    }
    if (!best) throw new UserError(`--epochs: the run had no epoch to train (checkpoint already at ${ckpt?.epochsDone} epochs)`);

    // With fixed exponents the model holds the quantised weights themselves (mantissas times 2^exp) with
    // clip percentile 100: the percentile rule then reproduces them exactly (the largest magnitude
    // M * 2^exp gives an exponent e' <= exp with M * 2^(exp - e') <= max, so every weight is again a whole
    // mantissa), and eval, grad and export run that network.
    const selected = exponents ? { ...best, weights: runWeights(best.weights) } : best;
    if (exponents && qType) template = { ...template, quantisation: { type: qType, clipPercentile: 100 } };
    testSet = encodeSet(sets.test, enc);
    return await selectedResult({ template, best: selected, config, backend: opts.backend, data: opts.data, history, validationSet, testSet });
  } finally {
    net.weights.forEach((w) => w.dispose());
    optimizer.dispose();
    releaseDeviceSet(trainSet, validationSet, ...(testSet ? [testSet] : []));
  }
}
