import type * as tf from '@tensorflow/tfjs-core';
import type { UpdateAttrs } from '../update-kernel.js';
import { dispatch, emptyTensor, entry, paramTensor, PRELUDE, uniformStruct, type ShaderSource, type WebGpuBackendLike } from './gpu-program.js';

/**
 * One optimiser update of a layer of K stacked trials on the GPU (update-kernel.ts is the reference):
 * one thread per weight, Adam or SGD with momentum, with the trial's own numbers read from a small
 * parameter buffer; every product rounded before its add (`keep`), new W, m, v flushed. WGSL's sqrt
 * and division need not be correctly rounded, so updates agree with the reference to float32 rounding.
 */
const PARAMS = ['weightDecay', 'lr', 'beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'biasCorrection1', 'biasCorrection2', 'eps', 'momentum'] as const;

function shader(adam: boolean): ShaderSource {
  const p = (name: (typeof PARAMS)[number]) => `params[k * ${PARAMS.length}u + ${PARAMS.indexOf(name)}u]`;
  const step = adam
    ? `
    let m = flush(keep(M[i] * ${p('beta1')}) + keep(g * ${p('oneMinusBeta1')}));
    let v = flush(keep(Vm[i] * ${p('beta2')}) + keep(keep(g * g) * ${p('oneMinusBeta2')}));
    let mHat = m / ${p('biasCorrection1')};
    let vHat = v / ${p('biasCorrection2')};
    newM[i] = m;
    newV[i] = v;
    newW[i] = flush(W[i] - keep((mHat / (sqrt(vHat) + ${p('eps')})) * ${p('lr')}));`
    : `
    let buf = flush(keep(M[i] * ${p('momentum')}) + g);
    newM[i] = buf;
    newW[i] = flush(W[i] - keep(buf * ${p('lr')}));`;
  return {
    key: `s2prop-update-${adam ? 'adam' : 'sgd'}`,
    code: `${uniformStruct(['size', 'weightsPerTrial', 'zero'], ['u32', 'u32', 'u32'], adam ? 8 : 6)}
@group(0) @binding(0) var<storage, read> W: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> M: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> newW: array<f32>;
@group(0) @binding(5) var<storage, read_write> newM: array<f32>;
${adam ? `@group(0) @binding(6) var<storage, read> Vm: array<f32>;\n@group(0) @binding(7) var<storage, read_write> newV: array<f32>;` : ''}
${PRELUDE}
${entry(`
  if (t >= u.size) { return; }
  let i = t;
  let k = t / u.weightsPerTrial;
  let wd = ${p('weightDecay')};
  var g = G[i];
  if (wd > 0.0) { g = g + keep(W[i] * wd); }
  ${step}`)}`,
  };
}

const ADAM = shader(true);
const SGD = shader(false);

export function stackedUpdateGpu(backend: WebGpuBackendLike, [W, G, m, v]: tf.TensorInfo[], a: UpdateAttrs): tf.TensorInfo[] {
  const [K, Nin, N] = W.shape;
  const size = K * Nin * N;
  const adam = a.type === 'adam';
  const params = paramTensor(
    backend,
    Array.from({ length: K }, (_, k) => PARAMS.map((name) => a[name][k])).flat(),
  );
  const newW = emptyTensor(backend, W.shape, 'float32');
  const newM = emptyTensor(backend, W.shape, 'float32');
  const newV = adam ? emptyTensor(backend, W.shape, 'float32') : backend.makeTensorInfo([0], 'float32', new Float32Array(0));
  const buffers = adam ? [W, G, m, params, newW, newM, v, newV] : [W, G, m, params, newW, newM];
  if (size > 0) dispatch(backend, adam ? ADAM : SGD, buffers, [['u32', size], ['u32', Nin * N], ['u32', 0]], size);
  backend.disposeData(params.dataId);
  return [newW, newM, newV];
}
