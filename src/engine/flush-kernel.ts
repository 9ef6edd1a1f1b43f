import { FLT_MIN } from '../numerics/flush.js';
import type { TypedKernel } from './typed-kernel.js';

/**
 * The subnormal rule (numerics/flush.ts) on three float32 tensors at once: each output is its input with
 * every |value| < FLT_MIN (subnormals and -0) replaced by +0. The optimiser's new W, m, v in one kernel
 * call per layer on cpu and wasm, where it runs in place on the backend's memory (three tensor ops per
 * tensor cost more there than the Adam update itself); other backends use tensor ops (train/optimiser.ts).
 * Pass a [0]-shaped tensor for an unused input (SGD has no v).
 */
export const flushKernel: TypedKernel<Record<string, never>> = {
  name: 'S2PropFlush3',
  inputNames: ['a', 'b', 'c'],
  outputs(shapes) {
    return shapes.map((shape) => ({ shape, dtype: 'float32' as const }));
  },
  compute(inputs, _shapes, outputs) {
    for (let t = 0; t < inputs.length; t++) {
      const x = inputs[t];
      const y = outputs[t];
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        y[i] = Math.abs(v) < FLT_MIN ? 0 : v;
      }
    }
  },
};
