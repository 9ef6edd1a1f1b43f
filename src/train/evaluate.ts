import * as tf from '@tensorflow/tfjs-core';
import { checkDatasetFits, loadDataset } from '../data/sources.js';
import { checkMemory } from '../engine/memory-estimate.js';
import { networkFromModel } from '../engine/model-network.js';
import type { EngineNetwork, ForwardTrace, StackedNetwork } from '../engine/network.js';
import { modelInputs, modelOutputs } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { disposePending, encodeSet, outcomesOf, releaseDeviceSet, runBatchPending, type BatchOutcome, type EncodedSet, type PendingOutcome } from './batch-runner.js';
import { readsPerBatch, readTogether } from './readback.js';

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
 * Exact: integers of at most B * T per neuron, far below 2^24.
 */
export function spikeCounts(trace: ForwardTrace, trials = 1): tf.Tensor1D[] {
  return tf.tidy(() => {
    // 1 and 0 by a select, not a cast: on WebGPU a cast of bool to float32 only relabels the buffer,
    // whose int32 bits the sum then reads as floats (counts of zero).
    const [one, zero] = [tf.scalar(1, 'float32'), tf.scalar(0, 'float32')];
    return trace.spikes.slice(1).map((s) => {
      const [KB, T, N] = s.shape;
      return tf.reshape(tf.sum(tf.reshape(tf.where(s, one, zero), [trials, (KB / trials) * T, N]), 1), [trials * N]) as tf.Tensor1D;
    });
  });
}

/** The same counts from a spike raster [trials * B, T, N] read back: per layer [trials * N]. */
function hostSpikeCounts(s: ArrayLike<number>, trials: number, N: number): Float64Array {
  const counts = new Float64Array(trials * N);
  const perTrial = s.length / trials;
  for (let i = 0; i < s.length; i++) if (s[i] !== 0) counts[Math.floor(i / perTrial) * N + (i % N)]++;
  return counts;
}

/** An evaluation batch not yet read: its outcome, and its spike counts per layer (on the device or read). */
interface PendingEvaluationBatch {
  start: number;
  order: Int32Array;
  pending: PendingOutcome;
  counts: tf.Tensor[] | Float64Array[];
}

function disposeEvaluationBatches(batches: PendingEvaluationBatch[]): void {
  for (const b of batches) tf.dispose([b.pending.terms, b.pending.firstSpikes, ...b.counts.filter((c): c is tf.Tensor => c instanceof tf.Tensor)]);
}

/**
 * Run one evaluation batch, its results left unread. Where reading is free (cpu, wasm) the spikes are
 * read and counted here (faster there than on the device); elsewhere the counts are summed on the device.
 */
async function evaluationBatch(net: EngineNetwork | StackedNetwork, sets: EncodedSet[], start: number, order: Int32Array): Promise<PendingEvaluationBatch> {
  const K = sets.length;
  const orders = sets.map(() => order);
  if (!readsPerBatch()) {
    let counts: tf.Tensor[] = [];
    const { pending } = runBatchPending(net, sets, orders, false, (trace) => (counts = spikeCounts(trace, K)));
    return { start, order, pending, counts };
  }
  let spikes: tf.Tensor[] = [];
  const { pending } = runBatchPending(net, sets, orders, false, (trace) => (spikes = trace.spikes.slice(1).map((t) => tf.clone(t))));
  try {
    const values = await Promise.all(spikes.map((t) => t.data()));
    return { start, order, pending, counts: values.map((v, l) => hostSpikeCounts(v, K, spikes[l].shape[2]!)) };
  } catch (e) {
    disposePending([pending]);
    throw e;
  } finally {
    tf.dispose(spikes);
  }
}

/**
 * Run the network (one, or K stacked) over encoded sets (one, or one per trial, all of one size) in
 * batches of `batchSize` samples per trial; no gradients. The batches' outcomes (and on GPU backends
 * their spike counts) stay on the device until the end, read in one go; each trial's evaluation adds
 * the same numbers in the same order as evaluating it alone.
 */
export async function evaluateSets(net: EngineNetwork | StackedNetwork, sets: EncodedSet[], batchSize: number): Promise<Evaluation[]> {
  const sizes = net.weights.map((w) => w.shape[w.shape.length - 1]);
  const count = sets[0].count;
  const batches: PendingEvaluationBatch[] = [];
  try {
    for (let start = 0; start < count; start += batchSize) batches.push(await evaluationBatch(net, sets, start, evaluationOrder(start, count, batchSize)));
  } catch (e) {
    disposeEvaluationBatches(batches);
    throw e;
  }
  let values: (Float32Array | Int32Array)[];
  try {
    values = await readTogether(batches.flatMap((b) => [b.pending.terms, b.pending.firstSpikes, ...b.counts.filter((c): c is tf.Tensor => c instanceof tf.Tensor)]));
  } finally {
    disposeEvaluationBatches(batches);
  }
  const tallies = sets.map((set) => new EvaluationTally(set, sizes));
  let i = 0;
  for (const b of batches) {
    const outcomes = outcomesOf(b.pending, values[i], values[i + 1]);
    i += 2;
    const counts = b.counts.map((c) => (c instanceof tf.Tensor ? values[i++] : c));
    tallies.forEach((t, k) => {
      counts.forEach((c, l) => t.addCounts(l, c.subarray(k * sizes[l], (k + 1) * sizes[l])));
      t.addBatch(b.start, b.order, outcomes[k]);
    });
  }
  return tallies.map((t) => t.result());
}

/** Run the network over a whole data set in batches of `batchSize`; no gradients. */
export async function evaluate(net: EngineNetwork, set: EncodedSet, batchSize: number): Promise<Evaluation> {
  return (await evaluateSets(net, [set], batchSize))[0];
}

/** Evaluate a model file on a data set (`yinyang:<split>` or a CSV), encoded with the model's own encoding. */
export async function evaluateModel(model: ModelFile, dataSpec: string, batchSize: number): Promise<Evaluation> {
  const ds = loadDataset(dataSpec);
  const enc = { steps: model.steps, ...model.encoding };
  checkDatasetFits(ds, model.features ?? modelInputs(model) - (enc.bias ? 1 : 0), modelOutputs(model));
  const sizes = [modelInputs(model), ...model.layers.map((l) => l.weights[0].length)];
  checkMemory({ sizes, steps: model.steps, batch: 0, evalBatch: batchSize, trials: 1 }, tf.getBackend(), `a ${sizes.join('-')} network at ${model.steps} steps`);
  const net = networkFromModel(model);
  const set = encodeSet(ds, enc);
  try {
    return await evaluate(net, set, batchSize);
  } finally {
    net.weights.forEach((w) => w.dispose());
    releaseDeviceSet(set);
  }
}
