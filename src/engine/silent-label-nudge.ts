import * as tf from '@tensorflow/tfjs-core';
import { silentLabelNudgeOps } from './op-path/silent-label-nudge.js';
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
 * Returns the term to add to the output layer's gradient, [H, N] for K = 1 or [K, H, N]: the typed
 * kernel where typed kernels run in place (cpu, wasm: it reads only the silent samples), else tf ops
 * (webgpu; on tensorflow runTypedKernel takes the op path), with the same bits.
 */
export function silentLabelNudge(inputs: tf.Tensor3D, firstSpikes: tf.Tensor2D, labels: tf.Tensor1D, nudges: number[], batchSize: number): tf.Tensor {
  const attrs = { nudges, batchSize };
  const [term] = tf.getBackend() === 'webgpu' ? silentLabelNudgeOps([inputs, firstSpikes, labels], attrs) : runTypedKernel(silentLabelNudgeKernel, [inputs, firstSpikes, labels], attrs);
  return term;
}
