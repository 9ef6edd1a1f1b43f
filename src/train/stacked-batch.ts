import * as tf from '@tensorflow/tfjs-core';
import { batchRaster } from '../data/encoding.js';
import { backward, disposeTrace, forward, stackedTtfsLoss, type ForwardTrace, type StackedNetwork } from '../engine/network.js';
import { batchLabels, summarise, type BatchOutcome, type EncodedSet } from './batch-runner.js';
import { evaluationOrder, EvaluationTally, type Evaluation } from './evaluate.js';

/**
 * `runBatch` for stacked trials: trial k runs the samples `orders[k]` of its own encoded set `sets[k]`
 * (all orders of one length, all sets of one input width and T). One input raster [K * B, T, Nin] with
 * the trials' samples one trial after another, one forward, loss and backward pass for all of them;
 * returns the gradients [K, Nin, N] per layer (the caller disposes them) and each trial's outcome.
 */
export function runStackedBatch(
  net: StackedNetwork,
  sets: EncodedSet[],
  orders: ArrayLike<number>[],
  wantGrads: boolean,
  onTrace?: (trace: ForwardTrace) => void,
): { grads: tf.Tensor3D[]; outcomes: BatchOutcome[] } {
  const K = sets.length;
  const B = orders[0].length;
  const { inputs, steps } = sets[0];
  const raster = new Uint8Array(K * B * steps * inputs);
  const labels = new Int32Array(K * B);
  sets.forEach((set, k) => {
    raster.set(batchRaster(set.encoded, inputs, steps, orders[k]), k * B * steps * inputs);
    labels.set(batchLabels(set, orders[k]), k * B);
  });
  const input = tf.tensor3d(raster, [K * B, steps, inputs], 'bool');
  const labelT = tf.tensor1d(labels, 'int32');
  const trace = forward(net, input);
  const loss = stackedTtfsLoss(net, trace.spikes[trace.spikes.length - 1], labelT);
  const grads = wantGrads ? backward(net, trace, loss.errors) : [];
  onTrace?.(trace);
  const outputs = net.weights[net.weights.length - 1].shape[2];
  const terms = loss.terms.dataSync() as Float32Array;
  const first = loss.firstSpikes.dataSync() as Int32Array;
  const outcomes = sets.map((_, k) =>
    summarise(terms.subarray(2 * k * B, 2 * (k + 1) * B), first.slice(k * B * outputs, (k + 1) * B * outputs), labels.subarray(k * B, (k + 1) * B), outputs),
  );
  disposeTrace(trace);
  tf.dispose([input, labelT, loss.firstSpikes, loss.terms, loss.errors]);
  return { grads, outcomes };
}

/**
 * `evaluate` for stacked trials: trial k over its own encoded set `sets[k]` (all of one size), in
 * batches of `batchSize` samples per trial; each trial's evaluation equals `evaluate` of it alone.
 */
export function evaluateStacked(net: StackedNetwork, sets: EncodedSet[], batchSize: number): Evaluation[] {
  const sizes = net.weights.map((w) => w.shape[2]);
  const count = sets[0].count;
  const tallies = sets.map((set) => new EvaluationTally(set, sizes));
  for (let start = 0; start < count; start += batchSize) {
    const order = evaluationOrder(start, count, batchSize);
    const B = order.length;
    const { outcomes } = runStackedBatch(net, sets, sets.map(() => order), false, (trace) => {
      for (let l = 0; l < sizes.length; l++) {
        const s = trace.spikes[l + 1].dataSync();
        const perTrial = B * sets[0].steps * sizes[l];
        tallies.forEach((t, k) => t.addSpikes(l, s, k * perTrial, (k + 1) * perTrial));
      }
    });
    tallies.forEach((t, k) => t.addBatch(start, order, outcomes[k]));
  }
  return tallies.map((t) => t.result());
}
