import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset.js';
import { batchRaster, encodeDataset, encodedInputs, type LatencyEncoding } from '../data/encoding.js';
import { disposeTrace, gradients, forward, stackedTtfsLoss, ttfsLoss, type EngineNetwork, type ForwardTrace, type StackedNetwork } from '../engine/network.js';
import { predictedClass } from '../numerics/prediction.js';
import { rastersOnDevice, readTogether } from './readback.js';

/** A data set ready for the engine: spike step per input per sample, labels, sizes. */
export interface EncodedSet {
  encoded: Int32Array;
  labels: Int32Array;
  count: number;
  inputs: number;
  steps: number;
}

/** Encode a data set once for the engine. */
export function encodeSet(ds: Dataset, enc: LatencyEncoding): EncodedSet {
  return { encoded: encodeDataset(ds, enc), labels: ds.labels, count: ds.count, inputs: encodedInputs(ds.featureNames.length, enc), steps: enc.steps };
}

/** What one batch gives back to the host. */
export interface BatchOutcome {
  /** Sum over the batch of CE and of R (divide by the count for means). */
  ceSum: number;
  rSum: number;
  correct: number;
  predictions: Int32Array;
  firstSpikes: Int32Array;
}

/** Prediction = argmin first-spike step, ties to the lowest index (docs/contract.md). */
export function predict(firstSpikes: Int32Array, outputs: number): Int32Array {
  const B = firstSpikes.length / outputs;
  const pred = new Int32Array(B);
  for (let b = 0; b < B; b++) pred[b] = predictedClass(firstSpikes, b * outputs, outputs);
  return pred;
}

export function summarise(terms: Float32Array, first: Int32Array, labels: ArrayLike<number>, outputs: number): BatchOutcome {
  let ceSum = 0;
  let rSum = 0;
  for (let b = 0; b < labels.length; b++) {
    ceSum += terms[2 * b];
    rSum += terms[2 * b + 1];
  }
  const predictions = predict(first, outputs);
  let correct = 0;
  for (let b = 0; b < labels.length; b++) if (predictions[b] === labels[b]) correct++;
  return { ceSum, rSum, correct, predictions, firstSpikes: first };
}

export function batchLabels(set: EncodedSet, order: ArrayLike<number>): Int32Array {
  return Int32Array.from(order as ArrayLike<number>, (s) => set.labels[s]);
}

/**
 * Encoded sets uploaded for forming batches on the device: spike steps [count, inputs] int32 and
 * labels [count] int32, uploaded once per set on first use. Kept until `releaseDeviceSet` (the trainers
 * and `evaluateModel` release the sets they encode when they finish; a set nobody releases keeps its
 * two small tensors for the process).
 */
const deviceSets = new WeakMap<EncodedSet, { encoded: tf.Tensor2D; labels: tf.Tensor1D }>();

function deviceSet(set: EncodedSet): { encoded: tf.Tensor2D; labels: tf.Tensor1D } {
  let d = deviceSets.get(set);
  if (!d) {
    d = { encoded: tf.tensor2d(set.encoded, [set.count, set.inputs], 'int32'), labels: tf.tensor1d(set.labels, 'int32') };
    deviceSets.set(set, d);
  }
  return d;
}

/** Dispose the device copies of these encoded sets (a later batch uploads them again). */
export function releaseDeviceSet(...sets: EncodedSet[]): void {
  for (const set of sets) {
    const d = deviceSets.get(set);
    if (d) tf.dispose([d.encoded, d.labels]);
    deviceSets.delete(set);
  }
}

/**
 * The input raster of a batch formed on the device: raster[b, i, k] = encoded[order[b], k] == i, bool
 * [B, steps, inputs] (a step of -1 or >= steps gives no spike), as `batchRaster` forms it on the host.
 */
export function deviceRaster(encoded: tf.Tensor2D, steps: number, order: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, inputs] = [order.shape[0], encoded.shape[1]];
    const rows = tf.reshape(tf.gather(encoded, order), [B, 1, inputs]);
    return tf.equal(rows, tf.reshape(tf.range(0, steps, 1, 'int32'), [1, steps, 1])) as tf.Tensor3D;
  });
}

/**
 * The input raster [K * B, steps, inputs] and labels [K * B] of trials k = 0 .. K - 1 taking the
 * samples `orders[k]` of `sets[k]`, one trial after another: on the host (cpu, wasm) or, on GPU
 * backends, from the device copies of the sets (one gather when all trials share one set).
 */
export function batchInputs(sets: EncodedSet[], orders: ArrayLike<number>[]): { input: tf.Tensor3D; labels: Int32Array; labelT: tf.Tensor1D } {
  const K = sets.length;
  const B = orders[0].length;
  const { inputs, steps } = sets[0];
  const labels = new Int32Array(K * B);
  sets.forEach((set, k) => labels.set(batchLabels(set, orders[k]), k * B));
  if (rastersOnDevice()) {
    const uploaded = sets.map(deviceSet); // outside the tidy: kept
    const gathered = tf.tidy(() => {
      const one = (set: EncodedSet, order: Int32Array) => {
        const d = uploaded[sets.indexOf(set)];
        const orderT = tf.tensor1d(order, 'int32');
        return { input: deviceRaster(d.encoded, steps, orderT), labelT: tf.gather(d.labels, orderT) as tf.Tensor1D };
      };
      if (sets.every((s) => s === sets[0])) {
        const all = new Int32Array(K * B);
        orders.forEach((o, k) => all.set(o, k * B));
        return one(sets[0], all);
      }
      const parts = sets.map((set, k) => one(set, Int32Array.from(orders[k])));
      return { input: tf.concat(parts.map((p) => p.input)) as tf.Tensor3D, labelT: tf.concat(parts.map((p) => p.labelT)) as tf.Tensor1D };
    });
    return { ...gathered, labels };
  }
  let raster: Uint8Array;
  if (K === 1) raster = batchRaster(sets[0].encoded, inputs, steps, orders[0]);
  else {
    raster = new Uint8Array(K * B * steps * inputs);
    sets.forEach((set, k) => raster.set(batchRaster(set.encoded, inputs, steps, orders[k]), k * B * steps * inputs));
  }
  return { input: tf.tensor3d(raster, [K * B, steps, inputs], 'bool'), labels, labelT: tf.tensor1d(labels, 'int32') };
}

/**
 * A batch's outcome not yet read: loss terms [K * B, 2] and first spikes [K * B, outputs] on the device,
 * for K trials of B samples one after another (K = 1 but for stacked batches). `readOutcomes` reads and
 * disposes them.
 */
export interface PendingOutcome {
  terms: tf.Tensor;
  firstSpikes: tf.Tensor;
  labels: Int32Array;
  outputs: number;
  trials: number;
}

/** The trials' outcomes of a pending outcome from its values read back. */
export function outcomesOf(p: PendingOutcome, terms: ArrayLike<number>, first: ArrayLike<number>): BatchOutcome[] {
  const B = p.labels.length / p.trials;
  const t = terms instanceof Float32Array ? terms : Float32Array.from(terms);
  const f = first instanceof Int32Array ? first : Int32Array.from(first);
  return Array.from({ length: p.trials }, (_, k) =>
    summarise(t.subarray(2 * k * B, 2 * (k + 1) * B), f.slice(k * B * p.outputs, (k + 1) * B * p.outputs), p.labels.subarray(k * B, (k + 1) * B), p.outputs),
  );
}

/** Dispose pending outcomes without reading them. */
export function disposePending(pending: PendingOutcome[]): void {
  for (const p of pending) tf.dispose([p.terms, p.firstSpikes]);
}

/**
 * Read pending outcomes (one download for all of them when there are several) and dispose their
 * tensors; per pending outcome, its trials' outcomes.
 */
export async function readOutcomes(pending: PendingOutcome[]): Promise<BatchOutcome[][]> {
  try {
    if (pending.length === 1) {
      const [p] = pending;
      const [terms, first] = await Promise.all([p.terms.data(), p.firstSpikes.data()]);
      return [outcomesOf(p, terms, first)];
    }
    const values = await readTogether(pending.flatMap((p) => [p.terms, p.firstSpikes]));
    return pending.map((p, i) => outcomesOf(p, values[2 * i], values[2 * i + 1]));
  } finally {
    disposePending(pending);
  }
}

/**
 * Forward and loss for trials k = 0 .. K - 1 taking the samples `orders[k]` of `sets[k]` (K = 1 but for
 * a stacked network), and with `wantGrads` the backward pass: returns the gradients (the caller disposes
 * them) and the outcome unread. `onTrace` may use the forward trace before it is disposed. Reads
 * nothing back from the device.
 */
export function runBatchPending(
  net: EngineNetwork | StackedNetwork,
  sets: EncodedSet[],
  orders: ArrayLike<number>[],
  wantGrads: boolean,
  onTrace?: (trace: ForwardTrace) => void,
): { grads: tf.Tensor[]; pending: PendingOutcome } {
  const { input, labels, labelT } = batchInputs(sets, orders);
  const trace = forward(net, input);
  const last = trace.spikes[trace.spikes.length - 1];
  const loss = 'loss' in net ? ttfsLoss(net, last, labelT) : stackedTtfsLoss(net, last, labelT);
  const grads = wantGrads ? gradients<tf.Tensor2D | tf.Tensor3D>(net, trace, loss, labelT) : [];
  onTrace?.(trace);
  const W = net.weights[net.weights.length - 1];
  disposeTrace(trace);
  tf.dispose([input, labelT, loss.errors]);
  return { grads, pending: { terms: loss.terms, firstSpikes: loss.firstSpikes, labels, outputs: W.shape[W.shape.length - 1], trials: sets.length } };
}

/**
 * Forward and loss for the samples in `order`, and with `wantGrads` the backward pass: returns the
 * gradients (the caller disposes them) and the batch outcome. `onTrace` may read the forward trace
 * before it is disposed.
 */
export async function runBatch(
  net: EngineNetwork,
  set: EncodedSet,
  order: ArrayLike<number>,
  wantGrads: boolean,
  onTrace?: (trace: ForwardTrace) => void,
): Promise<{ grads: tf.Tensor2D[]; outcome: BatchOutcome }> {
  const { grads, pending } = runBatchPending(net, [set], [order], wantGrads, onTrace);
  const [[outcome]] = await readOutcomes([pending]);
  return { grads: grads as tf.Tensor2D[], outcome };
}
