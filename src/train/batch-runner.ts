import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset.js';
import { batchRaster, encodeDataset, encodedInputs, type LatencyEncoding } from '../data/encoding.js';
import { backward, disposeTrace, forward, ttfsLoss, type EngineNetwork, type ForwardTrace } from '../engine/network.js';

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

/** Prediction = argmin first-spike step, ties to the lowest index (eventprop.md). */
export function predict(firstSpikes: Int32Array, outputs: number): Int32Array {
  const B = firstSpikes.length / outputs;
  const pred = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let n = 1; n < outputs; n++) if (firstSpikes[b * outputs + n] < firstSpikes[b * outputs + best]) best = n;
    pred[b] = best;
  }
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
 * Forward and loss for the samples in `order`, and with `wantGrads` the backward pass: returns the
 * gradients (the caller disposes them) and the batch outcome. `onTrace` may read the forward trace
 * before it is disposed.
 */
export function runBatch(
  net: EngineNetwork,
  set: EncodedSet,
  order: ArrayLike<number>,
  wantGrads: boolean,
  onTrace?: (trace: ForwardTrace) => void,
): { grads: tf.Tensor2D[]; outcome: BatchOutcome } {
  const labels = batchLabels(set, order);
  const raster = batchRaster(set.encoded, set.inputs, set.steps, order);
  const input = tf.tensor3d(raster, [order.length, set.steps, set.inputs], 'bool');
  const labelT = tf.tensor1d(labels, 'int32');
  const trace = forward(net, input);
  const loss = ttfsLoss(net, trace.spikes[trace.spikes.length - 1], labelT);
  const grads = wantGrads ? backward(net, trace, loss.errors) : [];
  onTrace?.(trace);
  const outputs = net.weights[net.weights.length - 1].shape[1];
  const terms = loss.terms.dataSync() as Float32Array;
  const outcome = summarise(terms, loss.firstSpikes.dataSync() as Int32Array, labels, outputs);
  disposeTrace(trace);
  tf.dispose([input, labelT, loss.firstSpikes, loss.terms, loss.errors]);
  return { grads, outcome };
}
