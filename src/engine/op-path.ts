import type * as tf from '@tensorflow/tfjs-core';
import { lifAdjointOps } from './op-path/lif-adjoint.js';
import { lifForwardOps } from './op-path/lif-forward.js';
import { silentLabelNudgeOps } from './op-path/silent-label-nudge.js';
import { ttfsLossOps } from './op-path/ttfs-loss.js';
import { updateOps } from './op-path/update.js';

export { flushTensor } from './op-path/flush.js';
export { lifAdjointOps, lifForwardOps, silentLabelNudgeOps, ttfsLossOps, updateOps };

/** An op-path computation: the inputs, attributes and outputs (shapes, dtypes, order) of its typed kernel. */
export type OpPathFn = (inputs: tf.Tensor[], attrs: any) => tf.Tensor[];

/**
 * The engine's custom kernels written as plain tfjs ops, by kernel name (the `name` of each
 * TypedKernel), for backends that cannot take custom kernels (the native `tensorflow` one): the work
 * then stays on the backend's device instead of going through the typed-array loop on the CPU. Each
 * function returns new tensors (the caller disposes them) and leaves nothing else behind.
 *
 * Results: lamI/lamV and the optimiser are bit for bit the typed kernels'; the loss is float32 instead of
 * float64-rounded-to-float32; every sum over inputs, neurons, samples or steps is a matMul, whose order
 * and precision are the backend's (see op-path/*.ts). The subnormal rule (flush.ts) is applied to every
 * new I, V, lamI, lamV, W, m and v.
 */
export const opPath: Record<string, OpPathFn> = {
  S2PropLifForward: lifForwardOps,
  S2PropTtfsLoss: ttfsLossOps,
  S2PropLifAdjoint: lifAdjointOps,
  S2PropStackedUpdate: updateOps,
  S2PropSilentLabelNudge: silentLabelNudgeOps,
};
