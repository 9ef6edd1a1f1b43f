import * as tf from '@tensorflow/tfjs-core';
import type { SilentLabelNudgeAttrs } from '../silent-label-nudge-kernel.js';

/**
 * `silentLabelNudgeKernel` (same inputs, attributes and output) as plain tf ops, for the native
 * `tensorflow` backend: an integer matrix product over the samples, exact in float32 while the counts
 * stay below 2^24, scaled once per trial, so it gives the kernel's bits. It reads every sample and
 * makes float copies of the spikes; the kernels read only the silent samples.
 */
export function silentLabelNudgeOps([s, firstSpikes, labels]: tf.Tensor[], { nudges, batchSize }: SilentLabelNudgeAttrs): tf.Tensor[] {
  return [
    tf.tidy(() => {
      const [KB, T, H] = s.shape;
      const N = firstSpikes.shape[1]!;
      const K = nudges.length;
      const counts = tf.sum(zeroOne(s), 1); // [K*B, H]
      const silentLabel = zeroOne(tf.logicalAnd(tf.equal(tf.oneHot(labels as tf.Tensor1D, N), 1), tf.greaterEqual(firstSpikes, T! - 1))); // [K*B, N]
      if (K === 1) return tf.mul(tf.matMul(counts, silentLabel, true, false), tf.scalar(-nudges[0] / batchSize));
      const B = KB! / K;
      const summed = tf.matMul(tf.reshape(counts, [K, B, H!]), tf.reshape(silentLabel, [K, B, N]), true, false); // [K, H, N]
      return tf.mul(summed, tf.tensor3d(nudges.map((n) => -n / batchSize), [K, 1, 1]));
    }),
  ];
}

/**
 * A bool tensor as float32 0/1. Not `tf.cast`: in tfjs 4.22 casting bool or int32 up to float32 keeps
 * the integer bits on webgpu (and wasm's float32 oneHot writes integer bits), so later float ops read
 * nonsense there.
 */
function zeroOne(b: tf.Tensor): tf.Tensor {
  return tf.where(b, tf.ones(b.shape), tf.zeros(b.shape));
}
