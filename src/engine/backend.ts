import * as tf from '@tensorflow/tfjs-core';
// The cpu backend registers itself on import (the full @tensorflow/tfjs bundle is not loaded: it
// would double the CLI's start-up time for layers and converters we do not use).
import '@tensorflow/tfjs-backend-cpu';
import { setFlagsFromString } from 'node:v8';
import { UserError } from '../errors.js';

export const BACKENDS = ['auto', 'wasm', 'cpu', 'tensorflow'] as const;
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

/**
 * Select and initialise a backend. `auto` takes the native TensorFlow backend when its package loads
 * (GPU through tfjs-node-gpu), otherwise wasm. Returns the backend's name.
 */
export async function useBackend(choice: BackendChoice = 'auto'): Promise<string> {
  let name: string = choice;
  if (choice === 'auto' || choice === 'tensorflow') {
    const native = await loadNative();
    if (native) name = 'tensorflow';
    else if (choice === 'tensorflow') {
      throw new UserError(
        '--backend tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node could be loaded ' +
          '(install one of them, or use --backend wasm|cpu)',
      );
    } else name = 'wasm';
  }
  if (name === 'wasm' && !wasmLoaded) {
    // V8's dynamic tiering starts wasm in its baseline compiler and makes some runs 3-4x slower
    // (DESIGN.md): compile the kernels with the optimising compiler from the start.
    setFlagsFromString('--no-wasm-dynamic-tiering');
    await import('@tensorflow/tfjs-backend-wasm');
    wasmLoaded = true;
  }
  if (!(await tf.setBackend(name))) throw new UserError(`--backend ${name}: the backend failed to initialise`);
  await tf.ready();
  return tf.getBackend();
}

export function parseBackend(value: string): BackendChoice {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendChoice;
  throw new UserError(`--backend: unknown backend '${value}' (expected one of ${BACKENDS.join(', ')})`);
}
