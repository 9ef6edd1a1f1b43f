import * as tf from '@tensorflow/tfjs-core';
// The cpu backend registers itself on import (the full @tensorflow/tfjs bundle is not loaded: it
// would double the CLI's start-up time for layers and converters we do not use).
import '@tensorflow/tfjs-backend-cpu';
import { setFlagsFromString } from 'node:v8';
import { SettingError } from '../errors.js';
import { adapterName, probeAdapter } from './webgpu/adapter.js';

export const BACKENDS = ['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

/** The native TensorFlow bindings, GPU first; absent here (their install cannot download libtensorflow). */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

async function loadNative(): Promise<string | null> {
  for (const pkg of NATIVE_PACKAGES) {
    try {
      await import(pkg);
      if (tf.findBackend('tensorflow')) return pkg;
    } catch {
      // Not installed, or its native library is missing: try the next one.
    }
  }
  return null;
}

let wasmLoaded = false;
let webgpuLoaded = false;
let note: string | null = null;

/** What the last `useBackend` saw that the user should know (the adapter, or why it was not used). */
export function backendNote(): string | null {
  return note;
}

/**
 * Register tfjs's WebGPU backend on a hardware or software adapter. The backend registers itself only
 * when `navigator.gpu` exists as it is imported, so the adapter comes first. Returns the adapter's
 * name, or why it cannot.
 */
async function loadWebGpu(): Promise<{ name: string; software: boolean } | { missing: string }> {
  const probe = await probeAdapter();
  if (!probe.ok) return { missing: probe.missing };
  if (!webgpuLoaded) {
    const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: GPU };
    if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: probe.gpu, configurable: true });
    try {
      await import('@tensorflow/tfjs-backend-webgpu');
    } catch {
      return { missing: 'the optional package @tensorflow/tfjs-backend-webgpu is not installed (npm install @tensorflow/tfjs-backend-webgpu@4.22.0)' };
    }
    webgpuLoaded = true;
  }
  return { name: adapterName(probe.info), software: probe.info.software };
}

/**
 * Select and initialise a backend. `auto` takes the native TensorFlow backend when its package loads
 * (GPU through tfjs-node-gpu), then WebGPU on a hardware adapter, otherwise wasm (a software adapter
 * such as lavapipe is slower than wasm). Returns the backend's name; `backendNote()` says which
 * adapter was seen.
 */
export async function useBackend(choice: BackendChoice = 'auto'): Promise<string> {
  let name: string = choice;
  note = null;
  if (choice === 'auto' || choice === 'tensorflow') {
    const native = await loadNative();
    if (native) name = 'tensorflow';
    else if (choice === 'tensorflow') {
      throw new SettingError('backend', 'tensorflow', 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node could be loaded (install one of them, or use the wasm, cpu or webgpu backend)');
    } else {
      const gpu = await loadWebGpu();
      if ('missing' in gpu) {
        name = 'wasm';
        note = `webgpu not used: ${gpu.missing}`;
      } else if (gpu.software) {
        name = 'wasm';
        note = `webgpu adapter ${gpu.name} is a software one, slower than wasm: using wasm (asking for the webgpu backend forces it)`;
      } else {
        name = 'webgpu';
        note = `webgpu adapter ${gpu.name}`;
      }
    }
  }
  if (choice === 'webgpu') {
    const gpu = await loadWebGpu();
    if ('missing' in gpu) throw new SettingError('backend', 'webgpu', gpu.missing);
    note = `webgpu adapter ${gpu.name}`;
  }
  if (name === 'wasm' && !wasmLoaded) {
    // V8's dynamic tiering starts wasm in its baseline compiler and makes some runs 3-4x slower
    // (docs/design.md): compile the kernels with the optimising compiler from the start.
    setFlagsFromString('--no-wasm-dynamic-tiering');
    await import('@tensorflow/tfjs-backend-wasm');
    wasmLoaded = true;
  }
  if (name === 'webgpu') {
    // Small tensors stay on the GPU too: the engine's kernels read every input from a GPU buffer.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
  }
  if (!(await tf.setBackend(name))) throw new SettingError('backend', name, 'the backend failed to initialise');
  await tf.ready();
  return tf.getBackend();
}

export function parseBackend(value: string): BackendChoice {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendChoice;
  throw new SettingError('backend', undefined, `unknown backend '${value}' (expected one of ${BACKENDS.join(', ')})`);
}
