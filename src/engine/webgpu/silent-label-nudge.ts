import type * as tf from '@tensorflow/tfjs-core';
import type { SilentLabelNudgeAttrs } from '../silent-label-nudge-kernel.js';
import { dispatchOverSamples, emptyTensor, entry, paramTensor, PRELUDE, uniformStruct, type ShaderSource, type WebGpuBackendLike } from './gpu-program.js';

/**
 * The silent-label nudge on the GPU (silent-label-nudge-kernel.ts is the reference): one thread per
 * trial and hidden neuron owns its row of the output [K, H, N]; it walks its trial's samples, and for
 * those whose label neuron is silent counts the neuron's spikes into the label's entry. The counts are
 * integers in float32 (exact), and the last slice multiplies them by the trial's fround(-nudge / B), a
 * correctly rounded product in WGSL: the reference's bits.
 */
const NUDGE: ShaderSource = {
  key: 's2prop-silent-label-nudge',
  code: `${uniformStruct(['base', 'count', 'steps', 'hidden', 'neurons', 'perTrial', 'total', 'trials', 'zero'], ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32'], 5)}
@group(0) @binding(0) var<storage, read> s: array<i32>;
@group(0) @binding(1) var<storage, read> first: array<i32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
${PRELUDE}
${entry(`
  let T = u.steps;
  let H = u.hidden;
  let N = u.neurons;
  if (t >= u.trials * H) { return; }
  let k = t / H;
  let h = t % H;
  let row = (k * H + h) * N;
  if (u.base == 0u) {
    for (var n = 0u; n < N; n++) { out[row + n] = 0.0; }
  }
  let lo = max(k * u.perTrial, u.base);
  let hi = min((k + 1u) * u.perTrial, u.base + u.count);
  for (var g = lo; g < hi; g++) {
    let b = g - u.base;
    let c = u32(labels[g]);
    if (u32(first[g * N + c]) + 1u < T) { continue; }
    var count = 0.0;
    for (var i = 0u; i < T; i++) {
      if (s[(b * T + i) * H + h] != 0) { count += 1.0; }
    }
    out[row + c] += count;
  }
  if (u.base + u.count == u.total) {
    for (var n = 0u; n < N; n++) { out[row + n] = out[row + n] * scales[k]; }
  }`)}`,
};

export function silentLabelNudgeGpu(backend: WebGpuBackendLike, [s, first, labels]: tf.TensorInfo[], { nudges, batchSize }: SilentLabelNudgeAttrs): tf.TensorInfo[] {
  const [KB, T, H] = s.shape;
  const N = first.shape[1];
  const K = nudges.length;
  if (K < 1 || KB % K !== 0) throw new Error(`a batch of ${KB} samples does not split into ${K} trials`);
  const out = emptyTensor(backend, K === 1 ? [H, N] : [K, H, N], 'float32');
  const scales = paramTensor(backend, nudges.map((n) => -n / batchSize));
  dispatchOverSamples(
    backend,
    NUDGE,
    [s, first, labels, scales, out],
    [true, false, false, false, false], // only the spikes are large enough to need slicing
    [['u32', T], ['u32', H], ['u32', N], ['u32', KB / K], ['u32', KB], ['u32', K], ['u32', 0]],
    KB,
    () => K * H,
  );
  backend.disposeData(scales.dataId);
  return [out];
}
