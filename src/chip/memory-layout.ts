import type { QuantType } from './quantise.js';

/**
 * The memory image of a PE: little-endian 32-bit words, a fixed header, then regions. The header
 * names the program and holds a region table, so a program finds everything in its own image; the
 * exporter writes images with these definitions and the simulator's programs read them with the same
 * ones (as a chip's C program and the host tools would share a header file).
 *
 * Header (word index: meaning):
 *   0 magic 'S2PR'   1 layout version   2 program   3 slot   4 layer (0 = input program)   5 slice
 *   6 first neuron of the slice   7 neurons in the slice   8 inputs of the layer   9 steps T
 *   10 quantisation (0 float32, 1 int8, 2 int4)   11 weight exponent (int32)   12 key base of own spikes
 *   13 number of regions   14 sends spikes (0: an output layer in an inference export)   15 reserved
 *   16.. region table: (region id, offset in words, size in words)
 */

export const MAGIC = 0x52503253; // 'S2PR' little-endian
export const LAYOUT_VERSION = 1;
export const HEADER_WORDS = 64;
export const MAX_REGIONS = 16;

export const H = {
  magic: 0,
  version: 1,
  program: 2,
  slot: 3,
  layer: 4,
  slice: 5,
  neuronStart: 6,
  neuronCount: 7,
  inputs: 8,
  steps: 9,
  quant: 10,
  weightExp: 11,
  keyBase: 12,
  regionCount: 13,
  sends: 14,
  regionTable: 16,
} as const;

export const PROGRAMS = { input: 1, layer: 2 } as const;
export type ProgramName = keyof typeof PROGRAMS;

export const QUANT_CODES: Record<QuantType, number> = { float32: 0, int8: 1, int4: 2 };
export const WEIGHT_BITS: Record<QuantType, number> = { float32: 32, int8: 8, int4: 4 };

/** Region ids and what they hold. */
export const REGIONS = {
  header: 1,
  /** layer: alpha, beta, 1-beta, threshold in the scaled domain (float32 bits); input: tMin, tMax, bias, features */
  params: 2,
  /** layer: weights [inputs][neurons of the slice], rows start on word boundaries */
  weights: 3,
  /** layer: the first neuron index of each slice of the source population (count, then starts) */
  sourceSlices: 4,
  /** layer: I and V per neuron (float32) */
  state: 5,
  /** layer: bitmaps of the input spikes received, two buffers (this tick's, next tick's) */
  inbox: 6,
  /** layer: first-spike step per neuron (T when silent) */
  firstSpikes: 7,
  /** layer: spike bitmap per step [T][ceil(n/32)] */
  spikeRecord: 8,
  /** input: feature values written by the host per sample (float32) */
  features: 9,
  /** input: spike step of every input, computed at start */
  spikeTimes: 10,
} as const;
export type RegionName = keyof typeof REGIONS;

/** Regions whose contents change during a run; the simulator restores them before every sample. */
export const MUTABLE_REGIONS: RegionName[] = ['state', 'inbox', 'firstSpikes', 'spikeRecord', 'features', 'spikeTimes'];

export interface RegionSpec {
  name: RegionName;
  words: number;
}

export interface Region extends RegionSpec {
  offset: number;
}

/** Words of one weight row of `n` neurons in the given format. */
export function weightRowWords(n: number, q: QuantType): number {
  return Math.ceil((n * WEIGHT_BITS[q]) / 32);
}

export function bitmapWords(n: number): number {
  return Math.ceil(n / 32);
}

/** The regions of a layer PE holding `n` neurons of a layer with `inputs` inputs and `sourceSlices` source slices. */
export function layerRegions(n: number, inputs: number, steps: number, q: QuantType, sourceSlices: number): RegionSpec[] {
  return [
    { name: 'header', words: HEADER_WORDS },
    { name: 'params', words: 4 },
    { name: 'weights', words: inputs * weightRowWords(n, q) },
    { name: 'sourceSlices', words: 1 + sourceSlices },
    { name: 'state', words: 2 * n },
    { name: 'inbox', words: 2 * bitmapWords(inputs) },
    { name: 'firstSpikes', words: n },
    { name: 'spikeRecord', words: steps * bitmapWords(n) },
  ];
}

/** The regions of an input PE for `features` features (plus the bias input when there is one). */
export function inputRegions(features: number, inputs: number): RegionSpec[] {
  return [
    { name: 'header', words: HEADER_WORDS },
    { name: 'params', words: 4 },
    { name: 'features', words: features },
    { name: 'spikeTimes', words: inputs },
  ];
}

/** Lay regions out one after the other. */
export function layOut(specs: RegionSpec[]): { regions: Region[]; words: number } {
  let offset = 0;
  const regions = specs.map((s) => {
    const r = { ...s, offset };
    offset += s.words;
    return r;
  });
  return { regions, words: offset };
}

export function totalBytes(specs: RegionSpec[]): number {
  return 4 * specs.reduce((a, s) => a + s.words, 0);
}

/** Signed mantissa m packed into `bits` bits (two's complement), and back. */
export function packWeights(mantissas: ArrayLike<number>, rows: number, cols: number, q: QuantType, out: Uint32Array, offset: number): void {
  const rowWords = weightRowWords(cols, q);
  if (q === 'float32') {
    const f = new Float32Array(out.buffer, out.byteOffset + 4 * offset, rows * rowWords);
    for (let i = 0; i < rows * cols; i++) f[i] = mantissas[i];
    return;
  }
  const bits = WEIGHT_BITS[q];
  const perWord = 32 / bits;
  const mask = 2 ** bits - 1;
  for (let k = 0; k < rows; k++) {
    for (let j = 0; j < cols; j++) {
      const w = offset + k * rowWords + Math.floor(j / perWord);
      out[w] = (out[w] | ((mantissas[k * cols + j] & mask) << ((j % perWord) * bits))) >>> 0;
    }
  }
}

/** Read mantissa (k, j) of a packed integer weight matrix. */
export function unpackWeight(words: Uint32Array, offset: number, rowWords: number, bits: number, k: number, j: number): number {
  const perWord = 32 / bits;
  const word = words[offset + k * rowWords + Math.floor(j / perWord)];
  const raw = (word >>> ((j % perWord) * bits)) & (2 ** bits - 1);
  return raw >= 2 ** (bits - 1) ? raw - 2 ** bits : raw;
}
