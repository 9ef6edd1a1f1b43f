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

/**
 * Record one dispatch of `shader` over `threads` threads, binding `buffers` (tensors, read or written:
 * each is moved to the GPU first) then the uniforms. Buffers of written tensors come from the backend's
 * pool uninitialised: a shader writes every element of its outputs.
 */
export function dispatch(backend: WebGpuBackendLike, shader: ShaderSource, buffers: tf.TensorInfo[], uniforms: Uniform[], threads: number): void {
  if (threads === 0) return;
  const p = pipeline(backend.device, shader.key, shader.code);
  const limit = backend.device.limits.maxStorageBufferBindingSize;
  const entries: GPUBindGroupEntry[] = buffers.map((t, i) => {
    const bytes = 4 * t.shape.reduce((a, b) => a * b, 1);
    // WebGPU would reject the binding and skip the dispatch without an exception: refuse it here.
    if (bytes > limit) {
      throw new UserError(
        `webgpu: a [${t.shape.join(', ')}] tensor of the ${shader.key} kernel takes ${mib(bytes)} MiB, more than this adapter binds at once ` +
          `(maxStorageBufferBindingSize ${mib(limit)} MiB): use a smaller batch (or fewer stacked trials)`,
      );
    }
    backend.uploadToGPU(t.dataId);
    backend.commandQueueOwnedIds.add(t.dataId);
    return { binding: i, resource: { buffer: backend.tensorMap.get(t.dataId).resource! } };
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
