import { flushSubnormal } from '../numerics/flush.js';
import { f32, FieldTable, i32, PlaneTable, RecordTable, u32 } from './field-table.js';
import type { QuantType } from '../quant/quantise.js';

/**
 * The memory image of a PE: little-endian 32-bit words, a fixed header, then regions. The header
 * names the program and holds a region table, so a program finds everything in its own image; the
 * exporter writes images with these definitions and the simulator's programs read them with the same
 * ones (as a chip's C program and the host tools would share a header file).
 *
 * Every region with named words has a field table below (field-table.ts): the header's fixed fields
 * (HEADER_FIELDS, words 0..15) and its region table (REGION_ENTRY per region, from word 16), each
 * program's params, the host's control words, the loss terms, the Adam counters, and the counted tables
 * sourceSlices and paramSlices. The other regions are arrays (weights, bitmaps, per-neuron values) or
 * equal planes of arrays (STATE, ADJOINT, MOMENTS, INBOX). docs/chip-memory-layout.md lists every field.
 *
 * The loss program's header has layer = the output layer and neurons = inputs = its outputs; the
 * optimiser's has layer 0, neurons = the layer slices it holds, inputs = the weights it holds.
 */

export const MAGIC = 0x52503253; // 'S2PR' little-endian
export const LAYOUT_VERSION = 1;
export const MAX_REGIONS = 16;

/** The fixed fields of the header (words 0..15); the region table follows them. */
export const HEADER_FIELDS = new FieldTable('header', 16, {
  magic: u32(0, "'S2PR' (0x52503253): an s2prop PE image"),
  version: u32(1, 'layout version'),
  program: u32(2, 'program: 1 input, 2 layer, 3 loss, 4 optimiser'),
  slot: u32(3, 'slot (the sample this PE works on in a window)'),
  layer: u32(4, 'layer (0: input and optimiser programs; the output layer for the loss program)'),
  slice: u32(5, 'slice of the layer'),
  neuronStart: u32(6, 'first neuron of the slice in its layer'),
  neuronCount: u32(7, 'neurons in the slice (optimiser: layer slices held)'),
  inputs: u32(8, 'inputs of the layer (optimiser: weights held)'),
  steps: u32(9, 'steps T of a sample'),
  quant: u32(10, 'quantisation: 0 float32, 1 int8, 2 int4'),
  weightExp: i32(11, 'weight exponent: a weight is mantissa * 2^exp'),
  keyBase: u32(12, 'routing key of neuron 0 of the slice'),
  regionCount: u32(13, 'entries in the region table'),
  sends: u32(14, '1: sends spikes (0: an output layer in an inference export)'),
  training: u32(15, '1 in a training export: the input and layer programs have their training regions'),
});

/** One entry of the header's region table. */
export const REGION_ENTRY = new FieldTable('header region-table entry', 3, {
  id: u32(0, 'region id (REGIONS)'),
  offset: u32(1, 'first word of the region in the image'),
  words: u32(2, 'words of the region'),
});

/** The header region: its fixed fields, then a region table of up to MAX_REGIONS entries. */
export const HEADER = new RecordTable('header', HEADER_FIELDS, REGION_ENTRY);
export const HEADER_WORDS = HEADER.wordsFor(MAX_REGIONS);

/** Word offsets of the header fields, and where the region table starts. */
export const H = { ...HEADER_FIELDS.at, regionTable: HEADER_FIELDS.words } as const;

export const PROGRAMS = { input: 1, layer: 2, loss: 3, optimiser: 4 } as const;
export type ProgramName = keyof typeof PROGRAMS;

export const QUANT_CODES: Record<QuantType, number> = { float32: 0, int8: 1, int4: 2 };
export const WEIGHT_BITS: Record<QuantType, number> = { float32: 32, int8: 8, int4: 4 };

/** Region ids and what they hold. */
export const REGIONS = {
  header: 1,
  /** input: INPUT_PARAMS; layer: LAYER_PARAMS; loss: LOSS_PARAMS; optimiser: OPTIMISER_PARAMS */
  params: 2,
  /** layer: weights [inputs][neurons of the slice], rows start on word boundaries; optimiser: float32 [held weights] */
  weights: 3,
  /** layer, loss: SOURCE_SLICES, the first neuron index of each slice of the source population */
  sourceSlices: 4,
  /** layer: STATE, I and V per neuron (float32) */
  state: 5,
  /** layer: INBOX, bitmaps of the input spikes received, two buffers (this tick's, next tick's) */
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
  /** training, host-written per sample window: INPUT_CONTROL, LOSS_CONTROL, OPTIMISER_CONTROL */
  control: 12,
  /** training layer: TRAIN_PARAMS */
  trainParams: 13,
  /** training layer: input spike bitmap per step [T][ceil(inputs/32)] */
  inputRecord: 14,
  /** training layer: I - Vpre per step and neuron [T][n] (float32; only written where the neuron spiked) */
  spikeD: 15,
  /** training layer: ADJOINT, lamI and lamV per neuron (float32) */
  adjoint: 16,
  /** training layer: errors received for this step's spikes, per neuron (float32) */
  errorInbox: 17,
  /** training layer: this window's weight gradient [inputs][n]; optimiser: the gathered gradient */
  gradients: 18,
  /** loss: the error dL/dt per output neuron (float32) */
  errors: 19,
  /** loss: LOSS_TERMS */
  lossTerms: 20,
  /** optimiser: PARAM_SLICES, the layer slices it holds */
  paramSlices: 21,
  /** optimiser: MOMENTS, Adam first and second moments (float32) */
  moments: 22,
  /** optimiser: ADAM_STATE */
  adamState: 23,
} as const;
export type RegionName = keyof typeof REGIONS;

/** Input program params. */
export const INPUT_PARAMS = new FieldTable('input params', 4, {
  tMin: u32(0, 'spike step of a feature of value 1'),
  tMax: u32(1, 'spike step of a feature of value 0'),
  bias: u32(2, '1: the last input is a bias input spiking at step 0'),
  features: u32(3, 'features per sample'),
});

/** Input program control word, written by the host per sample window (training exports). */
export const INPUT_CONTROL = new FieldTable('input control', 1, {
  mode: u32(0, 'INPUT_MODE: 0 idle, 1 spikes from the features, 2 spikes from the raster'),
});

/** Layer program params: the LIF constants in the layer's scaled domain. */
export const LAYER_PARAMS = new FieldTable('layer params', 4, {
  alpha: f32(0, 'synaptic current decay per step'),
  beta: f32(1, 'membrane decay per step'),
  oneMinusBeta: f32(2, '1 - beta'),
  threshold: f32(3, 'threshold / 2^weightExp (the scaled domain)'),
});

/** Layer program training params. */
export const TRAIN_PARAMS = new FieldTable('layer trainParams', 5, {
  oneMinusAlpha: f32(0, '1 - alpha'),
  eps: f32(1, 'eps of the spike-time jump denominator'),
  tauSynSeconds: f32(2, 'synaptic time constant in seconds (gradient scale)'),
  packetsPerTick: u32(3, 'gradient packets sent per gather tick'),
  gatherTicks: u32(4, 'ticks of the gradient gather'),
});

/** The first neuron of each slice of the source population (layer and loss programs). */
export const SOURCE_SLICES = new RecordTable(
  'sourceSlices',
  new FieldTable('sourceSlices head', 1, { count: u32(0, 'slices of the source population') }),
  new FieldTable('sourceSlices entry', 1, { start: u32(0, 'first neuron of the slice in the source population') }),
);

/** Loss program params. */
export const LOSS_PARAMS = new FieldTable('loss params', 4, {
  xi: f32(0, 'softmax temperature xi of the first-spike cross entropy'),
  alpha: f32(1, "regulariser weight: the loss's alpha"),
  tau1: f32(2, 'regulariser time constant tau1 (steps)'),
  outputs: u32(3, 'output neurons'),
});

/** Loss program control words, written by the host per sample window. */
export const LOSS_CONTROL = new FieldTable('loss control', 3, {
  label: u32(0, "the sample's class"),
  batchSize: u32(1, 'samples in the batch (the error is divided by it)'),
  active: u32(2, '1: the slot holds a sample this window (0: sends nothing)'),
});

/** Loss program results, read back by the host. */
export const LOSS_TERMS = new FieldTable('loss lossTerms', 2, {
  ce: f32(0, 'cross-entropy term of the sample'),
  r: f32(1, 'regulariser term of the sample'),
});

/** Optimiser program params. */
export const OPTIMISER_PARAMS = new FieldTable('optimiser params', 8, {
  beta1: f32(0, 'Adam beta1'),
  beta2: f32(1, 'Adam beta2'),
  eps: f32(2, 'Adam eps'),
  weightDecay: f32(3, 'weight decay'),
  oneMinusBeta1: f32(4, '1 - beta1'),
  oneMinusBeta2: f32(5, '1 - beta2'),
  packetsPerTick: u32(6, 'weights updated (and sent) per update tick'),
  gatherTicks: u32(7, 'ticks of the gradient gather (the update starts after them)'),
});

/** The layer slices an optimiser holds, in the order of its weight region. */
export const PARAM_SLICES = new RecordTable(
  'paramSlices',
  new FieldTable('paramSlices head', 1, { count: u32(0, 'layer slices held') }),
  new FieldTable('paramSlices entry', 5, {
    layer: u32(0, 'layer'),
    slice: u32(1, 'slice of the layer'),
    inputs: u32(2, 'inputs (rows) of the slice'),
    neurons: u32(3, 'neurons (columns) of the slice'),
    offset: u32(4, "first weight of the slice in the optimiser's weights"),
  }),
);

/** Optimiser program control words, written by the host per sample window. */
export const OPTIMISER_CONTROL = new FieldTable('optimiser control', 2, {
  update: u32(0, '1: update the weights this window (the last round of a batch)'),
  lr: f32(1, 'learning rate of this batch'),
});

/** Optimiser Adam counters. */
export const ADAM_STATE = new FieldTable('optimiser adamState', 3, {
  step: u32(0, 'updates done'),
  beta1Power: f32(1, 'beta1^step (running float32 product)'),
  beta2Power: f32(2, 'beta2^step (running float32 product)'),
});

/** Regions made of equal planes. */
export const STATE = new PlaneTable('state', ['I', 'V'], 'synaptic current I, then membrane potential V, per neuron (float32)');
export const ADJOINT = new PlaneTable('adjoint', ['lamI', 'lamV'], 'adjoints lamI, then lamV, per neuron (float32)');
export const MOMENTS = new PlaneTable('moments', ['m', 'v'], 'Adam first moments m, then second moments v, per held weight (float32)');
export const INBOX = new PlaneTable('inbox', ['thisTick', 'nextTick'], "input spike bitmaps: this tick's, next tick's");

/** Every field table, by program and region (the documentation and the tests walk this list). */
export const FIELD_TABLES: { programs: ProgramName[]; region: RegionName; table: FieldTable<string> | RecordTable<string, string> }[] = [
  { programs: ['input', 'layer', 'loss', 'optimiser'], region: 'header', table: HEADER },
  { programs: ['input'], region: 'params', table: INPUT_PARAMS },
  { programs: ['input'], region: 'control', table: INPUT_CONTROL },
  { programs: ['layer'], region: 'params', table: LAYER_PARAMS },
  { programs: ['layer'], region: 'trainParams', table: TRAIN_PARAMS },
  { programs: ['layer', 'loss'], region: 'sourceSlices', table: SOURCE_SLICES },
  { programs: ['loss'], region: 'params', table: LOSS_PARAMS },
  { programs: ['loss'], region: 'control', table: LOSS_CONTROL },
  { programs: ['loss'], region: 'lossTerms', table: LOSS_TERMS },
  { programs: ['optimiser'], region: 'params', table: OPTIMISER_PARAMS },
  { programs: ['optimiser'], region: 'paramSlices', table: PARAM_SLICES },
  { programs: ['optimiser'], region: 'control', table: OPTIMISER_CONTROL },
  { programs: ['optimiser'], region: 'adamState', table: ADAM_STATE },
];

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

/** Bit `i` of the bitmap starting at word `offset` (bit i in word i / 32, bit i % 32 from the least significant). */
export function getBit(words: Uint32Array, offset: number, i: number): boolean {
  return ((words[offset + (i >>> 5)] >>> (i & 31)) & 1) === 1;
}

export function setBit(words: Uint32Array, offset: number, i: number): void {
  words[offset + (i >>> 5)] = (words[offset + (i >>> 5)] | (1 << (i & 31))) >>> 0;
}

/** What a layer PE holds: `neurons` neurons of a layer with `inputs` inputs from `sourceSlices` source slices. */
export interface LayerShape {
  neurons: number;
  inputs: number;
  steps: number;
  quant: QuantType;
  sourceSlices: number;
  /** Adds what the backward window needs. */
  training?: boolean;
}

/** The regions of a layer PE. */
export function layerRegions({ neurons: n, inputs, steps, quant, sourceSlices, training = false }: LayerShape): RegionSpec[] {
  const forward: RegionSpec[] = [
    { name: 'header', words: HEADER_WORDS },
    { name: 'params', words: LAYER_PARAMS.words },
    { name: 'weights', words: inputs * weightRowWords(n, quant) },
    { name: 'sourceSlices', words: SOURCE_SLICES.wordsFor(sourceSlices) },
    { name: 'state', words: STATE.wordsFor(n) },
    { name: 'inbox', words: INBOX.wordsFor(bitmapWords(inputs)) },
    { name: 'firstSpikes', words: n },
    { name: 'spikeRecord', words: steps * bitmapWords(n) },
  ];
  if (!training) return forward;
  return [
    ...forward,
    { name: 'trainParams', words: TRAIN_PARAMS.words },
    { name: 'inputRecord', words: steps * bitmapWords(inputs) },
    { name: 'spikeD', words: steps * n },
    { name: 'adjoint', words: ADJOINT.wordsFor(n) },
    { name: 'errorInbox', words: n },
    { name: 'gradients', words: inputs * n },
  ];
}

/** What an input PE holds: `features` features (plus the bias input when `inputs` is one more). */
export interface InputShape {
  features: number;
  inputs: number;
  steps: number;
  training?: boolean;
}

/** The regions of an input PE. */
export function inputRegions({ features, inputs, steps, training = false }: InputShape): RegionSpec[] {
  const regions: RegionSpec[] = [
    { name: 'header', words: HEADER_WORDS },
    { name: 'params', words: INPUT_PARAMS.words },
    { name: 'features', words: features },
    { name: 'spikeTimes', words: inputs },
  ];
  return training ? [...regions, { name: 'raster', words: steps * bitmapWords(inputs) }, { name: 'control', words: INPUT_CONTROL.words }] : regions;
}

/** The regions of a loss PE for `outputs` output neurons in `sourceSlices` slices. */
export function lossRegions(outputs: number, sourceSlices: number): RegionSpec[] {
  return [
    { name: 'header', words: HEADER_WORDS },
    { name: 'params', words: LOSS_PARAMS.words },
    { name: 'sourceSlices', words: SOURCE_SLICES.wordsFor(sourceSlices) },
    { name: 'firstSpikes', words: outputs },
    { name: 'control', words: LOSS_CONTROL.words },
    { name: 'errors', words: outputs },
    { name: 'lossTerms', words: LOSS_TERMS.words },
  ];
}

/** The regions of an optimiser PE holding `slices` layer slices with `weights` weights in all. */
export function optimiserRegions(slices: number, weights: number): RegionSpec[] {
  return [
    { name: 'header', words: HEADER_WORDS },
    { name: 'params', words: OPTIMISER_PARAMS.words },
    { name: 'paramSlices', words: PARAM_SLICES.wordsFor(slices) },
    { name: 'weights', words: weights },
    { name: 'moments', words: MOMENTS.wordsFor(weights) },
    { name: 'gradients', words: weights },
    { name: 'adamState', words: ADAM_STATE.words },
    { name: 'control', words: OPTIMISER_CONTROL.words },
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

/** A weight matrix [rows][cols] stored row by row in a weights region (rows start on word boundaries). */
export interface WeightMatrix {
  rows: number;
  cols: number;
  quant: QuantType;
  /** The words of the image and the first word of the matrix in them. */
  words: Uint32Array;
  offset: number;
}

/**
 * Store `values` (float32 weights, or integer mantissas packed into WEIGHT_BITS bits, two's complement)
 * row-major [rows][cols]. Integer words are OR-ed in: the region must be zero.
 */
export function packWeights(values: ArrayLike<number>, { rows, cols, quant, words, offset }: WeightMatrix): void {
  const rowWords = weightRowWords(cols, quant);
  if (quant === 'float32') {
    // float32 weights are stored flushed (numerics/flush.ts): a subnormal weight is written as +0
    const f = new Float32Array(words.buffer, words.byteOffset + 4 * offset, rows * rowWords);
    for (let i = 0; i < rows * cols; i++) f[i] = flushSubnormal(Math.fround(values[i]));
    return;
  }
  const bits = WEIGHT_BITS[quant];
  const perWord = 32 / bits;
  const mask = 2 ** bits - 1;
  for (let k = 0; k < rows; k++) {
    for (let j = 0; j < cols; j++) {
      const w = offset + k * rowWords + Math.floor(j / perWord);
      words[w] = (words[w] | ((values[k * cols + j] & mask) << ((j % perWord) * bits))) >>> 0;
    }
  }
}

/** A reader of mantissa (k, j) of a packed integer weight matrix (`quant` int8 or int4). */
export function mantissaReader({ cols, quant, words, offset }: Omit<WeightMatrix, 'rows'>): (k: number, j: number) => number {
  const rowWords = weightRowWords(cols, quant);
  const bits = WEIGHT_BITS[quant];
  const perWord = 32 / bits;
  const mask = 2 ** bits - 1;
  const half = 2 ** (bits - 1);
  const span = 2 ** bits;
  return (k, j) => {
    const raw = (words[offset + k * rowWords + Math.floor(j / perWord)] >>> ((j % perWord) * bits)) & mask;
    return raw >= half ? raw - span : raw;
  };
}
