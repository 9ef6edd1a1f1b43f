import * as tf from '@tensorflow/tfjs-core';
import type { NeuronConstants } from '../model/neuron.js';
import { lifAdjointKernel } from './lif-adjoint-kernel.js';
import { lifForwardKernel } from './lif-forward-kernel.js';
import { ttfsLossKernel, type TtfsLoss } from './ttfs-loss-kernel.js';
import { silentLabelNudge } from './silent-label-nudge.js';
import { runTypedKernel } from './typed-kernel.js';

export type { TtfsLoss };

/** A network as the engine runs it: weights as tensors [inputs][outputs], one per layer. */
export interface EngineNetwork {
  weights: tf.Tensor2D[];
  constants: NeuronConstants;
  loss: TtfsLoss;
}

/**
 * K networks of the same shape run as one (trial-axis.ts): weights stacked [K, inputs, outputs] per
 * layer, a loss setting per trial; a batch holds the trials' samples one trial after another.
 */
export interface StackedNetwork {
  weights: tf.Tensor3D[];
  constants: NeuronConstants;
  losses: TtfsLoss[];
}

/** What forward and backward need: one network, or stacked ones. */
interface LayeredWeights<W extends tf.Tensor2D | tf.Tensor3D> {
  weights: W[];
  constants: NeuronConstants;
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
export function forward(net: LayeredWeights<tf.Tensor2D | tf.Tensor3D>, input: tf.Tensor3D): ForwardTrace {
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
  return lossOf([net.loss], output, labels, batchSize ?? output.shape[0]);
}

/** The same for stacked trials: each trial's samples with its own loss settings and 1/B (B per trial). */
export function stackedTtfsLoss(net: StackedNetwork, output: tf.Tensor3D, labels: tf.Tensor1D): LossResult {
  return lossOf(net.losses, output, labels, output.shape[0] / net.losses.length);
}

function lossOf(losses: TtfsLoss[], output: tf.Tensor3D, labels: tf.Tensor1D, batchSize: number): LossResult {
  const [firstSpikes, terms, errors] = runTypedKernel(ttfsLossKernel, [output, labels], { losses, batchSize });
  return { firstSpikes: firstSpikes as tf.Tensor2D, terms: terms as tf.Tensor2D, errors: errors as tf.Tensor3D };
}

/**
 * Backward pass: one adjoint kernel per layer, output layer first. Returns dL/dW per layer, shaped as
 * the weights (per trial for stacked weights).
 */
export function backward<W extends tf.Tensor2D | tf.Tensor3D>(net: LayeredWeights<W>, trace: ForwardTrace, outputErrors: tf.Tensor3D): W[] {
  const { alpha, beta, oneMinusAlpha, eps, tauSynSeconds } = net.constants;
  const grads: W[] = new Array(net.weights.length);
  let e = outputErrors;
  for (let l = net.weights.length - 1; l >= 0; l--) {
    const [G, epsIn] = runTypedKernel(
      lifAdjointKernel,
      [trace.spikes[l], trace.spikes[l + 1], trace.D[l], e, net.weights[l]],
      { alpha, beta, oneMinusAlpha, eps, tauSynSeconds, wantEpsIn: l > 0 },
    );
    grads[l] = G as W;
    if (e !== outputErrors) e.dispose();
    e = epsIn as tf.Tensor3D;
  }
  e.dispose();
  return grads;
}

/**
 * The gradients of a batch: the backward pass, plus the silent-label nudge on the output layer for
 * trials whose loss sets one (silent-label-nudge.ts). `labels` as given to the loss.
 */
export function gradients<W extends tf.Tensor2D | tf.Tensor3D>(
  net: LayeredWeights<W> & ({ loss: TtfsLoss } | { losses: TtfsLoss[] }),
  trace: ForwardTrace,
  loss: LossResult,
  labels: tf.Tensor1D,
): W[] {
  const grads = backward(net, trace, loss.errors);
  const nudges = ('loss' in net ? [net.loss] : net.losses).map((l) => l.nudge ?? 0);
  if (nudges.every((n) => n === 0)) return grads;
  const L = grads.length - 1;
  const term = silentLabelNudge(trace.spikes[L], loss.firstSpikes, labels, nudges, labels.shape[0] / nudges.length);
  const nudged = tf.add(grads[L], term) as W;
  tf.dispose([grads[L], term]);
  grads[L] = nudged;
  return grads;
}

/** Dispose a trace's tensors except the input raster, which belongs to the caller. */
export function disposeTrace(trace: ForwardTrace): void {
  for (const t of trace.spikes.slice(1)) t.dispose();
  for (const t of trace.D) t.dispose();
}
