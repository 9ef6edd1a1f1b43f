import type * as tf from '@tensorflow/tfjs-core';
import type { LifConstants } from '../../numerics/lif.js';
import { trialLayout } from '../trial-axis.js';
import { dispatchOverSamples, emptyTensor, entry, PRELUDE, uniformStruct, type ShaderSource, type WebGpuBackendLike } from './gpu-program.js';

/**
 * The LIF forward pass on the GPU (docs/contract.md "Forward pass"; the typed loop in lif-forward-kernel.ts
 * is the reference), bit for bit equal to it: two shaders.
 *
 * 1. Spike lists: one thread per (sample, step) compacts its row of the input raster into the indices
 *    of the inputs that spiked, in ascending order, and their count.
 * 2. The recurrence: one thread per (sample, neuron) runs the whole window, adding the weights of the
 *    inputs listed for the previous step one by one in ascending order from zero (the order of the
 *    typed loop and of a PE adding the weights of the spikes it received), every operation rounded to
 *    float32 in the contract's order (`keep` stops fused multiply-adds).
 * Spikes are stored as i32 (tfjs's bool on WebGPU), D as f32; every element is written.
 */

const SPIKE_LISTS: ShaderSource = {
  key: 's2prop-spike-lists',
  code: `${uniformStruct(['base', 'count', 'steps', 'width', 'zero'], ['u32', 'u32', 'u32', 'u32', 'u32'], 3)}
@group(0) @binding(0) var<storage, read> raster: array<i32>;
@group(0) @binding(1) var<storage, read_write> list: array<i32>;
@group(0) @binding(2) var<storage, read_write> count: array<i32>;
${PRELUDE}
${entry(`
  if (t >= u.count * u.steps) { return; }
  let base = t * u.width;
  var c = 0u;
  for (var k = 0u; k < u.width; k++) {
    if (raster[base + k] != 0) {
      list[base + c] = i32(k);
      c++;
    }
  }
  count[t] = i32(c);`)}`,
};

const FORWARD: ShaderSource = {
  key: 's2prop-lif-forward',
  code: `${uniformStruct(
    ['base', 'count', 'steps', 'inputs', 'neurons', 'perTrial', 'alpha', 'beta', 'oneMinusBeta', 'threshold', 'zero'],
    ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'f32', 'f32', 'f32', 'f32', 'u32'],
    5,
  )}
@group(0) @binding(0) var<storage, read> list: array<i32>;
@group(0) @binding(1) var<storage, read> count: array<i32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> s: array<i32>;
@group(0) @binding(4) var<storage, read_write> D: array<f32>;
${PRELUDE}
${entry(`
  let N = u.neurons;
  let T = u.steps;
  if (t >= u.count * N) { return; }
  let b = t / N;
  let j = t % N;
  let w0 = ((u.base + b) / u.perTrial) * u.inputs * N + j;
  var I = 0.0;
  var V = 0.0;
  s[b * T * N + j] = 0;
  D[b * T * N + j] = 0.0;
  for (var i = 1u; i < T; i++) {
    // 1. I = alpha*I + s_in[i-1] . W, the weights of the inputs that spiked at i-1 added in ascending order
    let row = b * T + i - 1u;
    let base = row * u.inputs;
    let n = u32(count[row]);
    var x = 0.0;
    for (var q = 0u; q < n; q++) {
      x = x + W[w0 + u32(list[base + q]) * N];
    }
    I = flush(keep(u.alpha * I) + x);
    // 2. V = beta*V + (1-beta)*I with the updated I
    V = flush(keep(u.beta * V) + keep(u.oneMinusBeta * I));
    // 3.-5. spike when V > theta (strict), D = I - Vpre there, reset to zero
    let o = (b * T + i) * N + j;
    if (V > u.threshold) {
      s[o] = 1;
      D[o] = I - V;
      V = 0.0;
    } else {
      s[o] = 0;
      D[o] = 0.0;
    }
  }`)}`,
};

/** Spike lists of a [B, T, width] raster: indices [B, T*width] (the first `count` of each row used), counts [B, T]. */
function spikeLists(backend: WebGpuBackendLike, raster: tf.TensorInfo): [tf.TensorInfo, tf.TensorInfo] {
  const [B, T, width] = raster.shape;
  const list = emptyTensor(backend, [B, T * width], 'int32');
  const count = emptyTensor(backend, [B, T], 'int32');
  dispatchOverSamples(backend, SPIKE_LISTS, [raster, list, count], [true, true, true], [['u32', T], ['u32', width], ['u32', 0]], B, (n) => n * T);
  return [list, count];
}

export function lifForwardGpu(backend: WebGpuBackendLike, [sIn, W]: tf.TensorInfo[], attrs: LifConstants): tf.TensorInfo[] {
  const [B, T, Nin] = sIn.shape;
  const { neurons: N, perTrial } = trialLayout(B, W.shape);
  const s = emptyTensor(backend, [B, T, N], 'bool');
  const D = emptyTensor(backend, [B, T, N], 'float32');
  const [list, count] = spikeLists(backend, sIn);
  const { alpha, beta, oneMinusBeta, threshold } = attrs;
  dispatchOverSamples(
    backend,
    FORWARD,
    [list, count, W, s, D],
    [true, true, false, true, true],
    [['u32', T], ['u32', Nin], ['u32', N], ['u32', perTrial], ['f32', alpha], ['f32', beta], ['f32', oneMinusBeta], ['f32', threshold], ['u32', 0]],
    B,
    (n) => n * N,
  );
  backend.disposeData(list.dataId);
  backend.disposeData(count.dataId);
  return [s, D];
}
