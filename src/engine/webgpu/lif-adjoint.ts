import type * as tf from '@tensorflow/tfjs-core';
import type { LifAdjointAttrs } from '../lif-adjoint-kernel.js';
import { trialLayout } from '../trial-axis.js';
import { dispatch, dispatchOverSamples, emptyTensor, entry, PRELUDE, uniformStruct, type ShaderSource, type WebGpuBackendLike } from './gpu-program.js';

/**
 * The adjoint pass on the GPU (docs/contract.md "Backward pass"; lif-adjoint-kernel.ts is the reference),
 * in three shaders, since WGSL has no float atomics and every sum must have a fixed order:
 * 1. Recurrence: one thread per (sample, neuron) runs reverse time and stores, per step i, the
 *    difference lamV[i+1] - lamI[i+1] (what eps_in[i] needs) and tauSyn * lamI[i] (what G needs).
 * 2. Errors to the previous layer: one thread per (sample, step, input) where that input spiked sums
 *    W[k][j] * difference over the neurons j in ascending order (the reference's order).
 * 3. Weight gradient: one thread per (trial, input, neuron) and chunk of samples sums -tauSyn * lamI
 *    over the chunk's samples in ascending order and each sample's steps in reverse, where the input
 *    spiked (the reference's order); when a trial has too few weights to fill the GPU, its samples are
 *    split into chunks whose partial sums a reduction pass adds in chunk order. It walks lists of the
 *    steps at which each (sample, input) spiked, made first by one thread per (sample, input): sparse
 *    inputs (700 inputs at 2 %) would otherwise cost every weight thread all B*T steps.
 */

const RECURRENCE: ShaderSource = {
  key: 's2prop-lif-adjoint',
  code: `${uniformStruct(
    ['base', 'count', 'steps', 'neurons', 'alpha', 'beta', 'oneMinusAlpha', 'eps', 'tauSyn', 'zero'],
    ['u32', 'u32', 'u32', 'u32', 'f32', 'f32', 'f32', 'f32', 'f32', 'u32'],
    5,
  )}
@group(0) @binding(0) var<storage, read> s: array<i32>;
@group(0) @binding(1) var<storage, read> D: array<f32>;
@group(0) @binding(2) var<storage, read> e: array<f32>;
@group(0) @binding(3) var<storage, read_write> diff: array<f32>;
@group(0) @binding(4) var<storage, read_write> lamIScaled: array<f32>;
${PRELUDE}
${entry(`
  let N = u.neurons;
  let T = u.steps;
  if (t >= u.count * N) { return; }
  let b = t / N;
  let j = t % N;
  var lamV = 0.0;
  var lamI = 0.0;
  let last = (b * T + T - 1u) * N + j;
  diff[last] = 0.0;
  lamIScaled[last] = 0.0;
  for (var i = i32(T) - 2; i >= 0; i--) {
    let here = (b * T + u32(i)) * N + j;
    let next = here + N;
    // 1. eps_in[i] uses lamV[i+1] - lamI[i+1]
    diff[here] = lamV - lamI;
    // 2. lamI[i] = alpha*lamI[i+1] + (1-alpha)*lamV[i+1]
    let newLamI = flush(keep(u.alpha * lamI) + keep(u.oneMinusAlpha * lamV));
    // 3. lamV[i] = beta*lamV[i+1] + s[i+1]*(lamV[i+1] + e[i+1]) / (D[i+1] + eps)
    var newLamV = keep(u.beta * lamV);
    if (s[next] != 0) { newLamV = newLamV + (lamV + e[next]) / (D[next] + u.eps); }
    lamI = newLamI;
    lamV = flush(newLamV);
    // 4. G -= tauSyn * outer(s_in[i], lamI[i]): the scaled adjoint, summed by the gradient shader
    lamIScaled[here] = u.tauSyn * lamI;
  }`)}`,
};

const EPS_IN: ShaderSource = {
  key: 's2prop-lif-eps-in',
  code: `${uniformStruct(['base', 'count', 'steps', 'inputs', 'neurons', 'perTrial', 'zero'], ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32'], 4)}
@group(0) @binding(0) var<storage, read> sIn: array<i32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> diff: array<f32>;
@group(0) @binding(3) var<storage, read_write> epsIn: array<f32>;
${PRELUDE}
${entry(`
  let N = u.neurons;
  let Nin = u.inputs;
  if (t >= u.count * u.steps * Nin) { return; }
  let k = t % Nin;
  let row = t / Nin;
  let i = row % u.steps;
  let b = row / u.steps;
  var acc = 0.0;
  if (i + 1u < u.steps && sIn[t] != 0) {
    let w0 = (((u.base + b) / u.perTrial) * Nin + k) * N;
    let d0 = row * N;
    for (var j = 0u; j < N; j++) {
      acc = acc + keep(W[w0 + j] * diff[d0 + j]);
    }
  }
  epsIn[t] = acc;`)}`,
};

const INPUT_STEPS: ShaderSource = {
  key: 's2prop-lif-input-steps',
  code: `${uniformStruct(['base', 'count', 'steps', 'inputs', 'zero'], ['u32', 'u32', 'u32', 'u32', 'u32'], 3)}
@group(0) @binding(0) var<storage, read> sIn: array<i32>;
@group(0) @binding(1) var<storage, read_write> list: array<u32>;
@group(0) @binding(2) var<storage, read_write> listLength: array<u32>;
${PRELUDE}
${entry(`
  let Nin = u.inputs;
  let T = u.steps;
  if (t >= u.count * Nin) { return; }
  let b = t / Nin;
  let k = t % Nin;
  // Steps T-2 down to 0 where input k spiked: the order the gradient sums them in.
  var n = 0u;
  for (var i = i32(T) - 2; i >= 0; i--) {
    if (sIn[(b * T + u32(i)) * Nin + k] != 0) {
      list[t * T + n] = u32(i);
      n++;
    }
  }
  listLength[t] = n;`)}`,
};

const GRADIENT: ShaderSource = {
  key: 's2prop-lif-gradient',
  code: `${uniformStruct(
    ['base', 'count', 'trials', 'perTrial', 'steps', 'inputs', 'neurons', 'chunk', 'chunks', 'zero'],
    ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32'],
    4,
  )}
@group(0) @binding(0) var<storage, read> list: array<u32>;
@group(0) @binding(1) var<storage, read> listLength: array<u32>;
@group(0) @binding(2) var<storage, read> lamIScaled: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
${PRELUDE}
${entry(`
  let N = u.neurons;
  let Nin = u.inputs;
  let T = u.steps;
  let size = u.trials * Nin * N;
  if (t >= u.chunks * size) { return; }
  let c = t / size;
  let w = t % size;
  let j = w % N;
  let k = (w / N) % Nin;
  let trial = w / (N * Nin);
  // This thread's samples (global indices), and the part of them in the bound slice of samples.
  let first = trial * u.perTrial + c * u.chunk;
  let end = min(first + u.chunk, (trial + 1u) * u.perTrial);
  let lo = max(first, u.base);
  let hi = min(end, u.base + u.count);
  if (lo >= hi) { return; }
  // A sum begun in an earlier slice goes on from where it stopped: the same order as in one slice.
  var acc = 0.0;
  if (first < u.base) { acc = partial[t]; }
  for (var b = lo - u.base; b < hi - u.base; b++) {
    let at = b * Nin + k;
    for (var n = 0u; n < listLength[at]; n++) {
      acc = acc - lamIScaled[(b * T + list[at * T + n]) * N + j];
    }
  }
  partial[t] = acc;`)}`,
};

const REDUCE: ShaderSource = {
  key: 's2prop-chunk-sum',
  code: `${uniformStruct(['size', 'chunks', 'zero'], ['u32', 'u32', 'u32'], 2)}
@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> total: array<f32>;
${PRELUDE}
${entry(`
  if (t >= u.size) { return; }
  var acc = partial[t];
  for (var c = 1u; c < u.chunks; c++) { acc = acc + partial[c * u.size + t]; }
  total[t] = acc;`)}`,
};

/** Enough threads to keep a GPU busy: a trial with fewer weights has its samples split into chunks. */
const BUSY_THREADS = 16384;

export function lifAdjointGpu(backend: WebGpuBackendLike, [sIn, s, D, e, W]: tf.TensorInfo[], attrs: LifAdjointAttrs): tf.TensorInfo[] {
  const { alpha, beta, oneMinusAlpha, eps, tauSynSeconds, wantEpsIn } = attrs;
  const [B, T, Nin] = sIn.shape;
  const { trials: K, neurons: N, perTrial } = trialLayout(B, W.shape);
  const diff = emptyTensor(backend, [B, T, N], 'float32');
  const lamIScaled = emptyTensor(backend, [B, T, N], 'float32');
  dispatchOverSamples(
    backend,
    RECURRENCE,
    [s, D, e, diff, lamIScaled],
    [true, true, true, true, true],
    [['u32', T], ['u32', N], ['f32', alpha], ['f32', beta], ['f32', oneMinusAlpha], ['f32', eps], ['f32', tauSynSeconds], ['u32', 0]],
    B,
    (n) => n * N,
  );
  let epsIn: tf.TensorInfo;
  if (wantEpsIn) {
    epsIn = emptyTensor(backend, [B, T, Nin], 'float32');
    dispatchOverSamples(
      backend,
      EPS_IN,
      [sIn, W, diff, epsIn],
      [true, false, true, true],
      [['u32', T], ['u32', Nin], ['u32', N], ['u32', perTrial], ['u32', 0]],
      B,
      (n) => n * T * Nin,
    );
  } else epsIn = backend.makeTensorInfo([0], 'float32', new Float32Array(0));

  const size = K * Nin * N;
  // Chunks from one trial's shape only, so that a trial's gradient is summed in the same order whether
  // it runs alone or stacked with others (stacked runs equal separate runs bit for bit, as on wasm).
  const chunks = Math.max(1, Math.min(perTrial, Math.ceil(BUSY_THREADS / (Nin * N))));
  const chunk = Math.ceil(perTrial / chunks);
  const used = Math.ceil(perTrial / chunk);
  const G = emptyTensor(backend, W.shape, 'float32');
  const partial = used === 1 ? G : emptyTensor(backend, [used * size], 'float32');
  const list = emptyTensor(backend, [B, Nin, T], 'int32');
  const listLength = emptyTensor(backend, [B, Nin], 'int32');
  dispatchOverSamples(backend, INPUT_STEPS, [sIn, list, listLength], [true, true, true], [['u32', T], ['u32', Nin], ['u32', 0]], B, (n) => n * Nin);
  dispatchOverSamples(
    backend,
    GRADIENT,
    [list, listLength, lamIScaled, partial],
    [true, true, true, false],
    [['u32', K], ['u32', perTrial], ['u32', T], ['u32', Nin], ['u32', N], ['u32', chunk], ['u32', used], ['u32', 0]],
    B,
    () => used * size,
  );
  if (partial !== G) {
    dispatch(backend, REDUCE, [partial, G], [['u32', size], ['u32', used], ['u32', 0]], size);
    backend.disposeData(partial.dataId);
  }
  for (const t of [diff, lamIScaled, list, listLength]) backend.disposeData(t.dataId);
  return [G, epsIn];
}
