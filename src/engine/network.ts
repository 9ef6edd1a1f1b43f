import * as tf from '@tensorflow/tfjs-core';
import type { NeuronConstants } from '../model/neuron.js';
import { lifAdjointKernel } from './lif-adjoint-kernel.js';
import { lifForwardKernel } from './lif-forward-kernel.js';
import { ttfsLossKernel } from './ttfs-loss-kernel.js';
import { runTypedKernel } from './typed-kernel.js';

/** Loss settings with the contract's names (`a` is the regulariser strength, called `alpha` in files). */
export interface TtfsLoss {
  xi: number;
  a: number;
  tau1: number;
}

/** A network as the engine runs it: weights as tensors [inputs][outputs], one per layer. */
export interface EngineNetwork {
  weights: tf.Tensor2D[];
  constants: NeuronConstants;
  loss: TtfsLoss;
}

/** Everything the backward pass needs from the forward pass; dispose with `disposeTrace`. */
export interface ForwardTrace {
  /** Spikes per layer, [B, T, N_l]; `spikes[0]` is the input raster. */
  spikes: tf.Tensor3D[];
  /** I - Vpre at spike steps, per layer (index l = layer l, whose outputs are spikes[l + 1]). */
  D: tf.Tensor3D[];
}

export interface LossResult {
  /** First-spike step per output neuron, int32 [B, N_out] (T when silent). */
  firstSpikes: tf.Tensor2D;
  /** CE and R per sample, float32 [B, 2]. */
  terms: tf.Tensor2D;
  /** Error on the output spikes, float32 [B, T, N_out]. */
  errors: tf.Tensor3D;
}

/** Forward pass through all layers: one kernel per layer, the whole window at once. */
export function forward(net: EngineNetwork, input: tf.Tensor3D): ForwardTrace {
  const { alpha, beta, oneMinusBeta, threshold } = net.constants;
  const spikes: tf.Tensor3D[] = [input];
  const D: tf.Tensor3D[] = [];
  for (const W of net.weights) {
    const [s, d] = runTypedKernel(lifForwardKernel, [spikes[spikes.length - 1], W], {
      alpha,
      beta,
      oneMinusBeta,
      threshold,
    });
    spikes.push(s as tf.Tensor3D);
    D.push(d as tf.Tensor3D);
  }
  return { spikes, D };
}

/** First-spike loss and the errors it injects into the output layer. */
export function ttfsLoss(net: EngineNetwork, output: tf.Tensor3D, labels: tf.Tensor1D, batchSize?: number): LossResult {
  const [firstSpikes, terms, errors] = runTypedKernel(ttfsLossKernel, [output, labels], {
    ...net.loss,
    batchSize: batchSize ?? output.shape[0],
  });
  return { firstSpikes: firstSpikes as tf.Tensor2D, terms: terms as tf.Tensor2D, errors: errors as tf.Tensor3D };
}

/** Backward pass: one adjoint kernel per layer, output layer first. Returns dL/dW per layer. */
export function backward(net: EngineNetwork, trace: ForwardTrace, outputErrors: tf.Tensor3D): tf.Tensor2D[] {
  const { alpha, beta, oneMinusAlpha, eps, tauSynSeconds } = net.constants;
  const grads: tf.Tensor2D[] = new Array(net.weights.length);
  let e = outputErrors;
  for (let l = net.weights.length - 1; l >= 0; l--) {
    const [G, epsIn] = runTypedKernel(
      lifAdjointKernel,
      [trace.spikes[l], trace.spikes[l + 1], trace.D[l], e, net.weights[l]],
      { alpha, beta, oneMinusAlpha, eps, tauSynSeconds, wantEpsIn: l > 0 },
    );
    grads[l] = G as tf.Tensor2D;
    if (e !== outputErrors) e.dispose();
    e = epsIn as tf.Tensor3D;
  }
  e.dispose();
  return grads;
}

/** Dispose a trace's tensors except the input raster, which belongs to the caller. */
export function disposeTrace(trace: ForwardTrace): void {
  for (const t of trace.spikes.slice(1)) t.dispose();
  for (const t of trace.D) t.dispose();
}
