import type { TickWork } from '../../cost.js';
import { bitmapWords, getBit, setBit, SOURCE_SLICES, type RegionName } from '../../memory-layout.js';
import type { LoadedPe } from '../load-config.js';

/**
 * A chip program, running on one PE's memory image exactly as the C program would: every value it uses
 * comes from its own image (header, params, weights). Float32 arithmetic as a Cortex-M4F computes it:
 * every operation rounded to float32 (Math.fround gives exactly that), no fused multiply-add, in the order
 * written; quantised weights are accumulated as integers.
 *
 * Ticks count from the start of the sample window: forward 0..T-1, then (training) backward T..2T-1,
 * gradient gather, weight update.
 */
export interface Program {
  /** A packet arrived at the start of tick `t` (it was sent in tick t-1); `payload` is its float32 word. */
  receive(key: number, payload: number, t: number): void;
  /** The timer tick t: do this step's work, sending packets through `send`. */
  tick(t: number, send: (key: number, payload?: number) => void): TickWork;
}

export type Send = (key: number, payload?: number) => void;

export const fround = Math.fround;

/** Typed views of a PE's memory. */
export class Memory {
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  /** The sourceSlices region (layer and loss programs; -1 without one): its count word, first start word, record stride. */
  private readonly sliceCountAt: number;
  private readonly sliceStartAt: number;
  private readonly sliceStride = SOURCE_SLICES.record.words;

  constructor(readonly pe: LoadedPe) {
    this.u32 = pe.words;
    this.i32 = new Int32Array(pe.words.buffer, pe.words.byteOffset, pe.words.length);
    this.f32 = new Float32Array(pe.words.buffer, pe.words.byteOffset, pe.words.length);
    const slices = pe.regions.get('sourceSlices');
    this.sliceCountAt = slices ? slices.offset + SOURCE_SLICES.head.at.count : -1;
    this.sliceStartAt = slices ? SOURCE_SLICES.recordAt(slices.offset, 0) + SOURCE_SLICES.record.at.start : -1;
  }

  at(name: RegionName): number {
    const r = this.pe.regions.get(name);
    if (!r) throw new Error(`PE ${this.pe.id} has no region ${name}`);
    return r.offset;
  }

  /** Bit `i` of the bitmap starting at word `offset`. */
  bit(offset: number, i: number): boolean {
    return getBit(this.u32, offset, i);
  }

  setBit(offset: number, i: number): void {
    setBit(this.u32, offset, i);
  }

  /**
   * Index in the source population of neuron `neuron` of its slice `slice` (the sourceSlices region: the
   * count, then each slice's first neuron), or -1 when the key names no slice or an index of `size` or more.
   */
  sourceIndex(slice: number, neuron: number, size: number): number {
    this.at('sourceSlices'); // a program without the region fails here, as before
    if (slice >= this.u32[this.sliceCountAt]) return -1; // not a slice of the source population: ignored, as the C program would
    const k = this.sliceStart(slice) + neuron;
    return k < size ? k : -1;
  }

  /** The first neuron of source slice `s`. */
  private sliceStart(s: number): number {
    return this.u32[this.sliceStartAt + this.sliceStride * s];
  }

  /** The slice of the source population holding index k, and k's neuron within that slice. */
  sourceSliceOf(k: number): { slice: number; neuron: number } {
    this.at('sourceSlices');
    const count = this.u32[this.sliceCountAt];
    let slice = 0;
    while (slice + 1 < count && this.sliceStart(slice + 1) <= k) slice++;
    return { slice, neuron: k - this.sliceStart(slice) };
  }

  /** Row `step` of a per-step bitmap table of `n` bits per step. */
  row(name: RegionName, step: number, n: number): number {
    return this.at(name) + step * bitmapWords(n);
  }
}

/** A tick's work with nothing done yet. */
export function idle(received = 0): TickWork {
  return { received, synapticEvents: 0, neuronUpdates: 0, sent: 0, floatOps: 0 };
}
