import type { TickWork } from '../cost.js';
import { keyFields } from '../key-layout.js';
import { H, WEIGHT_BITS, bitmapWords, unpackWeight, weightRowWords, type RegionName } from '../memory-layout.js';
import type { QuantType } from '../quantise.js';
import type { LoadedPe } from './load-config.js';

/**
 * The chip programs, each running on one PE's memory image exactly as the C program would: every value
 * it uses comes from its own image (header, params, weights). Float32 arithmetic as a Cortex-M4F computes
 * it: every operation rounded to float32 (Math.fround gives exactly that), no fused multiply-add, in the
 * order written; quantised weights are accumulated as integers.
 */
export interface Program {
  /** A packet arrived (delivered at the start of the tick after it was sent). */
  receive(key: number): void;
  /** The timer tick t: do this step's work, sending packets through `send`. */
  tick(t: number, send: (key: number) => void): TickWork;
}

const fround = Math.fround;
const QUANT_BY_CODE: QuantType[] = ['float32', 'int8', 'int4'];

/** Typed views of a PE's memory. */
class Memory {
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;

  constructor(readonly pe: LoadedPe) {
    this.u32 = pe.words;
    this.i32 = new Int32Array(pe.words.buffer, pe.words.byteOffset, pe.words.length);
    this.f32 = new Float32Array(pe.words.buffer, pe.words.byteOffset, pe.words.length);
  }

  at(name: RegionName): number {
    const r = this.pe.regions.get(name);
    if (!r) throw new Error(`PE ${this.pe.id} has no region ${name}`);
    return r.offset;
  }
}

/** Round half to even, as VCVTR does in the default rounding mode. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Input spike source: at tick 0 turns the sample's features (written by the host as float32) into one
 * spike step per input — round(tMin + (tMax - tMin) * (1 - v)) in float32, half to even; the bias input
 * (last) at step 0 — then at each tick sends the inputs whose step it is, in ascending input order.
 */
export class InputProgram implements Program {
  private readonly mem: Memory;

  constructor(pe: LoadedPe) {
    this.mem = new Memory(pe);
  }

  receive(): void {}

  tick(t: number, send: (key: number) => void): TickWork {
    const { u32, i32, f32 } = this.mem;
    const inputs = u32[H.inputs];
    const times = this.mem.at('spikeTimes');
    if (t === 0) {
      const p = this.mem.at('params');
      const [tMin, tMax, bias, features] = [u32[p], u32[p + 1], u32[p + 2], u32[p + 3]];
      const fx = this.mem.at('features');
      for (let k = 0; k < features; k++) i32[times + k] = roundHalfEven(fround(tMin + fround(fround(tMax - tMin) * fround(1 - f32[fx + k]))));
      if (bias) i32[times + features] = 0;
    }
    let sent = 0;
    for (let k = 0; k < inputs; k++) {
      if (i32[times + k] === t) {
        send((u32[H.keyBase] + k) >>> 0);
        sent++;
      }
    }
    return { received: 0, synapticEvents: 0, neuronUpdates: t === 0 ? inputs : 0, sent };
  }
}

/**
 * Neuron layer (forward): keeps I and V of its slice; at tick t >= 1 adds the weight rows of the inputs
 * that spiked at t-1 (received this tick, in ascending input index), then for each neuron
 * I = alpha*I + x, V = beta*V + (1-beta)*I, spike when V > threshold, reset to 0. With quantised weights
 * x is an integer sum of mantissas and every state is in the layer's scaled domain (w = m * 2^exp).
 */
export class LayerProgram implements Program {
  private readonly mem: Memory;
  private readonly n: number;
  private readonly inputs: number;
  private readonly quant: QuantType;
  private readonly x: Float64Array;
  private received = 0;

  constructor(pe: LoadedPe) {
    this.mem = new Memory(pe);
    const u32 = pe.words;
    this.n = u32[H.neuronCount];
    this.inputs = u32[H.inputs];
    this.quant = QUANT_BY_CODE[u32[H.quant]];
    if (!this.quant) throw new Error(`PE ${pe.id}: unknown quantisation code ${u32[H.quant]}`);
    this.x = new Float64Array(this.n);
  }

  receive(key: number): void {
    const { u32 } = this.mem;
    const f = keyFields(key);
    const slices = this.mem.at('sourceSlices');
    if (f.slice >= u32[slices]) return; // not a slice of our source population: ignored, as the C program would
    const k = u32[slices + 1 + f.slice] + f.neuron;
    if (k >= this.inputs) return;
    const inbox = this.mem.at('inbox');
    u32[inbox + (k >>> 5)] = (u32[inbox + (k >>> 5)] | (1 << (k & 31))) >>> 0;
    this.received++;
  }

  tick(t: number, send: (key: number) => void): TickWork {
    const { u32, f32 } = this.mem;
    const { n, inputs, quant, x } = this;
    const work: TickWork = { received: this.received, synapticEvents: 0, neuronUpdates: 0, sent: 0 };
    this.received = 0;
    const inbox = this.mem.at('inbox');
    if (t === 0) {
      u32.fill(0, inbox, inbox + bitmapWords(inputs));
      return work;
    }
    // 1. x = s_in[t-1] . W: rows of the inputs that spiked, ascending input index.
    x.fill(0);
    const w = this.mem.at('weights');
    const rowWords = weightRowWords(n, quant);
    for (let k = 0; k < inputs; k++) {
      if (((u32[inbox + (k >>> 5)] >>> (k & 31)) & 1) === 0) continue;
      work.synapticEvents += n;
      if (quant === 'float32') {
        for (let j = 0; j < n; j++) x[j] = fround(x[j] + f32[w + k * rowWords + j]);
      } else {
        const bits = WEIGHT_BITS[quant];
        for (let j = 0; j < n; j++) x[j] += unpackWeight(u32, w, rowWords, bits, k, j); // exact integer sum
      }
    }
    u32.fill(0, inbox, inbox + bitmapWords(inputs));
    // 2.-5. I, V update, threshold, reset.
    const p = this.mem.at('params');
    const [alpha, beta, oneMinusBeta, threshold] = [f32[p], f32[p + 1], f32[p + 2], f32[p + 3]];
    const s = this.mem.at('state');
    const first = this.mem.at('firstSpikes');
    const rec = this.mem.at('spikeRecord') + t * bitmapWords(n);
    for (let j = 0; j < n; j++) {
      const I = fround(fround(alpha * f32[s + j]) + x[j]);
      const V = fround(fround(beta * f32[s + n + j]) + fround(oneMinusBeta * I));
      f32[s + j] = I;
      if (V > threshold) {
        f32[s + n + j] = 0;
        if (u32[H.sends]) {
          send((u32[H.keyBase] + j) >>> 0);
          work.sent++;
        }
        if (u32[first + j] > t) u32[first + j] = t;
        u32[rec + (j >>> 5)] = (u32[rec + (j >>> 5)] | (1 << (j & 31))) >>> 0;
      } else {
        f32[s + n + j] = V;
      }
    }
    work.neuronUpdates = n;
    return work;
  }
}
