import type { TickWork } from '../../cost.js';
import { KIND_ERROR, KIND_GRADIENT, KIND_SPIKE, KIND_WEIGHT, keyFields, makeKey, paramKey, paramKeyFields } from '../../key-layout.js';
import { ADJOINT, H, HEADER_FIELDS, LAYER_PARAMS, STATE, TRAIN_PARAMS, bitmapWords, mantissaReader, weightRowWords } from '../../memory-layout.js';
import type { FieldValues } from '../../field-table.js';
import type { QuantType } from '../../../quant/quantise.js';
import { FLT_MIN, flushSubnormal, flushSubnormalsInPlace } from '../../../numerics/flush.js';
import type { LoadedPe } from '../load-config.js';
import { fround, idle, Memory, type Program, type Send } from './program.js';

const QUANT_BY_CODE: QuantType[] = ['float32', 'int8', 'int4'];

/**
 * Neuron layer. Forward window (ticks 0..T-1): keeps I and V of its slice; at tick t >= 1 adds the weight
 * rows of the inputs that spiked at t-1 (received this tick, in ascending input index), then for each neuron
 * I = alpha*I + x, V = beta*V + (1-beta)*I, spike when V > threshold, reset to 0. With quantised weights x is
 * an integer sum of mantissas and every state is in the layer's scaled domain (w = m * 2^exp).
 *
 * A training export also stores, in the forward window, the input spikes of every step and I - Vpre at the
 * neuron's spikes. Backward window (tick T+u processes step i = T-1-u, u = 1..T-1; every layer at the same
 * tick): takes the errors received for its spikes at step i+1, and per neuron j in ascending order
 *   eps_in[i][k] += W[k][j] * (lamV - lamI)      for the inputs k that spiked at step i
 *   lamI = alpha*lamI + (1-alpha)*lamV
 *   lamV = beta*lamV + s[i+1] * (lamV + e[i+1]) / (D[i+1] + eps)
 *   G[k][j] -= tauSyn * lamI                     for the inputs k that spiked at step i
 * then sends eps_in[i][k] to the previous layer, one error packet per input that spiked at step i (the
 * previous layer uses it at its step i-1, in the next tick). Gather (ticks 2T..2T+gather-1): sends its
 * nonzero gradient entries to the optimiser, `packetsPerTick` entries of [inputs][n] per tick, and clears
 * them. Weight packets from the optimiser replace single weights whenever they arrive.
 *
 * The subnormal rule (numerics/flush.ts, an explicit compare and select per value, as the C program does
 * with the M4F's flush-to-zero mode off): the new I, V of every forward step and lamI, lamV of every
 * backward step are set to +0 when below FLT_MIN in magnitude; I and V in the layer's scaled domain, so
 * below FLT_MIN / 2^exp (the same values as the float32 network's below FLT_MIN). Float32 weights are
 * flushed when the program starts (an image written before the rule may hold subnormal weights) and as
 * weight packets arrive.
 */
export class LayerProgram implements Program {
  private readonly mem: Memory;
  private readonly n: number;
  private readonly inputs: number;
  private readonly steps: number;
  private readonly quant: QuantType;
  private readonly training: boolean;
  private readonly x: Float64Array;
  private readonly epsOut: Float32Array;
  /** States below this magnitude are flushed to +0: FLT_MIN in the layer's scaled domain, 2^(-126 - exp). */
  private readonly flushBelow: number;
  /** The params and training params regions (written by the exporter only: read once, as the C program would at start). */
  private readonly params: FieldValues<keyof typeof LAYER_PARAMS.fields>;
  private readonly trainParams: FieldValues<keyof typeof TRAIN_PARAMS.fields> | null;
  /** Reads mantissa (k, j) of quantised weights; null for float32 weights. */
  private readonly mantissa: ((k: number, j: number) => number) | null;
  private received = 0;

  constructor(pe: LoadedPe) {
    this.mem = new Memory(pe);
    const u32 = pe.words;
    this.n = u32[H.neuronCount];
    this.inputs = u32[H.inputs];
    this.steps = u32[H.steps];
    this.quant = QUANT_BY_CODE[u32[H.quant]];
    if (!this.quant) throw new Error(`PE ${pe.id}: unknown quantisation code ${u32[H.quant]}`);
    this.training = u32[H.training] === 1;
    this.x = new Float64Array(this.n);
    this.epsOut = new Float32Array(this.inputs);
    this.flushBelow = Math.fround(FLT_MIN / 2 ** HEADER_FIELDS.get(u32, 0, 'weightExp'));
    this.params = LAYER_PARAMS.decode(u32, this.mem.at('params'));
    this.mantissa = this.quant === 'float32' ? null : mantissaReader({ cols: this.n, quant: this.quant, words: u32, offset: this.mem.at('weights') });
    this.trainParams = this.training ? TRAIN_PARAMS.decode(u32, this.mem.at('trainParams')) : null;
    if (this.quant === 'float32') {
      const w = this.mem.at('weights');
      flushSubnormalsInPlace(this.mem.f32.subarray(w, w + this.inputs * weightRowWords(this.n, 'float32')));
    }
  }

  receive(key: number, payload: number): void {
    this.received++;
    const kind = key >>> 30;
    if (kind === KIND_SPIKE) {
      const f = keyFields(key);
      const k = this.mem.sourceIndex(f.slice, f.neuron, this.inputs);
      if (k >= 0) this.mem.setBit(this.mem.at('inbox'), k);
    } else if (kind === KIND_ERROR && this.training) {
      const j = keyFields(key).neuron;
      if (j >= this.n) return;
      const e = this.mem.at('errorInbox') + j;
      this.mem.f32[e] = fround(this.mem.f32[e] + payload);
    } else if (kind === KIND_WEIGHT && this.training && this.quant === 'float32') {
      const { index } = paramKeyFields(key);
      if (index < this.inputs * this.n) this.mem.f32[this.mem.at('weights') + index] = flushSubnormal(payload);
    }
  }

  tick(t: number, send: Send): TickWork {
    const work = idle(this.received);
    this.received = 0;
    const T = this.steps;
    if (t < T) this.forward(t, send, work);
    else if (!this.training) return work;
    else if (t < 2 * T) this.backward(T - 1 - (t - T), send, work);
    else this.gather(t - 2 * T, send, work);
    return work;
  }

  private forward(t: number, send: Send, work: TickWork): void {
    const { u32, f32 } = this.mem;
    const { n, inputs, quant, x } = this;
    const inbox = this.mem.at('inbox');
    if (t === 0) {
      u32.fill(0, inbox, inbox + bitmapWords(inputs));
      return;
    }
    // 1. x = s_in[t-1] . W: rows of the inputs that spiked, ascending input index.
    x.fill(0);
    const w = this.mem.at('weights');
    const rowWords = weightRowWords(n, quant);
    const mantissa = this.mantissa;
    for (let k = 0; k < inputs; k++) {
      if (!this.mem.bit(inbox, k)) continue;
      work.synapticEvents += n;
      if (!mantissa) {
        for (let j = 0; j < n; j++) x[j] = fround(x[j] + f32[w + k * rowWords + j]);
      } else {
        for (let j = 0; j < n; j++) x[j] += mantissa(k, j); // exact integer sum
      }
    }
    if (this.training) u32.set(u32.subarray(inbox, inbox + bitmapWords(inputs)), this.mem.row('inputRecord', t - 1, inputs));
    u32.fill(0, inbox, inbox + bitmapWords(inputs));
    // 2.-5. I, V update, threshold, reset.
    const { alpha, beta, oneMinusBeta, threshold } = this.params;
    const s = this.mem.at('state');
    const I0 = STATE.planeAt(s, 'I', n);
    const V0 = STATE.planeAt(s, 'V', n);
    const first = this.mem.at('firstSpikes');
    const rec = this.mem.row('spikeRecord', t, n);
    const spikeD = this.training ? this.mem.at('spikeD') + t * n : -1;
    const below = this.flushBelow;
    for (let j = 0; j < n; j++) {
      let I = fround(fround(alpha * f32[I0 + j]) + x[j]);
      if (Math.abs(I) < below) I = 0;
      let V = fround(fround(beta * f32[V0 + j]) + fround(oneMinusBeta * I));
      if (Math.abs(V) < below) V = 0;
      f32[I0 + j] = I;
      if (V > threshold) {
        f32[V0 + j] = 0;
        if (u32[H.sends]) {
          send((u32[H.keyBase] + j) >>> 0);
          work.sent++;
        }
        if (u32[first + j] > t) u32[first + j] = t;
        this.mem.setBit(rec, j);
        if (spikeD >= 0) f32[spikeD + j] = fround(I - V);
      } else {
        f32[V0 + j] = V;
      }
    }
    work.neuronUpdates = n;
  }

  /** Step i of the backward pass (docs/contract.md, "Backward pass"); i = T-1 only starts the window. */
  private backward(i: number, send: Send, work: TickWork): void {
    const { u32, f32 } = this.mem;
    const { n, inputs, epsOut } = this;
    if (i >= this.steps - 1) return;
    const { alpha, beta } = this.params;
    const { oneMinusAlpha, eps, tauSynSeconds } = this.trainParams!;
    const errors = this.mem.at('errorInbox');
    const [LI, LV] = [ADJOINT.planeAt(this.mem.at('adjoint'), 'lamI', n), ADJOINT.planeAt(this.mem.at('adjoint'), 'lamV', n)];
    const w = this.mem.at('weights');
    const G = this.mem.at('gradients');
    const spikedNext = this.mem.row('spikeRecord', i + 1, n);
    const D = this.mem.at('spikeD') + (i + 1) * n;
    const inRow = this.mem.row('inputRecord', i, inputs);
    // The inputs that spiked at step i, ascending.
    const spiked: number[] = [];
    for (let k = 0; k < inputs; k++) if (this.mem.bit(inRow, k)) spiked.push(k);
    const wantEps = this.mem.u32[H.layer] > 1 && spiked.length > 0;
    if (wantEps) for (const k of spiked) epsOut[k] = 0;
    for (let j = 0; j < n; j++) {
      const lamI = f32[LI + j];
      const lamV = f32[LV + j];
      if (wantEps) {
        const diff = fround(lamV - lamI);
        for (const k of spiked) epsOut[k] = fround(epsOut[k] + fround(f32[w + k * n + j] * diff));
      }
      const newLamI = fround(fround(alpha * lamI) + fround(oneMinusAlpha * lamV));
      let newLamV = fround(beta * lamV);
      if (this.mem.bit(spikedNext, j)) newLamV = fround(newLamV + fround(fround(lamV + f32[errors + j]) / fround(f32[D + j] + eps)));
      f32[LI + j] = flushSubnormal(newLamI);
      f32[LV + j] = flushSubnormal(newLamV);
      const g = fround(tauSynSeconds * f32[LI + j]);
      for (const k of spiked) f32[G + k * n + j] = fround(f32[G + k * n + j] - g);
    }
    f32.fill(0, errors, errors + n);
    work.neuronUpdates = n;
    work.floatOps = 10 * n + spiked.length * n * (wantEps ? 4 : 2);
    if (!wantEps) return;
    for (const k of spiked) {
      send(makeKey({ kind: KIND_ERROR, slot: u32[H.slot], layer: u32[H.layer] - 1, ...this.mem.sourceSliceOf(k) }), epsOut[k]);
      work.sent++;
    }
  }

  /** Gather tick g: send the nonzero gradient entries g*P .. (g+1)*P-1 and clear them. */
  private gather(g: number, send: Send, work: TickWork): void {
    const { u32, f32 } = this.mem;
    const perTick = this.trainParams!.packetsPerTick;
    const G = this.mem.at('gradients');
    const size = this.inputs * this.n;
    const end = Math.min(size, (g + 1) * perTick);
    const [layer, slice] = [u32[H.layer], u32[H.slice]];
    for (let q = g * perTick; q < end; q++) {
      if (f32[G + q] === 0) continue;
      send(paramKey(KIND_GRADIENT, layer, slice, q), f32[G + q]);
      f32[G + q] = 0;
      work.sent++;
    }
  }
}
