import { FLT_MIN } from '../numerics/flush.js';
import { lifCurrent, lifMembrane, type LifConstants } from '../numerics/lif.js';


/**
 * The LIF recurrence as calibrated rounding runs it (src/quant/calibrated-rounding.ts): the contract's
 * step (numerics/lif.ts, shared with the engine's typed kernel: float32 operation order, stored I and V
 * flushed), on plain typed arrays, with the state after every step kept so that a changed input can be
 * re-run from the step it changes instead of from step 0.
 *
 * Steps: the state after step 0 is I = V = 0 and no neuron spikes in step 0. Step t (1 <= t < T) reads
 * the synaptic input x[t - 1] (the spikes of the layer below in step t - 1, weighted):
 *   I_t = lifCurrent(alpha, I_{t-1}, f32(x[t-1]))
 *   U_t = lifMembrane(beta, oneMinusBeta, V_{t-1}, I_t)      (U: the membrane before the reset)
 *   spike in step t iff U_t > threshold; then V_t = 0, else V_t = U_t.
 * So a change of x[s] changes nothing up to step s: a neuron re-runs from its state after step s.
 *
 * Layouts: a value of pattern p, step t and neuron n of a layer with `cols` neurons is at
 * (p * steps + t) * cols + n. The functions take `at` (the index of step 0 of the neuron in the pattern)
 * and `stride` (the distance between two steps: cols for a layer's array, 1 for one neuron's).
 */

const fround = Math.fround;

/**
 * Steps 1..T-1 of a layer's `cols` neurons from rest, all neurons in a step before the next step: input
 * x[xAt + t * cols + j], spikes to out[outAt + t * cols + j] (step 0 silent). I and V are scratch, cols long.
 */
export function runLayer(x: ArrayLike<number>, xAt: number, steps: number, cols: number, c: LifConstants, out: Uint8Array, outAt: number, I: Float64Array, V: Float64Array): void {
  const { alpha, beta, oneMinusBeta, threshold } = c;
  I.fill(0, 0, cols);
  V.fill(0, 0, cols);
  out.fill(0, outAt, outAt + cols);
  for (let t = 1; t < steps; t++) {
    const xo = xAt + (t - 1) * cols;
    const o = outAt + t * cols;
    for (let j = 0; j < cols; j++) {
      const i = lifCurrent(alpha, I[j], fround(x[xo + j]));
      const v = lifMembrane(beta, oneMinusBeta, V[j], i);
      I[j] = i;
      if (v > threshold) {
        out[o + j] = 1;
        V[j] = 0;
      } else {
        out[o + j] = 0;
        V[j] = v;
      }
    }
  }
}

/**
 * Steps from+1..T-1 of one neuron from its stored state after step `from` (I[at + from * stride],
 * V[...]), storing the state after every step (V after the reset) and, when U is given, the membrane
 * before the reset. Returns the first step after `from` in which it spiked (T if none).
 */
export function traceNeuron(
  x: ArrayLike<number>,
  at: number,
  stride: number,
  from: number,
  steps: number,
  c: LifConstants,
  I: Float32Array,
  V: Float32Array,
  U: Float32Array | null,
): number {
  const { alpha, beta, oneMinusBeta, threshold } = c;
  let i = I[at + from * stride];
  let v = V[at + from * stride];
  let first = steps;
  for (let t = from + 1; t < steps; t++) {
    const o = at + t * stride;
    i = lifCurrent(alpha, i, fround(x[o - stride]));
    const u = lifMembrane(beta, oneMinusBeta, v, i);
    I[o] = i;
    if (U) U[o] = u;
    if (u > threshold) {
      v = 0;
      if (first === steps) first = t;
    } else v = u;
    V[o] = v;
  }
  return first;
}

/**
 * traceNeuron from rest (step 0) on `count` patterns of one neuron at once (stride 1, pattern q's step 0
 * at at + q * steps): the same operations, run step by step across the patterns so that the independent
 * runs overlap in the processor. i and v are scratch, count long.
 */
export function traceFromRest(
  x: ArrayLike<number>,
  at: number,
  count: number,
  steps: number,
  c: LifConstants,
  I: Float32Array,
  V: Float32Array,
  U: Float32Array,
  i: Float64Array,
  v: Float64Array,
): void {
  const { alpha, beta, oneMinusBeta, threshold } = c;
  for (let q = 0; q < count; q++) {
    i[q] = 0;
    v[q] = 0;
    I[at + q * steps] = 0;
    V[at + q * steps] = 0;
    U[at + q * steps] = 0;
  }
  for (let t = 1; t < steps; t++) {
    for (let q = 0; q < count; q++) {
      const o = at + q * steps + t;
      const ii = lifCurrent(alpha, i[q], fround(x[o - 1]));
      const u = lifMembrane(beta, oneMinusBeta, v[q], ii);
      const vv = u > threshold ? 0 : u;
      I[o] = ii;
      U[o] = u;
      V[o] = vv;
      i[q] = ii;
      v[q] = vv;
    }
  }
}

/** A neuron's stored run on one pattern and the bound of what a change of its input can do (see trialSpikes). */
export interface StoredRun {
  I: Float32Array;
  V: Float32Array;
  U: Float32Array;
  /** peakFrom[at + t]: the largest U of the run from step t on. */
  peakFrom: Float32Array;
  /** gapFrom[at + t]: the smallest |U - threshold| of the run from step t on. */
  gapFrom: Float64Array;
  /** kernelMax, and roundingSlack for the magnitudes of both runs. */
  kmax: number;
  slack: number;
}

/**
 * A trial run of one neuron (stride 1) whose input x changed from x[from] on, from its stored state
 * after step `from`. Returns how many steps' spikes differ from the stored run's, those steps ascending
 * in diffs (T long at least). While no spike differs, it stops early, with none, in a step t from
 * `settled` on (x changes no more) in which no later spike can change: the largest response to the
 * difference of the two states (|dV|, and |dI| times kernelMax) plus the rounding slack is smaller than
 * every later |U - threshold| of the stored run (so every later step stays on its side, and a common
 * reset only removes terms); or, from `quietFrom` on (the stored run spikes no more), the stored run's
 * peak plus the largest rise stays at or below the threshold. `ran[0]` gets the steps run.
 */
export function trialSpikes(
  x: Float64Array,
  at: number,
  from: number,
  settled: number,
  quietFrom: number,
  steps: number,
  c: LifConstants,
  run: StoredRun,
  diffs: Int32Array,
  ran: Int32Array,
): number {
  const { alpha, beta, oneMinusBeta, threshold } = c;
  const { I, V, U, peakFrom, gapFrom, kmax, slack } = run;
  let i = I[at + from];
  let v = V[at + from];
  let n = 0;
  for (let t = from + 1; t < steps; t++) {
    i = lifCurrent(alpha, i, fround(x[at + t - 1]));
    const u = lifMembrane(beta, oneMinusBeta, v, i);
    const spike = u > threshold;
    v = spike ? 0 : u;
    if (spike !== U[at + t] > threshold) diffs[n++] = t;
    else if (n === 0 && t >= settled && t + 1 < steps) {
      const dV = v - V[at + t];
      const dI = i - I[at + t];
      if (
        Math.abs(dV) + Math.abs(dI) * kmax + slack < gapFrom[at + t + 1] ||
        (t >= quietFrom && peakFrom[at + t + 1] + Math.max(dV, 0) + Math.max(dI, 0) * kmax + slack <= threshold)
      ) {
        ran[0] = t - from;
        return 0;
      }
    }
  }
  ran[0] = steps - 1 - from;
  return n;
}

/**
 * The first spike of a trial run of one neuron (stride 1) whose input x changed from x[from] on, from its
 * stored state after step `from` (T if none). From `quietFrom` on (pass it only when the stored run never
 * spikes, else T) it stops, with none, as trialSpikes does. `ran[0]` gets the steps run.
 */
export function trialFirstSpike(x: Float64Array, at: number, from: number, quietFrom: number, steps: number, c: LifConstants, run: StoredRun, ran: Int32Array): number {
  const { alpha, beta, oneMinusBeta, threshold } = c;
  const { I, V, peakFrom, kmax, slack } = run;
  let i = I[at + from];
  let v = V[at + from];
  for (let t = from + 1; t < steps; t++) {
    i = lifCurrent(alpha, i, fround(x[at + t - 1]));
    v = lifMembrane(beta, oneMinusBeta, v, i);
    if (v > threshold) {
      ran[0] = t - from;
      return t;
    }
    if (t >= quietFrom && t + 1 < steps && peakFrom[at + t + 1] + Math.max(v - V[at + t], 0) + Math.max(i - I[at + t], 0) * kmax + slack <= threshold) {
      ran[0] = t - from;
      return steps;
    }
  }
  ran[0] = steps - 1 - from;
  return steps;
}

/** The first step after `from` in which the neuron spikes, run from its stored state after `from` (T if none). */
export function firstSpikeFrom(x: ArrayLike<number>, at: number, stride: number, from: number, steps: number, c: LifConstants, I: Float32Array, V: Float32Array): number {
  const { alpha, beta, oneMinusBeta, threshold } = c;
  let i = I[at + from * stride];
  let v = V[at + from * stride];
  for (let t = from + 1; t < steps; t++) {
    i = lifCurrent(alpha, i, fround(x[at + (t - 1) * stride]));
    v = lifMembrane(beta, oneMinusBeta, v, i);
    if (v > threshold) return t;
  }
  return steps;
}

/**
 * The largest change of U, per unit of input, that one input spike can cause in a later step while the
 * spikes stay the same: an input change d arriving in step s + 1 changes I by d * alpha^n and U by
 * d * K_n in step s + 1 + n, with K_0 = oneMinusBeta, K_n = beta * K_{n-1} + oneMinusBeta * alpha^n
 * (every term has the sign of d; a reset in both runs only removes terms). Returns max over n < T of K_n.
 */
export function kernelMax(c: LifConstants, steps: number): number {
  let k = 0;
  let a = 1;
  let max = 0;
  for (let n = 0; n < steps; n++) {
    k = c.beta * k + c.oneMinusBeta * a;
    a *= c.alpha;
    max = Math.max(max, k);
  }
  return max;
}

/**
 * A bound on how far two float32 runs of one neuron can be from their exact difference (the linear
 * response above), when neither spikes, every |I|, |V|, |U| and |x| of both runs is at most `m`, and
 * alpha, beta < 1 (else Infinity). Per step, I's two roundings and x's err by at most u * (alpha |I| + |x| + |I|) each
 * run (u = 2^-24), U's by u * (beta |V| + oneMinusBeta |I| + |U|); these decay with alpha and beta, so
 * I's error stays below 2 * 3u m / (1 - alpha) and U's below (oneMinusBeta * that + 2 * 3u m) / (1 - beta).
 * The flush of a stored I or V moves it by less than FLT_MIN more per step and run (e = 2 * FLT_MIN for
 * both runs; too small to change the double sum for the m >= 1 the search passes). Doubled again for
 * margin: the bound only decides which runs can be skipped, never a result.
 */
export function roundingSlack(c: LifConstants, m: number): number {
  if (!(c.alpha < 1 && c.beta < 1)) return Infinity;
  const u = 2 ** -24;
  const e = 2 * FLT_MIN;
  const errI = (6 * u * m + e) / (1 - c.alpha);
  const errU = (c.oneMinusBeta * errI + 6 * u * m + e) / (1 - c.beta);
  return 2 * errU;
}
