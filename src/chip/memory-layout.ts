import { flushSubnormal } from '../numerics/flush.js';
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
 *   13 number of regions   14 sends spikes (0: an output layer in an inference export)
 *   15 training export (1: the training regions below exist)
 *   16.. region table: (region id, offset in words, size in words)
 *
 * The loss program's header has layer = the output layer and neurons = inputs = its outputs; the
 * optimiser's has layer 0, neurons = the layer slices it holds, inputs = the weights it holds.
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
  /** 1 in a training export: the input and layer programs have their training regions */
  training: 15,
  regionTable: 16,
} as const;

export const PROGRAMS = { input: 1, layer: 2, loss: 3, optimiser: 4 } as const;
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
  /** training input: spike bitmap per step [T][ceil(inputs/32)], from the features or written by the host */
  raster: 11,
  /** training, host-written per sample window. input: mode (0 idle, 1 features, 2 raster); loss: label,
   *  batch size, active; optimiser: update (1 on the last round of a batch), learning rate (float32) */
  control: 12,
  /** training layer: 1 - alpha, eps, tauSyn in seconds (float32), gradient packets per tick, gather ticks */
  trainParams: 13,
  /** training layer: input spike bitmap per step [T][ceil(inputs/32)] */
  inputRecord: 14,
  /** training layer: I - Vpre per step and neuron [T][n] (float32; only written where the neuron spiked) */
  spikeD: 15,
  /** training layer: lamI and lamV per neuron (float32) */
  adjoint: 16,
  /** training layer: errors received for this step's spikes, per neuron (float32) */
  errorInbox: 17,
  /** training layer: this window's weight gradient [inputs][n]; optimiser: the gathered gradient */
  gradients: 18,
  /** loss: the error dL/dt per output neuron (float32) */
  errors: 19,
  /** loss: CE and R of the sample (float32) */
  lossTerms: 20,
  /** optimiser: per held slice (layer, slice, inputs, neurons, offset), after the count */
  paramSlices: 21,
  /** optimiser: Adam first and second moments, [m...][v...] (float32) */
  moments: 22,
  /** optimiser: Adam step count, beta1^t, beta2^t (float32) */
  adamState: 23,
} as const;
export type RegionName = keyof typeof REGIONS;

/** Regions whose contents change during a run; the simulator restores them before every sample. */
export const MUTABLE_REGIONS: RegionName[] = [
  'state',
  'inbox',
  'firstSpikes',
  'spikeRecord',
  'features',
  'spikeTimes',
  'raster',
  'inputRecord',
  'spikeD',
  'adjoint',
  'errorInbox',
  'errors',
  'lossTerms',
];

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

/**
 * The regions of a layer PE holding `n` neurons of a layer with `inputs` inputs and `sourceSlices` source
 * slices; `training` adds what the backward window needs.
 */
export function layerRegions(n: number, inputs: number, steps: number, q: QuantType, sourceSlices: number, training = false): RegionSpec[] {
  const forward: RegionSpec[] = [
    { name: 'header', words: HEADER_WORDS },
    { name: 'params', words: 4 },
    { name: 'weights', words: inputs * weightRowWords(n, q) },
    { name: 'sourceSlices', words: 1 + sourceSlices },
    { name: 'state', words: 2 * n },
    { name: 'inbox', words: 2 * bitmapWords(inputs) },
    { name: 'firstSpikes', words: n },
    { name: 'spikeRecord', words: steps * bitmapWords(n) },
  ];
  if (!training) return forward;
  return [
    ...forward,
    { name: 'trainParams', words: TRAIN_PARAMS_WORDS },
    { name: 'inputRecord', words: steps * bitmapWords(inputs) },
    { name: 'spikeD', words: steps * n },
    { name: 'adjoint', words: 2 * n },
    { name: 'errorInbox', words: n },
    { name: 'gradients', words: inputs * n },
  ];
}

export const TRAIN_PARAMS_WORDS = 5;

/** The regions of an input PE for `features` features (plus the bias input when there is one). */
export function inputRegions(features: number, inputs: number, steps: number, training = false): RegionSpec[] {
  const regions: RegionSpec[] = [
    { name: 'header', words: HEADER_WORDS },
    { name: 'params', words: 4 },
    { name: 'features', words: features },
    { name: 'spikeTimes', words: inputs },
  ];
  return training ? [...regions, { name: 'raster', words: steps * bitmapWords(inputs) }, { name: 'control', words: 1 }] : regions;
}

/** Loss params: xi, a, tau1 (float32), then the number of output neurons. */
export const LOSS_PARAMS_WORDS = 4;
/** Loss control: label, batch size, active. */
export const LOSS_CONTROL_WORDS = 3;

/** The regions of a loss PE for `outputs` output neurons in `sourceSlices` slices. */
export function lossRegions(outputs: number, sourceSlices: number): RegionSpec[] {
  return [
    { name: 'header', words: HEADER_WORDS },
    { name: 'params', words: LOSS_PARAMS_WORDS },
    { name: 'sourceSlices', words: 1 + sourceSlices },
    { name: 'firstSpikes', words: outputs },
    { name: 'control', words: LOSS_CONTROL_WORDS },
    { name: 'errors', words: outputs },
    { name: 'lossTerms', words: 2 },
  ];
}

/** Optimiser params: beta1, beta2, eps, weight decay, 1 - beta1, 1 - beta2 (float32), packets per tick, gather ticks. */
export const OPTIMISER_PARAMS_WORDS = 8;
export const PARAM_SLICE_WORDS = 5;

/** The regions of an optimiser PE holding `slices` layer slices with `weights` weights in all. */
export function optimiserRegions(slices: number, weights: number): RegionSpec[] {
  return [
    { name: 'header', words: HEADER_WORDS },
    { name: 'params', words: OPTIMISER_PARAMS_WORDS },
    { name: 'paramSlices', words: 1 + PARAM_SLICE_WORDS * slices },
    { name: 'weights', words: weights },
    { name: 'moments', words: 2 * weights },
    { name: 'gradients', words: weights },
    { name: 'adamState', words: 3 },
    { name: 'control', words: 2 },
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
    // float32 weights are stored flushed (numerics/flush.ts): a subnormal weight is written as +0
    const f = new Float32Array(out.buffer, out.byteOffset + 4 * offset, rows * rowWords);
    for (let i = 0; i < rows * cols; i++) f[i] = flushSubnormal(Math.fround(mantissas[i]));
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
