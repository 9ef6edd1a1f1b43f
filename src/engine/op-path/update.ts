import * as tf from '@tensorflow/tfjs-core';
import type { UpdateAttrs } from '../update-kernel.js';
import { flushTensor } from './flush.js';

/**
 * The stacked optimiser update of `updateKernel` (same inputs, attributes and outputs) as plain tf ops:
 * Adam (PyTorch's formulation) or SGD with momentum, L2 weight decay added to the gradient first, every
 * trial with its own numbers (broadcast as [K, 1, 1] over [K, Nin, N]). The float32 operations of the
 * kernel, in its order, so the results are bit for bit the kernel's; then the subnormal rule (flush.ts)
 * on the new W, m and v.
 *
 * inputs: W, G, m, v float32 [K, Nin, N] (v: [0] for SGD)
 * outputs: new W, new m, new v (v: [0] for SGD)
 */
export function updateOps([W, G, M, V]: tf.Tensor[], a: UpdateAttrs): tf.Tensor[] {
  const K = W.shape[0];
  return tf.tidy(() => {
    const perTrial = (values: number[]) => tf.tensor3d(values.slice(0, K), [K, 1, 1]);
    const decays = tf.tensor3d(a.weightDecay.slice(0, K).map((wd) => wd > 0), [K, 1, 1], 'bool');
    const g = tf.where(decays, tf.add(G, tf.mul(W, perTrial(a.weightDecay))), G);
    if (a.type === 'sgd') {
      const buf = tf.add(tf.mul(M, perTrial(a.momentum)), g);
      const newW = tf.sub(W, tf.mul(buf, perTrial(a.lr)));
      return [flushTensor(newW), flushTensor(buf), tf.zeros([0])];
    }
    const m = tf.add(tf.mul(M, perTrial(a.beta1)), tf.mul(g, perTrial(a.oneMinusBeta1)));
    const v = tf.add(tf.mul(V, perTrial(a.beta2)), tf.mul(tf.square(g), perTrial(a.oneMinusBeta2)));
    const mHat = tf.div(m, perTrial(a.biasCorrection1));
    const vHat = tf.div(v, perTrial(a.biasCorrection2));
    const step = tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), perTrial(a.eps))), perTrial(a.lr));
    return [flushTensor(tf.sub(W, step)), flushTensor(m), flushTensor(v)];
  });
}
