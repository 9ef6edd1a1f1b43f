import * as tf from '@tensorflow/tfjs-core';

/** The smallest normal float32, 2^-126 (exactly representable, so the comparison below is exact). */
export const FLT_MIN = 2 ** -126;

/**
 * The subnormal rule: a new state value whose magnitude is below 2^-126 (a float32 subnormal, or a
 * negative zero) becomes +0. Devices that flush subnormals to zero (TensorFlow's CPU threads, GPU
 * kernels built with flush-to-zero) and devices that keep them then compute the same numbers. NaN is kept.
 */
export function flushSubnormal(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.where(tf.less(tf.abs(x), FLT_MIN), tf.zerosLike(x), x));
}
