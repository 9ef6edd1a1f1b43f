import * as tf from '@tensorflow/tfjs-core';

/**
 * The silent-label nudge, a gradient term outside the contract (docs/training-collapse.md): a label
 * neuron that gets no error on a sample (first spike at T-1 or none) would otherwise get nothing back
 * from that sample, and once a label neuron is silent on most samples it cannot recover. For each such
 * sample b of class c the nudge adds, to dL/dW[k][c] of the output layer,
 *
 *   -(nudge / B) * n_k(b),   n_k(b) = the number of spikes of input k (a last hidden neuron) in sample b,
 *
 * which is the gradient of -(nudge / B) * (the summed weight of every spike that reached c): it raises
 * the weights of the inputs that spiked until c spikes again, and then the contract's own error takes
 * over. Computed with tensor ops on every backend: an integer matrix product (exact in float32 while the
 * counts stay below 2^24) scaled once per trial, so every backend gives the same bits.
 *
 * inputs: the output layer's input spikes [K*B, T, H] (bool), its first spikes [K*B, N] (int32, T when
 * silent), labels [K*B] (int32); one nudge per trial (K of them) and B per trial.
 * Returns the term to add to the output layer's gradient, [H, N] for K = 1 or [K, H, N].
 */
export function silentLabelNudge(inputs: tf.Tensor3D, firstSpikes: tf.Tensor2D, labels: tf.Tensor1D, nudges: number[], batchSize: number): tf.Tensor {
  return tf.tidy(() => {
    const [KB, T, H] = inputs.shape;
    const N = firstSpikes.shape[1];
    const K = nudges.length;
    const counts = tf.sum(zeroOne(inputs), 1); // [K*B, H]
    const silentLabel = zeroOne(tf.logicalAnd(tf.equal(tf.oneHot(labels, N), 1), tf.greaterEqual(firstSpikes, T - 1))); // [K*B, N]
    if (K === 1) return tf.mul(tf.matMul(counts, silentLabel, true, false), tf.scalar(-nudges[0] / batchSize));
    const B = KB / K;
    const summed = tf.matMul(tf.reshape(counts, [K, B, H]), tf.reshape(silentLabel, [K, B, N]), true, false); // [K, H, N]
    return tf.mul(summed, tf.tensor3d(nudges.map((n) => -n / batchSize), [K, 1, 1]));
  });
}

/**
 * A bool tensor as float32 0/1. Not `tf.cast`: in tfjs 4.22 casting bool or int32 up to float32 keeps
 * the integer bits on webgpu (and wasm's float32 oneHot writes integer bits), so later float ops read
 * nonsense there.
 */
function zeroOne(b: tf.Tensor): tf.Tensor {
  return tf.where(b, tf.ones(b.shape), tf.zeros(b.shape));
}
