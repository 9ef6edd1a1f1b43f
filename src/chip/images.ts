import { KIND_SPIKE, makeKey } from './key-layout.js';
import {
  H,
  HEADER_WORDS,
  LAYOUT_VERSION,
  MAGIC,
  MAX_REGIONS,
  PARAM_SLICE_WORDS,
  PROGRAMS,
  QUANT_CODES,
  REGIONS,
  layOut,
  packWeights,
  weightRowWords,
  type Region,
} from './memory-layout.js';
import type { PePlacement, Placement } from './placement.js';
import { flushSubnormal } from '../numerics/flush.js';
import type { QuantType } from './quantise.js';

/** What the images of one export are made from. */
export interface ImageSource {
  steps: number;
  encoding: { tMin: number; tMax: number; bias: boolean };
  features: number;
  constants: { alpha: number; beta: number; oneMinusBeta: number; threshold: number };
  quant: QuantType;
  /** Per layer: float32 weights (float32 export) or integer mantissas, row-major [inputs][outputs]. */
  layers: { values: ArrayLike<number>; rows: number; cols: number; exp: number }[];
  /** A training export's settings (float32 weights). */
  training?: TrainingSource;
}

export interface TrainingSource {
  oneMinusAlpha: number;
  eps: number;
  tauSynSeconds: number;
  loss: { xi: number; a: number; tau1: number };
  adam: { beta1: number; beta2: number; eps: number; weightDecay: number };
  /** Gradient packets a layer PE sends per tick, and weights the optimiser updates per tick. */
  packetsPerTick: number;
  /** Ticks of the gradient gather (enough for the largest layer slice). */
  gatherTicks: number;
}

export interface PeImage {
  words: Uint32Array;
  regions: Region[];
}

const f32bits = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];

/** Build the memory image of one placed PE. */
export function buildImage(pe: PePlacement, placement: Placement, src: ImageSource): PeImage {
  const { regions, words: size } = layOut(pe.regions);
  if (regions.length > MAX_REGIONS) throw new Error('too many regions');
  const words = new Uint32Array(size);
  const at = (name: keyof typeof REGIONS) => regions.find((r) => r.name === name)!.offset;
  const layer = pe.layer > 0 ? src.layers[pe.layer - 1] : null;
  words[H.magic] = MAGIC;
  words[H.version] = LAYOUT_VERSION;
  words[H.program] = PROGRAMS[pe.program];
  words[H.slot] = pe.slot;
  words[H.layer] = pe.layer;
  words[H.slice] = pe.slice;
  words[H.neuronStart] = pe.neuronStart;
  words[H.neuronCount] = pe.neuronCount;
  words[H.inputs] = pe.inputs;
  words[H.steps] = src.steps;
  words[H.quant] = QUANT_CODES[src.quant];
  words[H.weightExp] = (layer?.exp ?? 0) >>> 0;
  words[H.keyBase] = makeKey({ kind: KIND_SPIKE, slot: pe.slot, layer: pe.layer, slice: pe.slice, neuron: 0 });
  words[H.regionCount] = regions.length;
  const training = src.training !== undefined;
  words[H.sends] = pe.layer < placement.slices.length - 1 || training ? 1 : 0;
  words[H.training] = training ? 1 : 0;
  regions.forEach((r, i) => {
    words[H.regionTable + 3 * i] = REGIONS[r.name];
    words[H.regionTable + 3 * i + 1] = r.offset;
    words[H.regionTable + 3 * i + 2] = r.words;
  });
  if (HEADER_WORDS < H.regionTable + 3 * regions.length) throw new Error('header too small');

  const params = at('params');
  if (pe.program === 'input') {
    words[params] = src.encoding.tMin;
    words[params + 1] = src.encoding.tMax;
    words[params + 2] = src.encoding.bias ? 1 : 0;
    words[params + 3] = src.features;
    return { words, regions };
  }
  if (pe.program === 'loss') {
    const { xi, a, tau1 } = src.training!.loss;
    [xi, a, tau1].forEach((v, i) => (words[params + i] = f32bits(v)));
    words[params + 3] = pe.neuronCount;
    writeSourceSlices(words, at('sourceSlices'), placement.slices[pe.layer]);
    words.fill(src.steps, at('firstSpikes'), at('firstSpikes') + pe.neuronCount);
    return { words, regions };
  }
  if (pe.program === 'optimiser') {
    const t = src.training!;
    const { beta1, beta2, eps, weightDecay } = t.adam;
    [beta1, beta2, eps, weightDecay, 1 - beta1, 1 - beta2].forEach((v, i) => (words[params + i] = f32bits(v)));
    words[params + 6] = t.packetsPerTick;
    words[params + 7] = t.gatherTicks;
    const table = at('paramSlices');
    const weights = new Float32Array(words.buffer, words.byteOffset + 4 * at('weights'), pe.inputs);
    words[table] = pe.holds!.length;
    let offset = 0;
    pe.holds!.forEach((h, i) => {
      [h.layer, h.slice, h.inputs, h.neurons, offset].forEach((v, f) => (words[table + 1 + PARAM_SLICE_WORDS * i + f] = v));
      const layer = src.layers[h.layer - 1];
      const start = placement.slices[h.layer][h.slice];
      for (let k = 0; k < h.inputs; k++) for (let j = 0; j < h.neurons; j++) weights[offset + k * h.neurons + j] = flushSubnormal(Math.fround(layer.values[k * layer.cols + start + j]));
      offset += h.inputs * h.neurons;
    });
    const adam = at('adamState');
    words[adam + 1] = f32bits(1);
    words[adam + 2] = f32bits(1);
    return { words, regions };
  }
  const { alpha, beta, oneMinusBeta, threshold } = src.constants;
  // States live in the layer's scaled domain (weights are mantissas times 2^exp): threshold / 2^exp,
  // exact because the scale is a power of two.
  const scaledThreshold = Math.fround(threshold / 2 ** layer!.exp);
  [alpha, beta, oneMinusBeta, scaledThreshold].forEach((v, i) => (words[params + i] = f32bits(v)));
  // This slice's columns of the weight matrix.
  const n = pe.neuronCount;
  const cols = new Float64Array(layer!.rows * n);
  for (let k = 0; k < layer!.rows; k++) for (let j = 0; j < n; j++) cols[k * n + j] = layer!.values[k * layer!.cols + pe.neuronStart + j];
  packWeights(cols, layer!.rows, n, src.quant, words, at('weights'));
  if (weightRowWords(n, src.quant) * layer!.rows !== regions.find((r) => r.name === 'weights')!.words) throw new Error('weight region size');
  writeSourceSlices(words, at('sourceSlices'), placement.slices[pe.layer - 1]);
  words.fill(src.steps, at('firstSpikes'), at('firstSpikes') + n);
  if (src.training) {
    const t = src.training;
    const tp = at('trainParams');
    [t.oneMinusAlpha, t.eps, t.tauSynSeconds].forEach((v, i) => (words[tp + i] = f32bits(v)));
    words[tp + 3] = t.packetsPerTick;
    words[tp + 4] = t.gatherTicks;
  }
  return { words, regions };
}

/** The first neuron of each slice of a population (count, then the starts). */
function writeSourceSlices(words: Uint32Array, offset: number, bounds: number[]): void {
  words[offset] = bounds.length - 1;
  for (let s = 0; s < bounds.length - 1; s++) words[offset + 1 + s] = bounds[s];
}

/** Little-endian bytes of an image (the byte order a PE loads). */
export function imageBytes(words: Uint32Array): Buffer {
  const buf = Buffer.alloc(words.length * 4);
  for (let i = 0; i < words.length; i++) buf.writeUInt32LE(words[i], 4 * i);
  return buf;
}

export function imageWords(bytes: Uint8Array): Uint32Array {
  const words = new Uint32Array(bytes.length >> 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < words.length; i++) words[i] = view.getUint32(4 * i, true);
  return words;
}
