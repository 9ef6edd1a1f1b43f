import * as tf from '@tensorflow/tfjs-core';
import type { ForwardTrace, StackedNetwork } from '../engine/network.js';
import { readOutcomes, runBatchPending, type BatchOutcome, type EncodedSet } from './batch-runner.js';
import { evaluateSets, type Evaluation } from './evaluate.js';

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
 */
export async function evaluateStacked(net: StackedNetwork, sets: EncodedSet[], batchSize: number): Promise<Evaluation[]> {
  return evaluateSets(net, sets, batchSize);
}
