import type * as tf from '@tensorflow/tfjs-core';
import { silentLabelNudgeKernel } from './silent-label-nudge-kernel.js';
import { runTypedKernel } from './typed-kernel.js';

/**
 * The silent-label nudge, a gradient term outside the contract (docs/contract.md, docs/training-collapse.md):
 * a label neuron that gets no error on a sample (first spike at T-1 or none) would otherwise get nothing
 * back from that sample, and once a label neuron is silent on most samples it cannot recover. For each
 * such sample b of class c the nudge adds, to dL/dW[k][c] of the output layer,
 *
 *   -(nudge / B) * n_k(b),   n_k(b) = the number of spikes of input k (a last hidden neuron) in sample b,
 *
 * the gradient of -(nudge / B) times the summed weight of the spikes that reached c: it raises the
 * weights of the inputs that spiked until c fires again, and then the contract's own error takes over.
 *
 * inputs: the output layer's input spikes [K*B, T, H] (bool), its first spikes [K*B, N] (int32, T when
 * silent), labels [K*B] (int32); one nudge per trial (K of them) and B per trial.
 * Returns the term to add to the output layer's gradient, [H, N] for K = 1 or [K, H, N], with the same
 * bits on every backend: the typed kernel on cpu and wasm and its WGSL shader on webgpu read only the
 * silent samples; the native backend runs it as tf ops (op-path/silent-label-nudge.ts).
 */
export function silentLabelNudge(inputs: tf.Tensor3D, firstSpikes: tf.Tensor2D, labels: tf.Tensor1D, nudges: number[], batchSize: number): tf.Tensor {
  const [term] = runTypedKernel(silentLabelNudgeKernel, [inputs, firstSpikes, labels], { nudges, batchSize });
  return term;
}
