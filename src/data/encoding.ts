import { roundHalfEven } from '../numerics/round.js';
import type { Dataset } from './dataset.js';

export interface LatencyEncoding {
  steps: number;
  tMin: number;
  tMax: number;
  bias: boolean;
}

const f = Math.fround;

/**
 * Spike step of one feature value (docs/contract.md, "Input encoding"):
 * round(tMin + (tMax - tMin) * (1 - v)), half to even. The value is cast to float32 and the
 * arithmetic done in float32, operation by operation, as the chip's input program does.
 */
export function latencyStep(v: number, enc: LatencyEncoding): number {
  const t = f(enc.tMin + f(f(enc.tMax - enc.tMin) * f(1 - f(v))));
  return roundHalfEven(t);
}

/** Number of network inputs: the features, plus the bias input (last) when the encoding has one. */
export function encodedInputs(features: number, enc: LatencyEncoding): number {
  return features + (enc.bias ? 1 : 0);
}

/**
 * Encode a whole dataset once: the spike step of every input of every sample, int32 [count, inputs].
 * Every input spikes exactly once; the bias input spikes at step 0.
 */
export function encodeDataset(ds: Dataset, enc: LatencyEncoding): Int32Array {
  const nf = ds.featureNames.length;
  const nIn = encodedInputs(nf, enc);
  const out = new Int32Array(ds.count * nIn);
  for (let s = 0; s < ds.count; s++) {
    for (let k = 0; k < nf; k++) out[s * nIn + k] = latencyStep(ds.features[s * nf + k], enc);
    if (enc.bias) out[s * nIn + nf] = 0;
  }
  return out;
}

/**
 * The dense input raster of a batch, bool [B, T, inputs] as a Uint8Array, from encoded spike steps
 * (`order` picks the samples).
 */
export function batchRaster(encoded: Int32Array, inputs: number, steps: number, order: ArrayLike<number>): Uint8Array {
  const B = order.length;
  const raster = new Uint8Array(B * steps * inputs);
  for (let b = 0; b < B; b++) {
    const s = order[b];
    for (let k = 0; k < inputs; k++) {
      const step = encoded[s * inputs + k];
      if (step >= 0 && step < steps) raster[(b * steps + step) * inputs + k] = 1;
    }
  }
  return raster;
}
