import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset.js';
import { checkDatasetFits, classCount, loadDataset, SPLITS, type DataSpec, type Split } from '../data/sources.js';
import { runWeights } from '../engine/model-network.js';
import type { StackedNetwork } from '../engine/network.js';
import { initModel } from '../model/init.js';
import { neuronConstants } from '../model/neuron.js';
import type { ModelFile, Quantisation } from '../model/schema.js';
import type { TrainConfig } from '../model/train-config.js';
import { flushWeights } from '../numerics/flush.js';
import { disposePending, encodeSet, readOutcomes, releaseDeviceSet, runBatchPending, type BatchOutcome, type EncodedSet, type PendingOutcome } from './batch-runner.js';
import { scheduledLr } from './optimizer.js';
import { readsPerBatch } from './readback.js';
import { evaluateStacked } from './stacked-batch.js';
import { StackedOptimizer } from './stacked-optimizer.js';
import { checkTrainingMemory, epochMetrics, epochOrder, improves, selectedResult, type BestEpoch, type EpochMetrics, type TrainResult } from './trainer.js';

/**
 * Several training runs of the same network shape trained together, as one tensor program: weights
 * stacked [K, inputs, outputs] per layer (engine/trial-axis.ts), one forward, loss and backward pass and
 * one optimiser update per batch for all of them. Small networks leave most of a batch's time to
 * per-operation overhead; stacking shares it.
 *
 * Each trial keeps its own settings (learning rate and schedule, decay, betas, loss settings, initial
 * scales, seed and so its initialisation and data order, encoding times, quantisation), its own
 * validation per epoch, model selection and stop decision, and gets exactly the result `train` gives it
 * alone (every number bit for bit; only the seconds in the metrics are the stack's).
 * What must agree is `stackKey`: layer sizes, steps, batch size, neuron constants, bias input,
 * optimiser type and evaluation batch. No checkpoints, no `--init`: this is the sweep worker's trainer.
 */

/** Trials with equal keys can train in one stack. */
export function stackKey(config: TrainConfig): string {
  return JSON.stringify({
    hidden: config.hidden,
    steps: config.steps,
    batch: config.batch,
    neuron: neuronConstants(config.neuron),
    bias: config.encoding.bias,
    optimizer: config.optimizer.type,
    evalBatch: config.evalBatch,
  });
}

export interface StackedTrial {
  config: TrainConfig;
  /**
   * Awaited after each of this trial's epochs, as `TrainOptions.afterEpoch`: true stops this trial (a
   * pruned sweep trial); it leaves the stack and its result is the best of the epochs it ran.
   */
  afterEpoch?: (metrics: EpochMetrics, history: EpochMetrics[]) => Promise<boolean | void> | boolean | void;
}

export interface StackedTrainOptions {
  trials: StackedTrial[];
  /** One data set for all trials. */
  data: DataSpec;
  backend: string;
  /** At most this many trials train at once (default: as many as `trials` holds). */
  capacity?: number;
  /**
   * Asked at every epoch boundary while fewer than `capacity` trials are training, with the number of
   * free places: trials to start now (each with this stack's `stackKey`). Used by the sweep worker to
   * keep the stack full when trials finish or are pruned.
   */
  refill?: (free: number) => Promise<StackedTrial[]> | StackedTrial[];
  /** Called as soon as a trial ends (its epochs done, or stopped), before the others go on. */
  onResult?: (trial: StackedTrial, result: TrainResult) => Promise<void> | void;
}

/** One trial's place in the stack. */
interface Slot {
  trial: StackedTrial;
  config: TrainConfig;
  template: ModelFile;
  quantisation?: Quantisation;
  trainSet: EncodedSet;
  validationSet: EncodedSet;
  testSet: EncodedSet;
  /** Epochs done. */
  epoch: number;
  order: Int32Array;
  history: EpochMetrics[];
  best: BestEpoch | null;
  sums: { ceSum: number; rSum: number; correct: number };
  lr: number;
}

/** Weights [K, ...] of the trials at `indices`, then `extra` stacked after them (old tensors disposed). */
function restack(weights: tf.Tensor3D[], indices: number[], extra: number[][][][]): tf.Tensor3D[] {
  return weights.map((W, l) => {
    const out = tf.tidy((): tf.Tensor3D => {
      const parts: tf.Tensor3D[] = [];
      if (indices.length) parts.push(indices.length === W.shape[0] ? W : tf.gather(W, indices, 0));
      if (extra.length) parts.push(tf.tensor3d(extra.map((w) => w[l])));
      if (!parts.length) return tf.zeros([0, W.shape[1], W.shape[2]]);
      return parts.length === 1 ? parts[0].clone() : tf.concat(parts, 0);
    });
    W.dispose();
    return out;
  });
}

/** Train the trials together; returns their results in the order they started (given ones first). */
export async function trainStacked(opts: StackedTrainOptions): Promise<TrainResult[]> {
  const capacity = opts.capacity ?? opts.trials.length;
  const sets = {} as Record<Split, Dataset>;
  for (const split of SPLITS) sets[split] = loadDataset(opts.data[split]);
  const features = sets.train.featureNames;
  const classes = classCount(sets.train);
  for (const split of SPLITS) checkDatasetFits(sets[split], features, classes);
  const encoded = new Map<string, Record<Split, EncodedSet>>();
  const encodedFor = (config: TrainConfig): Record<Split, EncodedSet> => {
    const enc = { steps: config.steps, tMin: config.encoding.tMin, tMax: config.encoding.tMax ?? config.steps - 1, bias: config.encoding.bias };
    const key = JSON.stringify(enc);
    if (!encoded.has(key)) encoded.set(key, { train: encodeSet(sets.train, enc), validation: encodeSet(sets.validation, enc), test: encodeSet(sets.test, enc) });
    return encoded.get(key)!;
  };

  let key: string | null = null;
  let slots: Slot[] = [];
  const started: Slot[] = [];
  const results = new Map<Slot, TrainResult>();
  let net: StackedNetwork | null = null;
  let optimizer: StackedOptimizer | null = null;
  let batches = 0;

  /** New trials take their places after the current ones (fresh weights and moments). */
  const join = (trials: StackedTrial[]): void => {
    const fresh = trials.slice(0, capacity - slots.length).map((trial): Slot => {
      const { config } = trial;
      if (key === null) key = stackKey(config);
      if (stackKey(config) !== key) throw new Error(`a trial of shape ${stackKey(config)} cannot join a stack of ${key}`);
      checkTrainingMemory(config, features.length + (config.encoding.bias ? 1 : 0), classes, capacity, opts.backend);
      const s = encodedFor(config);
      return {
        trial,
        config,
        template: initModel(config, s.train.inputs, classes, features),
        ...(config.quant.type === 'float32' ? {} : { quantisation: { type: config.quant.type, clipPercentile: config.quant.clipPercentile } }),
        trainSet: s.train,
        validationSet: s.validation,
        testSet: s.test,
        epoch: 0,
        order: new Int32Array(0),
        history: [],
        best: null,
        sums: { ceSum: 0, rSum: 0, correct: 0 },
        lr: config.optimizer.lr,
      };
    });
    if (!fresh.length) return;
    const extra = fresh.map((s) => flushWeights(s.template.layers.map((l) => l.weights)));
    if (!net || !optimizer) {
      const first = fresh[0].config;
      net = { weights: extra[0].map((_, l) => tf.tensor3d(extra.map((w) => w[l]))), constants: neuronConstants(first.neuron), losses: [] };
      const shapes = extra[0].map((w) => [w.length, w[0].length] as [number, number]);
      optimizer = new StackedOptimizer(first.optimizer.type, shapes);
      batches = Math.ceil(fresh[0].trainSet.count / first.batch);
    } else {
      net.weights = restack(net.weights, slots.map((_, k) => k), extra);
    }
    optimizer.add(fresh.map((s) => s.config.optimizer));
    slots = [...slots, ...fresh];
    started.push(...fresh);
    net.losses = slots.map((s) => ({ xi: s.config.loss.xi, a: s.config.loss.alpha, tau1: s.config.loss.tau1 }));
  };

  /**
   * Run `fn` with the weights the trials run: the master weights, or, where a trial trains quantised,
   * its dequantised copy (straight-through fake quantisation, as `train` does; computed on the host).
   */
  const withRunNetwork = async <T>(fn: (run: StackedNetwork) => T | Promise<T>): Promise<T> => {
    const n = net!;
    if (!slots.some((s) => s.quantisation)) return fn(n);
    const arrays = await Promise.all(n.weights.map((w) => w.array()));
    const perTrial = slots.map((s, k) => flushWeights(runWeights(arrays.map((a) => a[k]), s.quantisation)));
    const run: StackedNetwork = { ...n, weights: arrays.map((_, l) => tf.tensor3d(perTrial.map((w) => w[l]))) };
    try {
      return await fn(run);
    } finally {
      tf.dispose(run.weights);
    }
  };

  try {
    join(opts.trials);
    while (slots.length) {
      const n = net!;
      const count = slots[0].trainSet.count;
      const batch = slots[0].config.batch;
      for (const s of slots) {
        s.order = epochOrder(count, s.config.seed, s.epoch);
        s.sums = { ceSum: 0, rSum: 0, correct: 0 };
      }
      const add = (outcomes: BatchOutcome[]) =>
        slots.forEach((s, k) => {
          s.sums.ceSum += outcomes[k].ceSum;
          s.sums.rSum += outcomes[k].rSum;
          s.sums.correct += outcomes[k].correct;
        });
      // As `train`: outcomes read per batch where that is free, else once at the end of the epoch.
      const perBatch = readsPerBatch();
      const t0 = performance.now();
      let pending: PendingOutcome[] = [];
      try {
        for (let b = 0; b < batches; b++) {
          const orders = slots.map((s) => s.order.subarray(b * batch, Math.min((b + 1) * batch, count)));
          const { grads, pending: p } = await withRunNetwork((run) => runBatchPending(run, slots.map((s) => s.trainSet), orders, true));
          const lrs = slots.map((s) => (s.lr = scheduledLr(s.config.optimizer, s.epoch * batches + b, batches)));
          optimizer!.apply(n.weights, grads as tf.Tensor3D[], lrs);
          tf.dispose(grads);
          if (perBatch) add((await readOutcomes([p]))[0]);
          else pending.push(p);
        }
        const read = pending;
        pending = [];
        for (const outcomes of await readOutcomes(read)) add(outcomes);
      } finally {
        disposePending(pending);
      }
      const trainSeconds = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      const vals = await withRunNetwork((run) => evaluateStacked(run, slots.map((s) => s.validationSet), slots[0].config.evalBatch));
      const evalSeconds = (performance.now() - t1) / 1000;
      const current = await Promise.all(n.weights.map((w) => w.array()));
      const stay: number[] = [];
      const ended: Slot[] = [];
      for (let k = 0; k < slots.length; k++) {
        const s = slots[k];
        s.epoch += 1;
        const metrics = epochMetrics(s.epoch, s.lr, { ...s.sums, count }, vals[k], trainSeconds, evalSeconds);
        s.history.push(metrics);
        if (improves(vals[k], s.best)) s.best = { epoch: s.epoch, accuracy: vals[k].accuracy, loss: vals[k].loss, weights: current.map((w) => w[k]) };
        const stop = await s.trial.afterEpoch?.(metrics, s.history);
        if (stop || s.epoch >= s.config.epochs) ended.push(s);
        else stay.push(k);
      }
      for (const s of ended) {
        const result = await selectedResult({ template: s.template, best: s.best!, config: s.config, backend: opts.backend, data: opts.data, history: s.history, validationSet: s.validationSet, testSet: s.testSet });
        results.set(s, result);
        await opts.onResult?.(s.trial, result);
      }
      if (ended.length) {
        n.weights = restack(n.weights, stay, []);
        optimizer!.keep(stay);
        slots = stay.map((k) => slots[k]);
        n.losses = stay.map((k) => n.losses[k]);
      }
      if (opts.refill && slots.length < capacity) join(await opts.refill(capacity - slots.length));
    }
    return started.map((s) => results.get(s)!);
  } finally {
    if (net) tf.dispose((net as StackedNetwork).weights);
    (optimizer as StackedOptimizer | null)?.dispose();
    for (const s of encoded.values()) releaseDeviceSet(s.train, s.validation, s.test);
  }
}
