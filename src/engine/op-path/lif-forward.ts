import * as tf from '@tensorflow/tfjs-core';
import type { LifConstants } from '../../numerics/lif.js';
import { trialLayout } from '../trial-axis.js';
import { flushTensor } from './flush.js';

/**
 * The LIF forward pass of `lifForwardKernel` (same inputs, attributes and outputs) as plain tf ops, so
 * that it runs on the backend's own device:
 *
 * inputs: sIn bool [B, T, Nin], W float32 [Nin, N] or [K, Nin, N] (sample b uses W[floor(b / (B / K))])
 * outputs: s bool [B, T, N], D float32 [B, T, N] (I - Vpre at spikes, 0 elsewhere)
 *
 * The synaptic input of the whole window is ONE matMul ([B*T, Nin] x [Nin, N], or a batched matMul over
 * the K trials), then T - 1 steps of elementwise ops. The recurrence is the kernel's, operation for
 * operation, in float32 (I = alpha*I + x[i-1]; V = beta*V + (1-beta)*I; spike if V > threshold; D = I - V;
 * reset to 0), with the subnormal rule (flush.ts) applied to every new I and V.
 *
 * The one difference from the typed kernel is the order in which x is summed: the kernel adds the weights
 * of the inputs that spiked one by one in float32, in ascending input index; a matMul sums in the
 * backend's own order and precision (tfjs cpu: in double within blocks of 48 inputs, rounded to float32
 * after each block; a GPU: any order). x can therefore differ in its last bits, and a spike can flip when
 * V lands within those bits of the threshold.
 */
export function lifForwardOps([sIn, W]: tf.Tensor[], attrs: LifConstants): tf.Tensor[] {
  const { alpha, beta, oneMinusBeta, threshold } = attrs;
  const [B, T, Nin] = sIn.shape;
  const { trials: K, perTrial, neurons: N } = trialLayout(B, W.shape);
  return tf.tidy(() => {
    const spikes = tf.cast(sIn, 'float32');
    const x =
      W.rank === 2
        ? tf.matMul(tf.reshape(spikes, [B * T, Nin]), W as tf.Tensor2D)
        : tf.matMul(tf.reshape(spikes, [K, perTrial * T, Nin]), W as tf.Tensor3D);
    // x at every step, [B, N] each: x[i] is the input that reaches the neurons at step i + 1.
    const xSteps = tf.unstack(tf.transpose(tf.reshape(x, [B, T, N]), [1, 0, 2]));
    const zeros = tf.zeros([B, N]);
    const sSteps: tf.Tensor[] = [tf.zeros([B, N], 'bool')];
    const dSteps: tf.Tensor[] = [zeros];
    let I = zeros;
    let V = zeros;
    for (let i = 1; i < T; i++) {
      const [nI, nV, s, D] = tf.tidy(() => {
        const newI = flushTensor(tf.add(tf.mul(I, alpha), xSteps[i - 1]));
        const Vpre = flushTensor(tf.add(tf.mul(V, beta), tf.mul(newI, oneMinusBeta)));
        const spike = tf.greater(Vpre, threshold);
        return [newI, tf.where(spike, zeros, Vpre), spike, tf.where(spike, tf.sub(newI, Vpre), zeros)];
      });
      if (I !== zeros) tf.dispose([I, V]);
      I = nI;
      V = nV;
      sSteps.push(s);
      dSteps.push(D);
    }
    return [tf.stack(sSteps, 1), tf.stack(dSteps, 1)];
  });
}
