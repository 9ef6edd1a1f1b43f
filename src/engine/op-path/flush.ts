import * as tf from '@tensorflow/tfjs-core';
import { FLT_MIN } from '../../numerics/flush.js';

/**
 * The subnormal rule (numerics/flush.ts) as tf ops, for backends without the in-place kernels: values
 * whose magnitude is below 2^-126 (subnormals and -0) become +0; NaN is kept. `min` and `zeros` may be
 * passed in to save the two ops that make them when the same shapes are flushed every step.
 */
export function flushTensor<T extends tf.Tensor>(x: T, min?: tf.Scalar, zeros?: tf.Tensor): T {
  return tf.tidy(() => tf.where(tf.less(tf.abs(x), min ?? tf.scalar(FLT_MIN, 'float32')), zeros ?? tf.zerosLike(x), x) as T);
}
