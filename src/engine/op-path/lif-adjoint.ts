import * as tf from '@tensorflow/tfjs-core';
import type { LifAdjointAttrs } from '../lif-adjoint-kernel.js';
import { trialLayout } from '../trial-axis.js';
import { flushTensor } from './flush.js';

/**
 * The adjoint pass of `lifAdjointKernel` (same inputs, attributes and outputs) as plain tf ops:
 *
 * inputs: sIn bool [B, T, Nin], s bool [B, T, N], D float32 [B, T, N], e float32 [B, T, N], W [Nin, N]
 *         or [K, Nin, N] (sample b belongs to trial floor(b / (B / K)))
 * outputs: G float32 shaped as W, epsIn float32 [B, T, Nin] ([0] if not wanted)
 *
 * The reverse-time recurrence runs as elementwise ops per step, operation for operation the kernel's
 * (lamI[i] = alpha*lamI[i+1] + (1-alpha)*lamV[i+1]; lamV[i] = beta*lamV[i+1], plus
 * (lamV[i+1] + e[i+1]) / (D[i+1] + eps) where s[i+1]), with the subnormal rule (flush.ts) on every new
 * lamI and lamV; lamI[T-1] = lamV[T-1] = 0. Then two matMuls over the whole window:
 * - eps_in[i] = W . (lamV[i+1] - lamI[i+1]), kept only where the input spiked at step i (eps_in[T-1] = 0);
 * - G = -sum over samples (of the trial) and steps of outer(s_in[i], tauSyn * lamI[i]).
 * lamI and lamV are bit for bit the kernel's; eps_in and G differ from it only by the summation order
 * and precision of the matMul (the kernel adds in float32, eps_in in ascending neuron index, G over
 * samples then steps in reverse).
 */
export function lifAdjointOps([sIn, s, D, e, W]: tf.Tensor[], attrs: LifAdjointAttrs): tf.Tensor[] {
  const { alpha, beta, oneMinusAlpha, eps, tauSynSeconds, wantEpsIn } = attrs;
  const [B, T, Nin] = sIn.shape;
  const { trials: K, perTrial, neurons: N } = trialLayout(B, W.shape);
  return tf.tidy(() => {
    const steps = (x: tf.Tensor) => tf.unstack(tf.transpose(x, [1, 0, 2])); // T tensors [B, N]
    const sSteps = steps(s);
    const eSteps = steps(e);
    const denSteps = steps(tf.add(D, eps));
    const zeros = tf.zeros([B, N]);
    const lamIs: tf.Tensor[] = new Array(T).fill(zeros);
    const diffs: tf.Tensor[] = new Array(T).fill(zeros); // diffs[i] = lamV[i+1] - lamI[i+1]
    let lamI = zeros;
    let lamV = zeros;
    for (let i = T - 2; i >= 0; i--) {
      const [diff, newLamI, newLamV] = tf.tidy(() => {
        const decayed = tf.mul(lamV, beta);
        const jump = tf.div(tf.add(lamV, eSteps[i + 1]), denSteps[i + 1]);
        return [
          wantEpsIn ? tf.sub(lamV, lamI) : zeros,
          flushTensor(tf.add(tf.mul(lamI, alpha), tf.mul(lamV, oneMinusAlpha))),
          flushTensor(tf.where(sSteps[i + 1], tf.add(decayed, jump), decayed)),
        ];
      });
      if (lamV !== zeros) lamV.dispose(); // lamI is kept in lamIs
      diffs[i] = diff;
      lamIs[i] = lamI = newLamI;
      lamV = newLamV;
    }
    // G = -sum outer(s_in[i], tauSyn * lamI[i]): one (batched) matMul over samples and steps.
    const spikes = tf.cast(sIn, 'float32');
    const g = tf.mul(tf.stack(lamIs, 1), tauSynSeconds); // [B, T, N]
    const G =
      W.rank === 2
        ? tf.matMul(tf.reshape(spikes, [B * T, Nin]), tf.reshape(g, [B * T, N]), true, false)
        : tf.matMul(tf.reshape(spikes, [K, perTrial * T, Nin]), tf.reshape(g, [K, perTrial * T, N]), true, false);
    if (!wantEpsIn) return [tf.neg(G), tf.zeros([0])];
    // eps_in[i] = W . diffs[i] where the input spiked at step i.
    const diff = tf.stack(diffs, 1); // [B, T, N]
    const epsAll =
      W.rank === 2
        ? tf.matMul(tf.reshape(diff, [B * T, N]), W as tf.Tensor2D, false, true)
        : tf.matMul(tf.reshape(diff, [K, perTrial * T, N]), W as tf.Tensor3D, false, true);
    const epsIn = tf.where(sIn, tf.reshape(epsAll, [B, T, Nin]), tf.scalar(0));
    return [tf.neg(G), epsIn];
  });
}
