import { KIND_SPIKE, makeKey } from './key-layout.js';
import {
  ADAM_STATE,
  HEADER,
  HEADER_FIELDS,
  HEADER_WORDS,
  INPUT_PARAMS,
  LAYER_PARAMS,
  LAYOUT_VERSION,
  LOSS_PARAMS,
  MAGIC,
  MAX_REGIONS,
  OPTIMISER_PARAMS,
  PARAM_SLICES,
  PROGRAMS,
  QUANT_CODES,
  REGIONS,
  SOURCE_SLICES,
  TRAIN_PARAMS,
  layOut,
  packWeights,
  weightRowWords,
  type Region,
  type RegionName,
} from './memory-layout.js';
import type { PePlacement, Placement } from './placement.js';
import { flushSubnormal } from '../numerics/flush.js';
import type { QuantType } from '../quant/quantise.js';
import type { LifConstants } from '../numerics/lif.js';
import type { LossSettings } from '../model/schema.js';

/** What the images of one export are made from. */
export interface ImageSource {
  steps: number;
  encoding: { tMin: number; tMax: number; bias: boolean };
  features: number;
  constants: LifConstants;
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
  loss: Pick<LossSettings, 'xi' | 'alpha' | 'tau1'>;
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

/** Build the memory image of one placed PE. */
export function buildImage(pe: PePlacement, placement: Placement, src: ImageSource): PeImage {
  const { regions, words: size } = layOut(pe.regions);
  if (regions.length > MAX_REGIONS) throw new Error('too many regions');
  const words = new Uint32Array(size);
  const at = (name: RegionName) => regions.find((r) => r.name === name)!.offset;
  const layer = pe.layer > 0 ? src.layers[pe.layer - 1] : null;
  const training = src.training !== undefined;
  HEADER_FIELDS.encode(words, 0, {
    magic: MAGIC,
    version: LAYOUT_VERSION,
    program: PROGRAMS[pe.program],
    slot: pe.slot,
    layer: pe.layer,
    slice: pe.slice,
    neuronStart: pe.neuronStart,
    neuronCount: pe.neuronCount,
    inputs: pe.inputs,
    steps: src.steps,
    quant: QUANT_CODES[src.quant],
    weightExp: layer?.exp ?? 0,
    keyBase: makeKey({ kind: KIND_SPIKE, slot: pe.slot, layer: pe.layer, slice: pe.slice, neuron: 0 }),
    regionCount: regions.length,
    sends: pe.layer < placement.slices.length - 1 || training ? 1 : 0,
    training: training ? 1 : 0,
  });
  regions.forEach((r, i) => HEADER.encodeRecord(words, 0, i, { id: REGIONS[r.name], offset: r.offset, words: r.words }));
  if (HEADER_WORDS < HEADER.wordsFor(regions.length)) throw new Error('header too small');

  const params = at('params');
  if (pe.program === 'input') {
    INPUT_PARAMS.encode(words, params, { ...src.encoding, bias: src.encoding.bias ? 1 : 0, features: src.features });
    return { words, regions };
  }
  if (pe.program === 'loss') {
    const { xi, alpha, tau1 } = src.training!.loss;
    LOSS_PARAMS.encode(words, params, { xi, alpha, tau1, outputs: pe.neuronCount });
    writeSourceSlices(words, at('sourceSlices'), placement.slices[pe.layer]);
    words.fill(src.steps, at('firstSpikes'), at('firstSpikes') + pe.neuronCount);
    return { words, regions };
  }
  if (pe.program === 'optimiser') {
    const t = src.training!;
    const { beta1, beta2 } = t.adam;
    OPTIMISER_PARAMS.encode(words, params, { ...t.adam, oneMinusBeta1: 1 - beta1, oneMinusBeta2: 1 - beta2, packetsPerTick: t.packetsPerTick, gatherTicks: t.gatherTicks });
    const table = at('paramSlices');
    const weights = new Float32Array(words.buffer, words.byteOffset + 4 * at('weights'), pe.inputs);
    PARAM_SLICES.head.encode(words, table, { count: pe.holds!.length });
    let offset = 0;
    pe.holds!.forEach((h, i) => {
      PARAM_SLICES.encodeRecord(words, table, i, { layer: h.layer, slice: h.slice, inputs: h.inputs, neurons: h.neurons, offset });
      const layer = src.layers[h.layer - 1];
      const start = placement.slices[h.layer][h.slice];
      for (let k = 0; k < h.inputs; k++) for (let j = 0; j < h.neurons; j++) weights[offset + k * h.neurons + j] = flushSubnormal(Math.fround(layer.values[k * layer.cols + start + j]));
      offset += h.inputs * h.neurons;
    });
    ADAM_STATE.encode(words, at('adamState'), { step: 0, beta1Power: 1, beta2Power: 1 });
    return { words, regions };
  }
  const { alpha, beta, oneMinusBeta, threshold } = src.constants;
  // States live in the layer's scaled domain (weights are mantissas times 2^exp): threshold / 2^exp,
  // exact because the scale is a power of two.
  LAYER_PARAMS.encode(words, params, { alpha, beta, oneMinusBeta, threshold: Math.fround(threshold / 2 ** layer!.exp) });
  // This slice's columns of the weight matrix.
  const n = pe.neuronCount;
  const cols = new Float64Array(layer!.rows * n);
  for (let k = 0; k < layer!.rows; k++) for (let j = 0; j < n; j++) cols[k * n + j] = layer!.values[k * layer!.cols + pe.neuronStart + j];
  packWeights(cols, { rows: layer!.rows, cols: n, quant: src.quant, words, offset: at('weights') });
  if (weightRowWords(n, src.quant) * layer!.rows !== regions.find((r) => r.name === 'weights')!.words) throw new Error('weight region size');
  writeSourceSlices(words, at('sourceSlices'), placement.slices[pe.layer - 1]);
  words.fill(src.steps, at('firstSpikes'), at('firstSpikes') + n);
  if (src.training) {
    const t = src.training;
    TRAIN_PARAMS.encode(words, at('trainParams'), { oneMinusAlpha: t.oneMinusAlpha, eps: t.eps, tauSynSeconds: t.tauSynSeconds, packetsPerTick: t.packetsPerTick, gatherTicks: t.gatherTicks });
  }
  return { words, regions };
}

/** The first neuron of each slice of a population (count, then the starts). */
function writeSourceSlices(words: Uint32Array, offset: number, bounds: number[]): void {
  SOURCE_SLICES.head.encode(words, offset, { count: bounds.length - 1 });
  for (let s = 0; s < bounds.length - 1; s++) SOURCE_SLICES.encodeRecord(words, offset, s, { start: bounds[s] });
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
