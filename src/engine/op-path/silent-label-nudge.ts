import * as tf from '@tensorflow/tfjs-core';
import type { SilentLabelNudgeAttrs } from '../silent-label-nudge-kernel.js';

/**
 * `silentLabelNudgeKernel` (same inputs, attributes and output) as plain tf ops, for the native
 * `tensorflow` backend: an integer matrix product over the samples, exact in float32 while the counts
 * stay below 2^24, scaled once per trial, so it gives the kernel's bits. It reads every sample and
 * makes a float copy of the spikes; the kernels read only the silent samples. Not for webgpu: there
 * tfjs 4.22 casts bool and int32 up to float32 by keeping their integer bits (its own WGSL kernel
 * serves webgpu).
 */
export function silentLabelNudgeOps([s, firstSpikes, labels]: tf.Tensor[], { nudges, batchSize }: SilentLabelNudgeAttrs): tf.Tensor[] {
  return [
    tf.tidy(() => {
      const [KB, T, H] = s.shape;
      const N = firstSpikes.shape[1]!;
      const K = nudges.length;
      const counts = tf.sum(tf.cast(s, 'float32'), 1); // [K*B, H]
      const silentLabel = tf.cast(tf.logicalAnd(tf.equal(tf.oneHot(labels as tf.Tensor1D, N), 1), tf.greaterEqual(firstSpikes, T! - 1)), 'float32'); // [K*B, N]
      if (K === 1) return tf.mul(tf.matMul(counts, silentLabel, true, false), tf.scalar(-nudges[0] / batchSize));
      const B = KB! / K;
      const summed = tf.matMul(tf.reshape(counts, [K, B, H!]), tf.reshape(silentLabel, [K, B, N]), true, false); // [K, H, N]
      return tf.mul(summed, tf.tensor3d(nudges.map((n) => -n / batchSize), [K, 1, 1]));
    }),
  ];
}

