import { SettingError, UserError } from '../errors.js';
import { roundHalfEven } from '../numerics/round.js';

/**
 * Weight quantisation for the chip: signed integer mantissas with one power-of-two scale per layer,
 * `w ≈ m * 2^exp`, the scale chosen so that a percentile of |w| maps to the largest mantissa (the Loihi
 * exporter's rule). Because the scale is a power of two, the chip can keep every state in the scaled
 * domain (I/2^exp, V/2^exp, threshold/2^exp) and accumulate integer mantissas exactly, and the result is
 * bit for bit the float32 network with the dequantised weights.
 */

export const QUANTS = ['float32', 'int8', 'int4'] as const;
export type QuantType = (typeof QUANTS)[number];

/** Largest mantissa magnitude (symmetric range, so -max..max). */
export function mantissaMax(q: QuantType): number {
  if (q === 'int8') return 127;
  if (q === 'int4') return 7;
  throw new Error(`no mantissa range for ${q}`);
}

export function parseQuant(value: string, flag = '--quant'): QuantType {
  if ((QUANTS as readonly string[]).includes(value)) return value as QuantType;
  throw new UserError(`${flag}: unknown quantisation '${value}' (expected ${QUANTS.join(', ')})`);
}

/**
 * How mantissas are chosen: `nearest` rounds every weight on its own (half to even); `calibrated` chooses
 * them on calibration data (calibrated-rounding.ts).
 */
export const ROUNDINGS = ['nearest', 'calibrated'] as const;
export type Rounding = (typeof ROUNDINGS)[number];

export function parseRounding(value: string, flag = '--rounding'): Rounding {
  if ((ROUNDINGS as readonly string[]).includes(value)) return value as Rounding;
  throw new UserError(`${flag}: unknown rounding '${value}' (expected ${ROUNDINGS.join(', ')})`);
}

export interface LayerQuantisation {
  /** The layer's scale is 2^exp. */
  exp: number;
  /** Row-major [inputs][outputs] mantissas. */
  mantissas: Int32Array;
  rows: number;
  cols: number;
  /** Weights whose magnitude exceeded the range and were clipped. */
  clipped: number;
  maxAbsError: number;
  rmsError: number;
}

/** The value at percentile p (0..100) of |values|, by the nearest-rank rule. */
export function absPercentile(values: ArrayLike<number>, p: number): number {
  const a = Float64Array.from(values, Math.abs).sort();
  if (a.length === 0) return 0;
  const rank = Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1));
  return a[rank];
}

/**
 * Quantise one layer's weights [inputs][outputs] to the nearest mantissas. `percentile` 100 clips
 * nothing; `fixedExp` replaces the percentile rule's exponent.
 */
export function quantiseLayer(weights: number[][], q: Exclude<QuantType, 'float32'>, percentile: number, fixedExp?: number): LayerQuantisation {
  if (!(percentile > 0 && percentile <= 100)) throw new SettingError('clipPercentile', undefined, `expected a number in (0, 100], got ${percentile}`);
  const flat = weights.flat();
  const max = mantissaMax(q);
  const ref = absPercentile(flat, percentile);
  // The smallest power of two with ref / 2^exp <= max: the reference magnitude fits the mantissa range.
  const exp = fixedExp ?? (ref > 0 ? Math.ceil(Math.log2(ref / max)) : 0);
  return layerFromMantissas(weights, exp, nearestMantissas(flat, exp, max), max);
}

/**
 * A layer quantised to given mantissas with the scale 2^exp: its clipped weights (those whose nearest
 * mantissa is out of range) and its error against the float weights.
 */
export function layerFromMantissas(weights: number[][], exp: number, mantissas: Int32Array, max: number): LayerQuantisation {
  const rows = weights.length;
  const cols = weights[0].length;
  const scale = 2 ** exp;
  let clipped = 0;
  let maxAbsError = 0;
  let sq = 0;
  weights.flat().forEach((w, i) => {
    if (Math.abs(roundHalfEven(w / scale)) > max) clipped++;
    const err = Math.abs(w - mantissas[i] * scale);
    maxAbsError = Math.max(maxAbsError, err);
    sq += err * err;
  });
  return { exp, mantissas, rows, cols, clipped, maxAbsError, rmsError: Math.sqrt(sq / (rows * cols)) };
}

/** Dequantised weights [inputs][outputs] (exact in float32: small integers times a power of two). */
export function dequantise(layer: Pick<LayerQuantisation, 'exp' | 'mantissas' | 'rows' | 'cols'>): number[][] {
  const scale = 2 ** layer.exp;
  return Array.from({ length: layer.rows }, (_, k) => Array.from({ length: layer.cols }, (_, j) => layer.mantissas[k * layer.cols + j] * scale));
}

/** Quantise every layer; for float32 return null (weights stay as trained). */
export function quantiseWeights(layers: number[][][], q: QuantType, percentile: number): LayerQuantisation[] | null {
  return q === 'float32' ? null : layers.map((w) => quantiseLayer(w, q, percentile));
}

/**
 * Mantissas of `values` at a given exponent (round half to even, clipped to the range): how a host
 * rewrites the weights of an existing export, whose scale stays as exported.
 */
export function mantissasAt(values: ArrayLike<number>, q: Exclude<QuantType, 'float32'>, exp: number): Int32Array {
  return nearestMantissas(values, exp, mantissaMax(q));
}

/** Round-to-nearest: each value's mantissa at scale 2^exp, half to even, clipped to ±max. */
export function nearestMantissas(values: ArrayLike<number>, exp: number, max: number): Int32Array {
  const scale = 2 ** exp;
  return Int32Array.from(values, (w) => Math.max(-max, Math.min(max, roundHalfEven(w / scale))));
}
