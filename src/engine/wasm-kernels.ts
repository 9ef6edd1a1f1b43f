import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The WebAssembly build of the LIF kernels (wasm/lif-kernels.wat, assembled into dist/ by the build),
 * instantiated on the tfjs wasm backend's own memory so that it reads and writes tensors in place.
 */

/** The parts of the tfjs wasm backend's emscripten module that the kernels use. */
export interface EmscriptenModule {
  asm: { memory: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

export interface LifWasmExports {
  lif_forward(...args: number[]): void;
  lif_adjoint(...args: number[]): void;
}

const CANDIDATES = [
  // next to this module in dist/
  new URL('./wasm/lif-kernels.wasm', import.meta.url),
  // when running from src/ (tests), the built copy
  new URL('../../dist/engine/wasm/lif-kernels.wasm', import.meta.url),
];

let compiled: WebAssembly.Module | null | undefined;
const instances = new WeakMap<WebAssembly.Memory, LifWasmExports>();

function compiledModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    const file = CANDIDATES.map((u) => fileURLToPath(u)).find((p) => existsSync(p));
    compiled = file ? new WebAssembly.Module(readFileSync(file)) : null;
  }
  return compiled;
}

/** The kernels bound to this backend's memory, or null when the .wasm file was not built. */
export function lifWasm(module: EmscriptenModule): LifWasmExports | null {
  const memory = module.asm.memory;
  let inst = instances.get(memory);
  if (!inst) {
    const mod = compiledModule();
    if (!mod) return null;
    inst = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as LifWasmExports;
    instances.set(memory, inst);
  }
  return inst;
}

/** Whether the WebAssembly kernels are built and will be used on the wasm backend. */
export function wasmKernelsBuilt(): boolean {
  return compiledModule() !== null;
}
