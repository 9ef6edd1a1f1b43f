import { UserError } from '../errors.js';

/**
 * Routing keys (32 bits), one per packet:
 *
 *   bits 31-30  kind    0 = spike (key only), 1 = error (float32 payload: dL/d(spike time) of that
 *                       population's neuron; on-chip training), 2 = gradient, 3 = weight (see below)
 *   bits 29-22  slot    sample slot, 0..255
 *   bits 21-18  layer   source population: 0 = input spikes, l = output of layer l (1-based), 1..15
 *   bits 17-12  slice   slice of that population (one slice per PE), 0..63
 *   bits 11-0   neuron  index within the slice, 0..4095
 *
 * A population's slices are numbered in ascending neuron order, so ascending keys are ascending
 * population indices: the order in which a PE adds the weights of the spikes it received.
 *
 * Gradient and weight packets (on-chip training) carry one float32 entry of one layer slice's weight
 * matrix and have no slot (the optimiser sums the slots' gradients; new weights go to every slot):
 *
 *   bits 31-30  kind    2 = gradient (layer PE -> optimiser), 3 = weight (optimiser -> layer PEs)
 *   bits 29-26  layer   1..15
 *   bits 25-20  slice   0..63
 *   bits 19-0   index   k * neurons of the slice + j, for input k and neuron j of the slice
 */
export const KEY = {
  kind: { shift: 30, bits: 2 },
  slot: { shift: 22, bits: 8 },
  layer: { shift: 18, bits: 4 },
  slice: { shift: 12, bits: 6 },
  neuron: { shift: 0, bits: 12 },
} as const;

export const KIND_SPIKE = 0;
export const KIND_ERROR = 1;
export const KIND_GRADIENT = 2;
export const KIND_WEIGHT = 3;

export const PARAM_KEY = {
  layer: { shift: 26, bits: 4 },
  slice: { shift: 20, bits: 6 },
  index: { shift: 0, bits: 20 },
} as const;

/** Key of a gradient or weight packet. */
export function paramKey(kind: typeof KIND_GRADIENT | typeof KIND_WEIGHT, layer: number, slice: number, index: number): number {
  return (kind * 2 ** 30 + layer * 2 ** PARAM_KEY.layer.shift + slice * 2 ** PARAM_KEY.slice.shift + index) >>> 0;
}

export function paramKeyFields(key: number): { kind: number; layer: number; slice: number; index: number } {
  return { kind: key >>> 30, layer: (key >>> PARAM_KEY.layer.shift) & 15, slice: (key >>> PARAM_KEY.slice.shift) & 63, index: key & (2 ** 20 - 1) };
}

/** The mask that matches every gradient or weight packet of one layer slice. */
export const PARAM_SLICE_MASK = paramKey(3, 15, 63, 0);

export interface KeyFields {
  kind: number;
  slot: number;
  layer: number;
  slice: number;
  neuron: number;
}

type Field = keyof typeof KEY;

function limit(field: Field): number {
  return 2 ** KEY[field].bits - 1;
}

/** Check that an export fits the key layout; names what overflows. */
export function checkKeyRange(field: Field, value: number, what: string): void {
  if (value < 0 || value > limit(field)) {
    throw new UserError(`${what} needs ${field} ${value}, but routing keys hold ${field} 0..${limit(field)}`);
  }
}

export function makeKey(f: KeyFields): number {
  let key = 0;
  for (const field of Object.keys(KEY) as Field[]) key += f[field] * 2 ** KEY[field].shift;
  return key >>> 0;
}

export function keyFields(key: number): KeyFields {
  const get = (field: Field) => Math.floor(key / 2 ** KEY[field].shift) & limit(field);
  return { kind: get('kind'), slot: get('slot'), layer: get('layer'), slice: get('slice'), neuron: get('neuron') };
}

/** The mask that matches every key of one slice of one population in one slot (error packets). */
export const SLICE_MASK = makeKey({ kind: 3, slot: 255, layer: 15, slice: 63, neuron: 0 });
/** The mask that matches every key of one population (kind, slot and layer fixed). */
export const POPULATION_MASK = makeKey({ kind: 3, slot: 255, layer: 15, slice: 0, neuron: 0 });
