import * as tf from '@tensorflow/tfjs-core';
import { checkDatasetFits, loadDataset } from '../data/sources.js';
import { networkFromModel } from '../engine/model-network.js';
import type { EngineNetwork, ForwardTrace } from '../engine/network.js';
import { modelInputs, modelOutputs } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { encodeSet, outcomesOf, releaseDeviceSet, runBatchPending, type BatchOutcome, type EncodedSet, type PendingOutcome } from './batch-runner.js';
import { readTogether } from './readback.js';

export interface Evaluation {
  count: number;
  accuracy: number;
  /** Mean CE + mean regulariser, as the training loss. */
  loss: number;
  /** confusion[label][prediction] */
  confusion: number[][];
  /** Mean number of spikes per sample in each layer (hidden layers, then the output layer). */
  spikesPerSample: number[];
  /** Neurons of each layer that never spiked on this data. */
  silentNeurons: number[];
  predictions: Int32Array;
  /** First-spike steps, [count][outputs] flattened (T when silent). */
  firstSpikes: Int32Array;
}

/**
 * An evaluation summed batch by batch, in batch order (shared by `evaluate` and the stacked evaluation,
 * so that both add the same numbers in the same order).
 */
export class EvaluationTally {
  private readonly outputs: number;
  private readonly spikeTotals: number[];
  private readonly fired: Uint8Array[];
  private readonly confusion: number[][];
  private readonly predictions: Int32Array;
  private readonly firstSpikes: Int32Array;
  private ceSum = 0;
  private rSum = 0;
  private correct = 0;

  constructor(
    private readonly set: EncodedSet,
    private readonly sizes: number[],
  ) {
    this.outputs = sizes[sizes.length - 1];
    this.spikeTotals = new Array<number>(sizes.length).fill(0);
    this.fired = sizes.map((n) => new Uint8Array(n));
    this.confusion = Array.from({ length: this.outputs }, () => new Array<number>(this.outputs).fill(0));
    this.predictions = new Int32Array(set.count);
    this.firstSpikes = new Int32Array(set.count * this.outputs);
  }

  /** Add a batch's spike counts per neuron of layer `l` (`counts[j]`: the spikes of neuron j). */
  addCounts(l: number, counts: ArrayLike<number>): void {
    for (let j = 0; j < counts.length; j++) {
      if (counts[j] !== 0) {
        this.spikeTotals[l] += counts[j];
        this.fired[l][j] = 1;
      }
    }
  }

  /** Add the outcome of the batch of samples `order`, which start at position `start` of the set. */
  addBatch(start: number, order: ArrayLike<number>, outcome: BatchOutcome): void {
    this.ceSum += outcome.ceSum;
    this.rSum += outcome.rSum;
    this.correct += outcome.correct;
    this.predictions.set(outcome.predictions, start);
    this.firstSpikes.set(outcome.firstSpikes, start * this.outputs);
    for (let b = 0; b < order.length; b++) {
      const label = this.set.labels[order[b]];
      if (label < this.outputs) this.confusion[label][outcome.predictions[b]]++;
    }
  }

  result(): Evaluation {
    const { set } = this;
    return {
      count: set.count,
      accuracy: this.correct / set.count,
      loss: (this.ceSum + this.rSum) / set.count,
      confusion: this.confusion,
      spikesPerSample: this.spikeTotals.map((t) => t / set.count),
      silentNeurons: this.fired.map((f) => f.length - f.reduce((a, b) => a + b, 0)),
      predictions: this.predictions,
      firstSpikes: this.firstSpikes,
    };
  }
}

/** The samples of an evaluation batch: positions start .. start + size - 1 of the set, in order. */
export function evaluationOrder(start: number, count: number, batchSize: number): Int32Array {
  return Int32Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i);
}

/**
 * The spikes per neuron of each layer of a forward trace, summed over samples and steps on the device:
 * float32 [trials * N_l] per layer (a stacked batch holds `trials` trials' samples one after another).
 * Exact: integers of at most B * T per neuron, far below 2^24. The sum is a product with a row of ones
 * (on cpu and wasm several times faster than a sum over an inner axis).
 */
export function spikeCounts(trace: ForwardTrace, trials = 1): tf.Tensor1D[] {
  // On WebGPU a cast of bool to float32 only relabels the buffer, whose int32 bits later shaders read
  // as floats (sums of zero): a select gives real floats there. Elsewhere the cast is right, and much
  // faster than a select.
  const select = tf.getBackend() === 'webgpu';
  return tf.tidy(() =>
    trace.spikes.slice(1).map((s) => {
      const [KB, T, N] = s.shape;
      const steps = (KB / trials) * T;
      const ones = select ? tf.where(s, tf.scalar(1, 'float32'), tf.scalar(0, 'float32')) : tf.cast(s, 'float32');
      return tf.reshape(tf.matMul(tf.ones([trials, 1, steps]), tf.reshape(ones, [trials, steps, N])), [trials * N]) as tf.Tensor1D;
    }),
  );
}

/** An evaluation batch not yet read: its outcome and spike counts per layer on the device. */
export interface PendingEvaluationBatch {
  start: number;
  order: Int32Array;
  pending: PendingOutcome;
  counts: tf.Tensor[];
}

export function disposeEvaluationBatches(batches: PendingEvaluationBatch[]): void {
  for (const b of batches) tf.dispose([b.pending.terms, b.pending.firstSpikes, ...b.counts]);
}

/** Read all the batches in one download (and dispose them): each trial's outcome and the spike counts. */
export async function readEvaluationBatches(
  batches: PendingEvaluationBatch[],
): Promise<{ start: number; order: Int32Array; outcomes: BatchOutcome[]; counts: (Float32Array | Int32Array)[] }[]> {
  try {
    const values = await readTogether(batches.flatMap((b) => [b.pending.terms, b.pending.firstSpikes, ...b.counts]));
    let i = 0;
    return batches.map((b) => {
      const outcomes = outcomesOf(b.pending, values[i], values[i + 1]);
      const counts = values.slice(i + 2, i + 2 + b.counts.length);
      i += 2 + b.counts.length;
      return { start: b.start, order: b.order, outcomes, counts };
    });
  } finally {
    disposeEvaluationBatches(batches);
  }
}

/**
 * Run the network over a whole data set in batches of `batchSize`; no gradients. The batches' results
 * stay on the device until the end, read in one download.
 */
export async function evaluate(net: EngineNetwork, set: EncodedSet, batchSize: number): Promise<Evaluation> {
  const sizes = net.weights.map((w) => w.shape[1]);
  const batches: PendingEvaluationBatch[] = [];
  try {
    for (let start = 0; start < set.count; start += batchSize) {
      const order = evaluationOrder(start, set.count, batchSize);
      let counts: tf.Tensor[] = [];
      const { pending } = runBatchPending(net, [set], [order], false, (trace) => (counts = spikeCounts(trace)));
      batches.push({ start, order, pending, counts });
    }
  } catch (e) {
    disposeEvaluationBatches(batches);
    throw e;
  }
  const tally = new EvaluationTally(set, sizes);
  for (const { start, order, outcomes, counts } of await readEvaluationBatches(batches)) {
    counts.forEach((c, l) => tally.addCounts(l, c));
    tally.addBatch(start, order, outcomes[0]);
  }
  return tally.result();
}

/** Evaluate a model file on a data set (`yinyang:<split>` or a CSV), encoded with the model's own encoding. */
export async function evaluateModel(model: ModelFile, dataSpec: string, batchSize: number): Promise<Evaluation> {
  const ds = loadDataset(dataSpec);
  const enc = { steps: model.steps, ...model.encoding };
  checkDatasetFits(ds, model.features ?? modelInputs(model) - (enc.bias ? 1 : 0), modelOutputs(model));
  const net = networkFromModel(model);
  const set = encodeSet(ds, enc);
  try {
    return await evaluate(net, set, batchSize);
  } finally {
    net.weights.forEach((w) => w.dispose());
    releaseDeviceSet(set);
  }
}
