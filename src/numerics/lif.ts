import { FLT_MIN } from './flush.js';

/**
 * One step of the LIF recurrence (docs/contract.md, "Forward pass" and "The subnormal rule") as the
 * TypeScript loops run it: the engine's typed kernel (engine/lif-forward-kernel.ts) and calibrated rounding
 * (quant/calibration-lif.ts). Each operation is rounded to float32 and the stored I and V are flushed. The
 * functions are small so that V8 inlines them into those loops.
 * Independent copies on purpose: the chip simulator's layer program (chip/sim/programs/layer.ts), the float64
 * oracle (test/oracle/eventprop-oracle.ts); and, being other languages or tensor ops, the WebAssembly
 * (engine/wasm/lif-kernels.wat), WGSL (engine/webgpu/lif-forward.ts) and op-path (engine/op-path/lif-forward.ts) kernels.
 */

/** The constants of a layer's neurons, float32 values. */
export interface LifConstants {
  alpha: number;
  beta: number;
  oneMinusBeta: number;
  threshold: number;
}

const fround = Math.fround;

/** The synaptic current after a step: flush(f32(f32(alpha * I) + x)), x the step's float32 synaptic input. */
export function lifCurrent(alpha: number, I: number, x: number): number {
  const i = fround(fround(alpha * I) + x);
  return Math.abs(i) < FLT_MIN ? 0 : i;
}

/**
 * The membrane after a step, before the threshold and reset: flush(f32(f32(beta * V) + f32(oneMinusBeta * I)))
 * with I the step's new current. The neuron spikes when it is > threshold (strictly), and V is then 0.
 */
export function lifMembrane(beta: number, oneMinusBeta: number, V: number, I: number): number {
  const v = fround(fround(beta * V) + fround(oneMinusBeta * I));
  return Math.abs(v) < FLT_MIN ? 0 : v;
}
