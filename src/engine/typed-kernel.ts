import * as tf from '@tensorflow/tfjs-core';
import { opPath } from './op-path.js';
import { lifWasm, type EmscriptenModule, type LifWasmExports } from './wasm-kernels.js';
import type { WebGpuBackendLike } from './webgpu/gpu-program.js';
import { WEBGPU_KERNELS } from './webgpu/kernels.js';

/**
 * Custom kernels written once as plain typed-array loops and run on any backend.
 *
 * On `cpu` and `wasm` the loop reads its inputs where the backend keeps them (a JS typed array, or a
 * view of the wasm heap) and writes straight into the output buffers, so a kernel costs one dispatch and
 * no copies. On `webgpu` each kernel has WGSL shaders of its own (webgpu/). On the native `tensorflow`
 * backend, which takes no custom kernels, each runs as plain tf ops on its device (op-path/). On any
 * other backend the loop runs on downloaded inputs and its outputs are uploaded again (correct, slow).
 */

export type KernelArray = Float32Array | Int32Array | Uint8Array;
export type KernelDtype = 'float32' | 'int32' | 'bool';

export interface KernelOutputSpec {
  shape: number[];
  dtype: KernelDtype;
}

export interface TypedKernel<Attrs> {
  name: string;
  /** Names of the inputs, in the order `compute` receives them. */
  inputNames: readonly string[];
  /** Output shapes and dtypes from the input shapes (known before any data is touched). */
  outputs(inputShapes: number[][], attrs: Attrs): KernelOutputSpec[];
  /** The loop itself: outputs arrive zero-filled. */
  compute(inputs: KernelArray[], inputShapes: number[][], outputs: KernelArray[], attrs: Attrs): void;
  /**
   * The same computation in WebAssembly on the wasm backend's heap (optional): byte offsets of the
   * inputs and the zero-filled outputs, and `malloc`/`free` for scratch memory.
   */
  computeWasm?(lib: WasmHeap, inputs: number[], inputShapes: number[][], outputs: number[], attrs: Attrs): void;
}

export interface WasmHeap {
  kernels: LifWasmExports;
  malloc(bytes: number): number;
  free(ptr: number): void;
}

/** The parts of the cpu backend a typed kernel touches. */
interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: KernelArray): tf.TensorInfo;
}

/** The parts of the wasm backend a typed kernel touches. */
interface WasmBackendLike {
  wasm: EmscriptenModule;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): KernelArray;
}

/** Use the WebAssembly kernels where a kernel has them (tests switch this off to compare the two). */
let useWasmKernels = true;
export function setUseWasmKernels(on: boolean): void {
  useWasmKernels = on;
}

function allocate(spec: KernelOutputSpec): KernelArray {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.dtype === 'float32') return new Float32Array(size);
  if (spec.dtype === 'int32') return new Int32Array(size);
  return new Uint8Array(size);
}

function registerCpu<A>(kernel: TypedKernel<A>): void {
  tf.registerKernel({
    kernelName: kernel.name,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = backend as unknown as CpuBackendLike;
      const infos = kernel.inputNames.map((n) => inputs[n] as tf.TensorInfo);
      const shapes = infos.map((t) => t.shape);
      const arrays = infos.map((t) => cpu.data.get(t.dataId).values as KernelArray);
      const specs = kernel.outputs(shapes, attrs as unknown as A);
      const outs = specs.map(allocate);
      kernel.compute(arrays, shapes, outs, attrs as unknown as A);
      return specs.map((s, i) => cpu.makeTensorInfo(s.shape, s.dtype, outs[i]));
    },
  });
}

function registerWasm<A>(kernel: TypedKernel<A>): void {
  tf.registerKernel({
    kernelName: kernel.name,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as unknown as WasmBackendLike;
      const infos = kernel.inputNames.map((n) => inputs[n] as tf.TensorInfo);
      const shapes = infos.map((t) => t.shape);
      const specs = kernel.outputs(shapes, attrs as unknown as A);
      // Allocate every output before taking any heap view: malloc may grow (and so detach) the heap.
      const outInfos = specs.map((s) => wasm.makeOutput(s.shape, s.dtype));
      for (const o of outInfos) wasm.typedArrayFromHeap(o).fill(0); // wasm malloc does not zero
      const kernels = useWasmKernels && kernel.computeWasm ? lifWasm(wasm.wasm) : null;
      if (kernels) {
        const offset = (t: tf.TensorInfo) => wasm.dataIdMap.get(t.dataId).memoryOffset;
        const heap: WasmHeap = { kernels, malloc: (n) => wasm.wasm._malloc(n), free: (p) => wasm.wasm._free(p) };
        kernel.computeWasm!(heap, infos.map(offset), shapes, outInfos.map(offset), attrs as unknown as A);
      } else {
        const arrays = infos.map((t) => wasm.typedArrayFromHeap(t));
        const outs = outInfos.map((t) => wasm.typedArrayFromHeap(t));
        kernel.compute(arrays, shapes, outs, attrs as unknown as A);
      }
      return outInfos;
    },
  });
}

function registerWebGpu<A>(kernel: TypedKernel<A>): void {
  const gpu = WEBGPU_KERNELS[kernel.name];
  if (!gpu) return;
  tf.registerKernel({
    kernelName: kernel.name,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) =>
      gpu(backend as unknown as WebGpuBackendLike, kernel.inputNames.map((n) => inputs[n] as tf.TensorInfo), attrs),
  });
}

const registered = new Set<string>();

/** Register a typed kernel for the backends that run it in place. Idempotent. */
export function registerTypedKernel<A>(kernel: TypedKernel<A>): void {
  if (registered.has(kernel.name)) return;
  registered.add(kernel.name);
  registerCpu(kernel);
  registerWasm(kernel);
  registerWebGpu(kernel);
}

/** Backends on which a kernel runs in place (registered above) rather than by download and upload. */
function runsInPlace(kernelName: string, backendName: string): boolean {
  return backendName === 'cpu' || backendName === 'wasm' || (backendName === 'webgpu' && kernelName in WEBGPU_KERNELS);
}

/** Which path `runTypedKernel` takes: in place on cpu/wasm/webgpu, tf ops on tensorflow, else download-compute-upload. */
let forceFallback = false;
/** For tests: run the generic download/upload path even where an in-place kernel exists. */
export function setForceFallback(on: boolean): void {
  forceFallback = on;
}

/** Run a typed kernel on the current backend; returns its outputs as tensors (caller disposes). */
export function runTypedKernel<A extends object>(
  kernel: TypedKernel<A>,
  inputs: tf.Tensor[],
  attrs: A,
): tf.Tensor[] {
  registerTypedKernel(kernel);
  const backendName = tf.getBackend();
  if (!forceFallback && runsInPlace(kernel.name, backendName)) {
    const named: Record<string, tf.Tensor> = {};
    kernel.inputNames.forEach((n, i) => (named[n] = inputs[i]));
    const out = tf.engine().runKernel(kernel.name, named, attrs as unknown as tf.NamedAttrMap);
    return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
  }
  if (!forceFallback && backendName === 'tensorflow' && opPath[kernel.name]) return opPath[kernel.name](inputs, attrs);
  const shapes = inputs.map((t) => t.shape);
  const arrays = inputs.map((t) => t.dataSync() as KernelArray);
  const specs = kernel.outputs(shapes, attrs);
  const outs = specs.map(allocate);
  kernel.compute(arrays, shapes, outs, attrs);
  return specs.map((s, i) => tf.tensor(outs[i], s.shape, s.dtype));
}
