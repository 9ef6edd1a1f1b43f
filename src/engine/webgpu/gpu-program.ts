/// <reference types="@webgpu/types" />
import type * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../errors.js';

/**
 * Running our own WGSL compute shaders inside tfjs's WebGPU backend: the shaders read and write the
 * backend's tensor buffers in place, and their dispatches go into the backend's own command encoder, so
 * they are ordered with every other tfjs op and nothing is read back to the host.
 *
 * tfjs's WebGPUProgram generates one output per program and its own indexing preamble; the engine's
 * kernels have several outputs and loop over time inside the shader, so they are plain compute
 * pipelines here, built from the backend's public-but-internal pieces listed in `WebGpuBackendLike`.
 */

/** The parts of tfjs-backend-webgpu's `WebGPUBackend` this module uses (4.22). */
export interface WebGpuBackendLike {
  device: GPUDevice;
  tensorMap: { get(dataId: object): { resource?: GPUBuffer | null } };
  commandQueueOwnedIds: WeakSet<object>;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array | Int32Array): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  makeUniforms(fields: { type: 'int32' | 'uint32' | 'float32'; data: number[] }[]): GPUBufferBinding;
  disposeData(dataId: object): boolean;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** Threads per workgroup of every engine shader (one dimension). */
export const WORKGROUP = 64;
/** WebGPU's guaranteed maximum workgroups per dispatch dimension. */
const MAX_GROUPS = 65535;
/** Dispatches recorded before the backend submits its command buffer (tfjs's default is 15). */
const SUBMIT_EVERY = 15;

/** A uniform field: every engine shader's uniforms are a struct of 4-byte scalars, in this order. */
export type Uniform = ['u32' | 'i32' | 'f32', number];

/**
 * WGSL shared by the engine's shaders: the flat thread index of a 2-D dispatch (a 1-D one is limited to
 * 65535 workgroups), the guard that keeps a product rounded on its own, and the subnormal flush.
 *
 * `keep(a * b)` stops the shader compiler from contracting `a * b + c` into a fused multiply-add (one
 * rounding instead of the contract's two): an integer xor with a uniform that is zero at run time is
 * opaque to the compiler, so the product must be rounded to float32 before the add.
 */
export const PRELUDE = /* wgsl */ `
fn threadIndex(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * groups.x * ${WORKGROUP}u;
}
fn keep(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) ^ u.zero);
}
fn flush(x: f32) -> f32 {
  return select(x, 0.0, abs(x) < 1.17549435e-38);
}
`;

/** The entry point's signature for a shader whose thread `t` handles item t < count. */
export function entry(body: string): string {
  return /* wgsl */ `
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let t = threadIndex(gid, groups);
  ${body}
}`;
}

/** `struct U { ... }` and its binding for a uniform layout (always with `zero` for `keep`). */
export function uniformStruct(names: string[], types: Uniform[0][], binding: number): string {
  const fields = names.map((n, i) => `  ${n}: ${types[i]},`).join('\n');
  return `struct U {\n${fields}\n}\n@group(0) @binding(${binding}) var<uniform> u: U;\n`;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function pipeline(device: GPUDevice, key: string, code: string): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  let p = cache.get(key);
  if (!p) {
    const module = device.createShaderModule({ code, label: key });
    p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
    cache.set(key, p);
  }
  return p;
}

/** One shader: its WGSL (bindings 0..n-1 are the buffers in the order given to `dispatch`, then `u`). */
export interface ShaderSource {
  key: string;
  code: string;
}

let bindingLimitOverride: number | null = null;
/** For tests: bind at most this many bytes at once (to exercise slicing on any adapter); null restores. */
export function limitBindingForTests(bytes: number | null): void {
  bindingLimitOverride = bytes;
}

function bindingLimit(device: GPUDevice): number {
  const limit = device.limits.maxStorageBufferBindingSize;
  return bindingLimitOverride === null ? limit : Math.min(limit, bindingLimitOverride);
}

function refuse(t: tf.TensorInfo, shader: ShaderSource, bytes: number, limit: number, what: string): never {
  throw new UserError(
    `webgpu: ${what} of a [${t.shape.join(', ')}] tensor of the ${shader.key} kernel takes ${mib(bytes)} MiB, more than this adapter binds at once ` +
      `(maxStorageBufferBindingSize ${mib(limit)} MiB): use a smaller batch (or fewer stacked trials)`,
  );
}

function bytesOf(t: tf.TensorInfo): number {
  return 4 * t.shape.reduce((a, b) => a * b, 1);
}

/** Record one dispatch: `ranges[i]` is the byte range of buffer i to bind (the whole buffer when absent). */
function record(
  backend: WebGpuBackendLike,
  p: GPUComputePipeline,
  buffers: tf.TensorInfo[],
  ranges: ({ offset: number; size: number } | null)[],
  uniforms: Uniform[],
  threads: number,
): void {
  const entries: GPUBindGroupEntry[] = buffers.map((t, i) => {
    backend.uploadToGPU(t.dataId);
    backend.commandQueueOwnedIds.add(t.dataId);
    const buffer = backend.tensorMap.get(t.dataId).resource!;
    return { binding: i, resource: ranges[i] ? { buffer, ...ranges[i] } : { buffer } };
  });
  const fields = uniforms.map(([type, value]) => ({ type: type === 'f32' ? ('float32' as const) : type === 'u32' ? ('uint32' as const) : ('int32' as const), data: [value] }));
  entries.push({ binding: buffers.length, resource: backend.makeUniforms(fields) });
  const bindGroup = backend.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries });
  const groups = Math.ceil(threads / WORKGROUP);
  const x = Math.min(groups, MAX_GROUPS);
  const y = Math.ceil(groups / x);
  if (y > MAX_GROUPS) throw new Error(`${threads} threads exceed one dispatch`);
  backend.ensureCommandEncoderReady();
  backend.computePassEncoder ??= backend.commandEncoder!.beginComputePass();
  backend.computePassEncoder.setPipeline(p);
  backend.computePassEncoder.setBindGroup(0, bindGroup);
  backend.computePassEncoder.dispatchWorkgroups(x, y, 1);
  if (++backend.dispatchCountInPass >= SUBMIT_EVERY) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

/**
 * Record one dispatch of `shader` over `threads` threads, binding `buffers` (tensors, read or written:
 * each is moved to the GPU first) then the uniforms. Buffers of written tensors come from the backend's
 * pool uninitialised: a shader writes every element of its outputs.
 */
export function dispatch(backend: WebGpuBackendLike, shader: ShaderSource, buffers: tf.TensorInfo[], uniforms: Uniform[], threads: number): void {
  if (threads === 0) return;
  const limit = bindingLimit(backend.device);
  // WebGPU would reject the binding and skip the dispatch without an exception: refuse it here.
  for (const t of buffers) if (bytesOf(t) > limit) refuse(t, shader, bytesOf(t), limit, 'all');
  record(backend, pipeline(backend.device, shader.key, shader.code), buffers, buffers.map(() => null), uniforms, threads);
}

/**
 * Dispatch a kernel whose work is per sample, binding the buffers indexed by sample (`sliced[i]`: their
 * leading axis is the batch) a slice of samples at a time when a whole one is larger than the adapter
 * binds at once (`maxStorageBufferBindingSize`: 128 MiB on lavapipe and on many integrated GPUs). The
 * shader's uniforms start with `base` (the slice's first sample, for what depends on the global sample
 * index, such as its trial) and `count` (samples in the slice); it indexes sliced buffers from the slice's
 * start and runs `threadsFor(count)` threads. Slices run in sample order, one after another.
 */
export function dispatchOverSamples(
  backend: WebGpuBackendLike,
  shader: ShaderSource,
  buffers: tf.TensorInfo[],
  sliced: boolean[],
  uniforms: Uniform[],
  samples: number,
  threadsFor: (count: number) => number,
): void {
  if (samples === 0) return;
  const limit = bindingLimit(backend.device);
  const align = backend.device.limits.minStorageBufferOffsetAlignment;
  const strides = buffers.map((t, i) => (sliced[i] ? bytesOf(t) / samples : 0));
  for (const [i, t] of buffers.entries()) {
    if (!sliced[i] && bytesOf(t) > limit) refuse(t, shader, bytesOf(t), limit, 'all');
    if (sliced[i] && strides[i] > limit) refuse(t, shader, strides[i], limit, 'one sample');
  }
  // Samples per slice: as many as fit in every sliced binding, a multiple of the count that keeps every
  // slice's byte offset aligned.
  let step = 1;
  for (const stride of strides) if (stride) step = lcm(step, align / gcd(stride % align || align, align));
  const fit = Math.min(...strides.filter((x) => x > 0).map((x) => Math.floor(limit / x)), samples);
  const perSlice = fit >= samples ? samples : Math.floor(fit / step) * step;
  if (perSlice < 1) refuse(buffers[strides.indexOf(Math.max(...strides))], shader, step * Math.max(...strides), limit, `${step} aligned samples`);
  const p = pipeline(backend.device, shader.key, shader.code);
  for (let base = 0; base < samples; base += perSlice) {
    const count = Math.min(perSlice, samples - base);
    const ranges = strides.map((stride) => (stride ? { offset: base * stride, size: count * stride } : null));
    record(backend, p, buffers, ranges, [['u32', base], ['u32', count], ...uniforms], threadsFor(count));
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

/** A tensor the backend owns but no one has written yet (a kernel output or scratch buffer). */
export function emptyTensor(backend: WebGpuBackendLike, shape: number[], dtype: tf.DataType): tf.TensorInfo {
  return backend.makeTensorInfo(shape, dtype);
}

/** Small per-trial parameters as a float32 storage buffer (a scratch tensor; dispose after dispatch). */
export function paramTensor(backend: WebGpuBackendLike, values: number[]): tf.TensorInfo {
  return backend.makeTensorInfo([values.length], 'float32', Float32Array.from(values));
}
