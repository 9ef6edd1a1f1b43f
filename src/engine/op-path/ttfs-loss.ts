import * as tf from '@tensorflow/tfjs-core';
import type { TtfsLoss, TtfsLossAttrs } from '../ttfs-loss-kernel.js';

/**
 * The time-to-first-spike loss of `ttfsLossKernel` (same inputs, attributes and outputs) as plain tf ops:
 *
 * inputs: s bool [B, T, N] output spikes, labels int32 [B] (sample b uses losses[floor(b / (B / K))])
 * outputs: firstSpikes int32 [B, N] (T when silent), terms float32 [B, 2] (CE, R per sample),
 *          e float32 [B, T, N] (dL/dt_n at step t_n; none when t_n >= T-1)
 *
 * The kernel computes in float64 and stores float32; tf ops are float32, so the formulas are arranged to
 * lose as little as possible (first spikes are exact integers; with t_min the earliest first spike):
 * - softmax exponents -(t_n - t_min)/xi, one rounding each, so the earliest neurons get exactly 1;
 * - CE = (t_c - t_min)/xi + log1p(sum - 1), where sum - 1 is summed without the ones (small CE keeps
 *   its digits instead of vanishing in 1 + tiny);
 * - R = alpha * expm1(t_c / tau1) (the loss's alpha);
 * - log1p and expm1 built from log and exp (Kahan's formulas below): backends differ in these two ops
 *   (the wasm backend's log1p is log(1 + x) in float32, which loses the small CE again).
 * - the label's 1 - p_c as (sum of the other exponentials) / sum, not as a difference near 1.
 */
export function ttfsLossOps([s, labels]: tf.Tensor[], attrs: TtfsLossAttrs): tf.Tensor[] {
  const { losses, batchSize } = attrs;
  const [B, T, N] = s.shape;
  const K = losses.length;
  if (K < 1 || B % K !== 0) throw new Error(`a batch of ${B} samples does not split into ${K} trials`);
  const perTrial = B / K;
  /** One loss number per sample, [B, 1] (computed in double, rounded once to float32). */
  const perSample = (f: (l: TtfsLoss) => number) =>
    tf.tensor2d(Array.from({ length: B }, (_, b) => f(losses[Math.floor(b / perTrial)])), [B, 1]);
  return tf.tidy(() => {
    // First spike per neuron: the smallest step index where it spiked, T when silent. In float32 (exact
    // integers): TensorFlow keeps int32 tensors of GPU ops in host memory.
    const stepIndex = tf.reshape(tf.range(0, T, 1, 'float32'), [1, T, 1]);
    const t = tf.min(tf.where(s, stepIndex, tf.scalar(T)), 1); // [B, N]
    const isLabel = tf.equal(tf.reshape(tf.range(0, N, 1, 'int32'), [1, N]), tf.reshape(labels, [B, 1])); // [B, N]
    const zero = tf.scalar(0);
    const xi = perSample((l) => l.xi);
    const tMin = tf.min(t, 1, true); // [B, 1]
    const tc = tf.sum(tf.where(isLabel, t, zero), 1, true); // [B, 1], exact
    // p = softmax(-t / xi), from exponents relative to the earliest spike.
    const ez = tf.exp(tf.neg(tf.div(tf.sub(t, tMin), xi)));
    const isMin = tf.equal(t, tMin);
    const ones = tf.sum(tf.cast(isMin, 'float32'), 1, true);
    const sumMinusOne = tf.add(tf.sum(tf.where(isMin, zero, ez), 1, true), tf.sub(ones, 1));
    const sum = tf.add(sumMinusOne, 1);
    const p = tf.div(ez, sum);
    const ce = tf.add(tf.div(tf.sub(tc, tMin), xi), log1p(sumMinusOne));
    const tcOverTau = tf.div(tc, perSample((l) => l.tau1));
    const expTc = tf.exp(tcOverTau);
    const reg = tf.mul(perSample((l) => l.alpha), expm1(tcOverTau, expTc));
    const terms = tf.concat([ce, reg], 1);
    // dL/dt_n = ((1[n = c] - p_n) / xi + 1[n = c] * (alpha / tau1) * exp(t_c / tau1)) / batchSize
    const oneMinusPc = tf.div(tf.sum(tf.where(isLabel, zero, ez), 1, true), sum);
    const ceGrad = tf.div(tf.where(isLabel, tf.broadcastTo(oneMinusPc, [B, N]), tf.neg(p)), xi);
    const regGrad = tf.mul(perSample((l) => l.alpha / l.tau1), expTc); // [B, 1]
    const grad = tf.div(tf.add(ceGrad, tf.where(isLabel, tf.broadcastTo(regGrad, [B, N]), zero)), batchSize);
    // Placed at step t_n; never at step T-1 (the mask's last step index is -1) nor when silent (t_n = T).
    const placeIndex = tf.reshape(tf.concat([tf.range(0, T - 1, 1, 'float32'), tf.tensor1d([-1])]), [1, T, 1]);
    const at = tf.equal(placeIndex, tf.reshape(t, [B, 1, N]));
    const e = tf.where(at, tf.reshape(grad, [B, 1, N]), zero);
    return [tf.cast(t, 'int32'), terms, e];
  });
}

/**
 * log(1 + x) for x >= 0 to a few ulps from an accurate log (Kahan): with u = fl(1 + x), x when u = 1,
 * else log(u) * x / (u - 1) (the rounding of 1 + x cancels in the ratio).
 */
function log1p(x: tf.Tensor): tf.Tensor {
  const u = tf.add(x, 1);
  return tf.where(tf.equal(u, 1), x, tf.div(tf.mul(tf.log(u), x), tf.sub(u, 1)));
}

/** exp(x) - 1 for x >= 0 from u = exp(x) (Kahan): x when u = 1, else (u - 1) * x / log(u). */
function expm1(x: tf.Tensor, u: tf.Tensor): tf.Tensor {
  return tf.where(tf.equal(u, 1), x, tf.div(tf.mul(tf.sub(u, 1), x), tf.log(u)));
}
