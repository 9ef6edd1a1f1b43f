import * as tf from '@tensorflow/tfjs-core';
import type { ForwardTrace, StackedNetwork } from '../engine/network.js';
import { readOutcomes, runBatchPending, type BatchOutcome, type EncodedSet } from './batch-runner.js';
import { evaluationOrder, EvaluationTally, spikeCounts, disposeEvaluationBatches, readEvaluationBatches, type Evaluation, type PendingEvaluationBatch } from './evaluate.js';

/**
 * `runBatch` for stacked trials: trial k runs the samples `orders[k]` of its own encoded set `sets[k]`
 * (all orders of one length, all sets of one input width and T). One input raster [K * B, T, Nin] with
 * the trials' samples one trial after another, one forward, loss and backward pass for all of them;
 * returns the gradients [K, Nin, N] per layer (the caller disposes them) and each trial's outcome.
 * (`runBatchPending` gives the outcome unread.)
 */
export async function runStackedBatch(
  net: StackedNetwork,
  sets: EncodedSet[],
  orders: ArrayLike<number>[],
  wantGrads: boolean,
  onTrace?: (trace: ForwardTrace) => void,
): Promise<{ grads: tf.Tensor3D[]; outcomes: BatchOutcome[] }> {
  const { grads, pending } = runBatchPending(net, sets, orders, wantGrads, onTrace);
  const [outcomes] = await readOutcomes([pending]);
  return { grads: grads as tf.Tensor3D[], outcomes };
}

/**
 * `evaluate` for stacked trials: trial k over its own encoded set `sets[k]` (all of one size), in
 * batches of `batchSize` samples per trial; each trial's evaluation equals `evaluate` of it alone.
 * The batches' results stay on the device until the end, read in one download.
 */
export async function evaluateStacked(net: StackedNetwork, sets: EncodedSet[], batchSize: number): Promise<Evaluation[]> {
  const sizes = net.weights.map((w) => w.shape[2]);
  const count = sets[0].count;
  const batches: PendingEvaluationBatch[] = [];
  try {
    for (let start = 0; start < count; start += batchSize) {
      const order = evaluationOrder(start, count, batchSize);
      let counts: tf.Tensor[] = [];
      const { pending } = runBatchPending(net, sets, sets.map(() => order), false, (trace) => (counts = spikeCounts(trace, sets.length)));
      batches.push({ start, order, pending, counts });
    }
  } catch (e) {
    disposeEvaluationBatches(batches);
    throw e;
  }
  const tallies = sets.map((set) => new EvaluationTally(set, sizes));
  for (const { start, order, outcomes, counts } of await readEvaluationBatches(batches)) {
    tallies.forEach((t, k) => {
      counts.forEach((c, l) => t.addCounts(l, c.subarray(k * sizes[l], (k + 1) * sizes[l])));
      t.addBatch(start, order, outcomes[k]);
    });
  }
  return tallies.map((t) => t.result());
}
