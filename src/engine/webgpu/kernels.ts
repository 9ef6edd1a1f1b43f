import type * as tf from '@tensorflow/tfjs-core';
import type { WebGpuBackendLike } from './gpu-program.js';
import { lifAdjointGpu } from './lif-adjoint.js';
import { lifForwardGpu } from './lif-forward.js';
import { silentLabelNudgeGpu } from './silent-label-nudge.js';
import { stackedUpdateGpu } from './stacked-update.js';
import { ttfsLossGpu } from './ttfs-loss.js';

/** The WGSL implementation of each engine kernel, by the typed kernel's name (typed-kernel.ts registers them). */
export const WEBGPU_KERNELS: Record<string, (backend: WebGpuBackendLike, inputs: tf.TensorInfo[], attrs: any) => tf.TensorInfo[]> = {
  S2PropLifForward: lifForwardGpu,
  S2PropTtfsLoss: ttfsLossGpu,
  S2PropLifAdjoint: lifAdjointGpu,
  S2PropStackedUpdate: stackedUpdateGpu,
  S2PropSilentLabelNudge: silentLabelNudgeGpu,
};
