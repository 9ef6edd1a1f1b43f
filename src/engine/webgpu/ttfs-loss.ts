import type * as tf from '@tensorflow/tfjs-core';
import type { TtfsLossAttrs } from '../ttfs-loss-kernel.js';
import { dispatchOverSamples, emptyTensor, entry, paramTensor, PRELUDE, uniformStruct, type ShaderSource, type WebGpuBackendLike } from './gpu-program.js';

/**
 * The time-to-first-spike loss on the GPU (docs/contract.md; ttfs-loss-kernel.ts is the reference): one
 * thread per sample finds its output neurons' first spikes, the softmax over -t/xi, CE and the
 * regulariser, and writes the error at each first-spike step (zero elsewhere). WGSL has no float64:
 * this is computed in float32, so the errors agree with the reference to float32 rounding, not bit for
 * bit (the forward pass, which decides every spike, is exact).
 */
const LOSS: ShaderSource = {
  key: 's2prop-ttfs-loss',
  code: `${uniformStruct(['base', 'count', 'steps', 'neurons', 'perTrial', 'batchSize', 'zero'], ['u32', 'u32', 'u32', 'u32', 'u32', 'f32', 'u32'], 6)}
@group(0) @binding(0) var<storage, read> s: array<i32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read> losses: array<f32>;
@group(0) @binding(3) var<storage, read_write> first: array<i32>;
@group(0) @binding(4) var<storage, read_write> terms: array<f32>;
@group(0) @binding(5) var<storage, read_write> e: array<f32>;
${PRELUDE}
${entry(`
  let N = u.neurons;
  let T = u.steps;
  if (t >= u.count) { return; }
  let b = t;
  let k = (u.base + b) / u.perTrial;
  let xi = losses[3u * k];
  let alpha = losses[3u * k + 1u];
  let tau1 = losses[3u * k + 2u];
  var zMax = -3.0e38;
  for (var n = 0u; n < N; n++) {
    var tn = T;
    for (var i = 0u; i < T; i++) {
      if (s[(b * T + i) * N + n] != 0) { tn = i; break; }
    }
    first[b * N + n] = i32(tn);
    zMax = max(zMax, -f32(tn) / xi);
  }
  var sum = 0.0;
  for (var n = 0u; n < N; n++) { sum += exp(-f32(first[b * N + n]) / xi - zMax); }
  let c = u32(labels[b]);
  let tc = f32(first[b * N + c]);
  let expTc = exp(tc / tau1);
  terms[2u * b] = tc / xi + zMax + log(sum);
  terms[2u * b + 1u] = alpha * (expTc - 1.0);
  for (var o = b * T * N; o < (b + 1u) * T * N; o++) { e[o] = 0.0; }
  for (var n = 0u; n < N; n++) {
    let tn = u32(first[b * N + n]);
    if (tn + 1u >= T) { continue; }
    let p = exp(-f32(tn) / xi - zMax) / sum;
    let isLabel = select(0.0, 1.0, n == c);
    e[(b * T + tn) * N + n] = ((isLabel - p) / xi + isLabel * (alpha / tau1) * expTc) / u.batchSize;
  }`)}`,
};

export function ttfsLossGpu(backend: WebGpuBackendLike, [s, labels]: tf.TensorInfo[], { losses, batchSize }: TtfsLossAttrs): tf.TensorInfo[] {
  const [B, T, N] = s.shape;
  const K = losses.length;
  if (K < 1 || B % K !== 0) throw new Error(`a batch of ${B} samples does not split into ${K} trials`);
  const first = emptyTensor(backend, [B, N], 'int32');
  const terms = emptyTensor(backend, [B, 2], 'float32');
  const e = emptyTensor(backend, [B, T, N], 'float32');
  const params = paramTensor(backend, losses.flatMap((l) => [l.xi, l.alpha, l.tau1]));
  dispatchOverSamples(
    backend,
    LOSS,
    [s, labels, params, first, terms, e],
    [true, true, false, true, true, true],
    [['u32', T], ['u32', N], ['u32', B / K], ['f32', batchSize], ['u32', 0]],
    B,
    (n) => n,
  );
  backend.disposeData(params.dataId);
  return [first, terms, e];
}
