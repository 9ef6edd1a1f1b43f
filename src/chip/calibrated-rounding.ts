import { layerFromMantissas, mantissaMax, quantiseLayer, type LayerQuantisation, type QuantType } from './quantise.js';

/**
 * Calibrated rounding (an AdaRound-like post-training rounding for spiking layers): instead of rounding
 * every weight to its nearest mantissa on its own, the mantissas of a layer are chosen together so that
 * the quantised network classifies the calibration samples (the training split) as well as it can. Each
 * mantissa stays less than `radius` steps from w / 2^exp (radius 1: floor or ceil; the default 2 also
 * allows one step further), inside the mantissa range. The result is still signed mantissas with one
 * power-of-two scale per layer, so the chip runs it bit for bit, like any other choice of mantissas.
 *
 * The objective, summed over the calibration samples, is compared lexicographically: first the number of
 * samples the quantised network misclassifies (prediction = earliest output spike, ties to the lowest
 * index, as eventprop.md), then the distance of its output first spikes from the float network's (sum
 * over output neurons of |t_quantised - t_float|, a silent neuron counting as T), which keeps the choice
 * close to the trained network where the errors do not decide. Using the labels makes calibration a
 * small discrete fine-tuning on the training split: the quantised network can end up more accurate
 * than the float one it came from.
 *
 * Layers are calibrated in order, as AdaRound does: layer l sees the spikes of the calibrated layers
 * below it and, in the first round, the float layers above it. Every mantissa starts at round-to-nearest;
 * a move changes one mantissa by one step and is kept when it lowers the objective. Moves are tried
 * neuron by neuron, weight by weight, in sweeps over the layer until a sweep keeps none. Each layer tries
 * its percentile rule's exponent and `finerExponents` finer ones (smaller steps, more clipping) and keeps
 * the one with the lowest objective, unless `exponents` fixes them. Later rounds go over every layer
 * again, from its calibrated mantissas, with the calibrated layers above it. Samples with the same input
 * spikes are run once; a move re-runs only the samples in which its input spiked, and the layers above
 * only where the neuron's spikes changed.
 *
 * The layers run the contract's float32 recurrence (eventprop.md). For quantised weights the synaptic
 * input is a sum of integer multiples of 2^exp, exact in double and in float32, so the spikes seen here
 * are the chip's (a test checks the counts against the tensor engine); for the float layers above, the
 * sum is rounded to float32 once, which may differ from the engine in the last bit and only shifts the
 * objective, never the exactness of the export.
 */

export interface LifConstants {
  alpha: number;
  beta: number;
  oneMinusBeta: number;
  threshold: number;
}

/** Calibration samples: input spike steps [samples][inputs] (the model's encoding) and their labels. */
export interface CalibrationSet {
  encoded: Int32Array;
  labels: ArrayLike<number>;
}

export interface CalibrationOptions {
  /** How many exponents below the percentile rule's each layer also tries (finer steps, more clipping). */
  finerExponents: number;
  /** Fixed exponents per layer (no search), e.g. those a quantisation-aware training used. */
  exponents?: number[];
  /** A mantissa stays less than `radius` steps from w / 2^exp (1: floor or ceil of it only). */
  radius: number;
  /** Passes over all layers; rounds after the first see the calibrated layers above instead of the float ones. */
  rounds: number;
  /** Sweeps over a layer's weights per round, at most (a sweep that keeps no move ends the layer). */
  maxSweeps: number;
}

export const CALIBRATION_DEFAULTS: CalibrationOptions = { finerExponents: 2, radius: 2, rounds: 3, maxSweeps: 30 };

export interface CalibrationReport {
  samples: number;
  /** Distinct input spike patterns among them (samples with equal inputs are run once). */
  patterns: number;
  /** Misclassified calibration samples with round-to-nearest and with calibrated rounding. */
  errorsNearest: number;
  errors: number;
  /** Sum over samples and outputs of |first spike - float network's first spike|, nearest and calibrated. */
  distanceNearest: number;
  distance: number;
  /** Per layer: the exponent chosen, and the percentile rule's. */
  exponents: number[];
  exponentsRule: number[];
  /** Per layer: mantissas that differ from round-to-nearest at the chosen exponent. */
  changed: number[];
  sweeps: number[];
}

/** A layer as the calibration runs it: row-major [inputs][outputs] values. */
interface DenseLayer {
  w: Float64Array;
  rows: number;
  cols: number;
}

const fround = Math.fround;

/** Steps 1..T-1 of one LIF neuron; x[at + t] is the synaptic input arriving in step t + 1; spikes to out[outAt + t * stride]. */
function runNeuron(x: Float64Array, at: number, steps: number, c: LifConstants, out: Uint8Array, outAt: number, stride: number): void {
  let I = 0;
  let V = 0;
  out[outAt] = 0;
  for (let i = 1; i < steps; i++) {
    I = fround(fround(c.alpha * I) + fround(x[at + i - 1]));
    V = fround(fround(c.beta * V) + fround(c.oneMinusBeta * I));
    if (V > c.threshold) {
      out[outAt + i * stride] = 1;
      V = 0;
    } else out[outAt + i * stride] = 0;
  }
}

/** One pattern through one layer: raster [steps][rows] in, spikes [steps][cols] out. */
function layerPattern(raster: Uint8Array, at: number, layer: DenseLayer, steps: number, c: LifConstants, out: Uint8Array, outAt: number, x: Float64Array): void {
  const { w, rows, cols } = layer;
  for (let j = 0; j < cols; j++) {
    for (let t = 0; t < steps; t++) {
      let sum = 0;
      const r = at + t * rows;
      for (let k = 0; k < rows; k++) if (raster[r + k]) sum += w[k * cols + j];
      x[t] = sum;
    }
    runNeuron(x, 0, steps, c, out, outAt + j, cols);
  }
}

/** A layer on every pattern: rasters [patterns][steps][rows] in, [patterns][steps][cols] out. */
function layerRasters(raster: Uint8Array, patterns: number, layer: DenseLayer, steps: number, c: LifConstants): Uint8Array {
  const out = new Uint8Array(patterns * steps * layer.cols);
  const x = new Float64Array(steps);
  for (let p = 0; p < patterns; p++) layerPattern(raster, p * steps * layer.rows, layer, steps, c, out, p * steps * layer.cols, x);
  return out;
}

/** First spike step of each neuron of a raster [steps][cols] (T when silent). */
function firstSpikes(raster: Uint8Array, at: number, steps: number, cols: number, out: Int32Array): void {
  out.fill(steps);
  for (let t = steps - 1; t >= 0; t--) for (let j = 0; j < cols; j++) if (raster[at + t * cols + j]) out[j] = t;
}

/** Prediction from first spikes: the earliest, ties to the lowest index. */
function prediction(first: Int32Array): number {
  let best = 0;
  for (let n = 1; n < first.length; n++) if (first[n] < first[best]) best = n;
  return best;
}

/** The calibration samples grouped by identical input spikes: one raster per pattern, its count and label counts. */
interface Patterns {
  count: number;
  raster: Uint8Array;
  samples: Int32Array;
  labelCounts: Int32Array;
}

function groupPatterns(set: CalibrationSet, inputs: number, steps: number, classes: number): Patterns {
  const n = set.encoded.length / inputs;
  const ids = new Map<string, number>();
  const rows: Int32Array[] = [];
  const samples: number[] = [];
  const labelCounts: number[] = [];
  for (let s = 0; s < n; s++) {
    const row = set.encoded.subarray(s * inputs, (s + 1) * inputs);
    const key = row.join(',');
    let id = ids.get(key);
    if (id === undefined) {
      id = rows.length;
      ids.set(key, id);
      rows.push(row);
      samples.push(0);
      for (let k = 0; k < classes; k++) labelCounts.push(0);
    }
    samples[id]++;
    const label = set.labels[s];
    if (label >= 0 && label < classes) labelCounts[id * classes + label]++;
  }
  const raster = new Uint8Array(rows.length * steps * inputs);
  rows.forEach((row, p) =>
    row.forEach((t, k) => {
      if (t >= 0 && t < steps) raster[(p * steps + t) * inputs + k] = 1;
    }),
  );
  return { count: rows.length, raster, samples: Int32Array.from(samples), labelCounts: Int32Array.from(labelCounts) };
}

/** The objective of one pattern: misclassified samples, and the first-spike distance (times its samples). */
interface Cost {
  errors: number;
  distance: number;
}

/**
 * The output of the layers above layer l for every pattern, kept up to date while the spikes of layer l
 * change: the synaptic input of the first layer above is updated by the changed spikes alone; the layers
 * further up run again for that pattern. Without layers above, layer l is the output layer.
 */
class Upward {
  private readonly buffers: Uint8Array[];
  private readonly xUp: Float64Array;
  private readonly x: Float64Array;
  private readonly first: Int32Array;
  private readonly outputs: number;

  constructor(
    private readonly raster: Uint8Array,
    private readonly cols: number,
    private readonly pats: Patterns,
    private readonly upper: DenseLayer[],
    private readonly steps: number,
    private readonly c: LifConstants,
    private readonly target: Int32Array,
  ) {
    this.outputs = upper.length ? upper[upper.length - 1].cols : cols;
    this.buffers = upper.map((l) => new Uint8Array(steps * l.cols));
    this.x = new Float64Array(steps);
    this.first = new Int32Array(this.outputs);
    const next = upper[0];
    this.xUp = new Float64Array(next ? pats.count * steps * next.cols : 0);
    if (next) {
      for (let s = 0; s < pats.count * steps; s++) {
        for (let k = 0; k < cols; k++) {
          if (!raster[s * cols + k]) continue;
          for (let n = 0; n < next.cols; n++) this.xUp[s * next.cols + n] += next.w[k * next.cols + n];
        }
      }
    }
  }

  /** Neuron j of layer l started (sign +1) or stopped (sign -1) spiking in step t of pattern p. */
  update(p: number, t: number, j: number, sign: number): void {
    const next = this.upper[0];
    if (!next) return;
    const at = (p * this.steps + t) * next.cols;
    for (let n = 0; n < next.cols; n++) this.xUp[at + n] += sign * next.w[j * next.cols + n];
  }

  /** The objective of pattern p with the current raster of layer l. */
  cost(p: number, into: Cost): void {
    const { steps, c, upper, outputs } = this;
    let r = this.raster;
    let rAt = p * steps * this.cols;
    upper.forEach((layer, i) => {
      const out = this.buffers[i];
      if (i === 0) {
        for (let n = 0; n < layer.cols; n++) {
          for (let t = 0; t < steps; t++) this.x[t] = this.xUp[(p * steps + t) * layer.cols + n];
          runNeuron(this.x, 0, steps, c, out, n, layer.cols);
        }
      } else layerPattern(r, rAt, layer, steps, c, out, 0, this.x);
      r = out;
      rAt = 0;
    });
    firstSpikes(r, rAt, steps, outputs, this.first);
    let d = 0;
    for (let n = 0; n < outputs; n++) d += Math.abs(this.first[n] - this.target[p * outputs + n]);
    const count = this.pats.samples[p];
    into.errors = count - this.pats.labelCounts[p * outputs + prediction(this.first)];
    into.distance = count * d;
  }
}

/** Round half to even (as quantise.ts). */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Calibrate one layer's mantissas (exponent `exp`, range ±max) on `inputs`, the rasters
 * [patterns][steps][rows] arriving from the calibrated layers below, with `upper` the float layers above
 * and `target` [patterns][outputs] the float network's first spikes. Returns the mantissas, the sweeps run
 * and the objective before and after.
 */
function calibrateLayer(
  weights: number[][],
  exp: number,
  max: number,
  inputs: Uint8Array,
  pats: Patterns,
  steps: number,
  upper: DenseLayer[],
  target: Int32Array,
  c: LifConstants,
  radius: number,
  maxSweeps: number,
  start?: Int32Array,
): { mantissas: Int32Array; sweeps: number; before: Cost; after: Cost } {
  const rows = weights.length;
  const cols = weights[0].length;
  const P = pats.count;
  const scale = 2 ** exp;
  const clip = (m: number) => Math.max(-max, Math.min(max, m));
  const mantissas = new Int32Array(rows * cols);
  weights.forEach((row, k) => row.forEach((w, j) => (mantissas[k * cols + j] = clip(roundEven(w / scale)))));
  if (start) mantissas.set(start);
  const raster = layerRasters(inputs, P, { w: Float64Array.from(mantissas, (m) => m * scale), rows, cols }, steps, c);
  const up = new Upward(raster, cols, pats, upper, steps, c, target);
  const errors = new Int32Array(P);
  const distance = new Float64Array(P);
  const total: Cost = { errors: 0, distance: 0 };
  const one: Cost = { errors: 0, distance: 0 };
  for (let p = 0; p < P; p++) {
    up.cost(p, one);
    errors[p] = one.errors;
    distance[p] = one.distance;
    total.errors += one.errors;
    total.distance += one.distance;
  }
  const before = { ...total };

  // For every input, the patterns in which it spiked: a change of its weights touches only those.
  const patternsOf: Int32Array[] = Array.from({ length: rows }, (_, k) => {
    const list: number[] = [];
    for (let p = 0; p < P; p++) {
      for (let t = 0; t < steps; t++) {
        if (inputs[(p * steps + t) * rows + k]) {
          list.push(p);
          break;
        }
      }
    }
    return Int32Array.from(list);
  });
  const x = new Float64Array(P * steps); // neuron j's synaptic input per pattern and step (exact: integers times 2^exp)
  const spikes = new Uint8Array(steps);
  const trialErrors = new Int32Array(P);
  const trialDistance = new Float64Array(P);
  const saved = new Uint8Array(P * steps);
  const changed: number[] = [];

  /** Move mantissa (k, j) to `cand` if that lowers the objective; x holds neuron j's synaptic input. */
  const tryMove = (k: number, j: number, cand: number): boolean => {
    const delta = (cand - mantissas[k * cols + j]) * scale;
    let dErrors = 0;
    let dDistance = 0;
    changed.length = 0;
    for (const p of patternsOf[k]) {
      for (let t = 0; t < steps; t++) if (inputs[(p * steps + t) * rows + k]) x[p * steps + t] += delta;
      runNeuron(x, p * steps, steps, c, spikes, 0, 1);
      let same = true;
      for (let t = 0; t < steps && same; t++) same = spikes[t] === raster[(p * steps + t) * cols + j];
      if (same) continue;
      // Neuron j's spikes changed in pattern p: swap them into the raster, run the layers above.
      changed.push(p);
      for (let t = 0; t < steps; t++) {
        const o = (p * steps + t) * cols + j;
        saved[p * steps + t] = raster[o];
        if (raster[o] !== spikes[t]) up.update(p, t, j, spikes[t] - raster[o]);
        raster[o] = spikes[t];
      }
      up.cost(p, one);
      trialErrors[p] = one.errors;
      trialDistance[p] = one.distance;
      dErrors += one.errors - errors[p];
      dDistance += one.distance - distance[p];
    }
    if (dErrors < 0 || (dErrors === 0 && dDistance < 0)) {
      mantissas[k * cols + j] = cand;
      total.errors += dErrors;
      total.distance += dDistance;
      for (const p of changed) {
        errors[p] = trialErrors[p];
        distance[p] = trialDistance[p];
      }
      return true;
    }
    // Undo: the synaptic input, the raster and the layers above.
    for (const p of patternsOf[k]) for (let t = 0; t < steps; t++) if (inputs[(p * steps + t) * rows + k]) x[p * steps + t] -= delta;
    for (const p of changed) {
      for (let t = 0; t < steps; t++) {
        const o = (p * steps + t) * cols + j;
        if (raster[o] !== saved[p * steps + t]) up.update(p, t, j, saved[p * steps + t] - raster[o]);
        raster[o] = saved[p * steps + t];
      }
    }
    return false;
  };

  let sweeps = 0;
  while (sweeps < maxSweeps) {
    sweeps++;
    let kept = false;
    for (let j = 0; j < cols; j++) {
      for (let s = 0; s < P * steps; s++) {
        let sum = 0;
        for (let k = 0; k < rows; k++) if (inputs[s * rows + k]) sum += mantissas[k * cols + j];
        x[s] = sum * scale;
      }
      for (let k = 0; k < rows; k++) {
        const u = weights[k][j] / scale;
        // One step up, else one step down: inside the range and less than `radius` steps from w / 2^exp.
        for (const dir of [1, -1]) {
          const cand = mantissas[k * cols + j] + dir;
          if (Math.abs(cand) <= max && Math.abs(cand - u) < radius && tryMove(k, j, cand)) {
            kept = true;
            break;
          }
        }
      }
    }
    if (!kept) break;
  }
  return { mantissas, sweeps, before, after: total };
}

/**
 * Quantise every layer with calibrated rounding on the calibration set: per layer the percentile rule's
 * exponent or a finer one (or the fixed `exponents`), and the mantissas. `steps` and `c` are the model's.
 */
export function calibrateRounding(
  layers: number[][][],
  q: Exclude<QuantType, 'float32'>,
  percentile: number,
  set: CalibrationSet,
  steps: number,
  c: LifConstants,
  options: Partial<CalibrationOptions> = {},
): { layers: LayerQuantisation[]; report: CalibrationReport } {
  const { finerExponents, radius, rounds, maxSweeps, exponents } = { ...CALIBRATION_DEFAULTS, ...options };
  const inputs = layers[0].length;
  const outputs = layers[layers.length - 1][0].length;
  const pats = groupPatterns(set, inputs, steps, outputs);
  const float: DenseLayer[] = layers.map((w) => ({ w: Float64Array.from(w.flat(), fround), rows: w.length, cols: w[0].length }));
  // The float network's output first spikes per pattern: the distance's reference.
  let r = pats.raster;
  for (const layer of float) r = layerRasters(r, pats.count, layer, steps, c);
  const target = new Int32Array(pats.count * outputs);
  const first = new Int32Array(outputs);
  for (let p = 0; p < pats.count; p++) {
    firstSpikes(r, p * steps * outputs, steps, outputs, first);
    target.set(first, p * outputs);
  }

  const max = mantissaMax(q);
  let inputsOfLayer = pats.raster;
  const out: LayerQuantisation[] = [];
  const nearest: LayerQuantisation[] = [];
  const sweeps: number[] = [];
  layers.forEach((w, l) => {
    const rule = quantiseLayer(w, q, percentile, exponents?.[l]);
    const finest = exponents ? rule.exp : rule.exp - finerExponents;
    let best: { exp: number; mantissas: Int32Array; sweeps: number; after: Cost } | null = null;
    for (let exp = rule.exp; exp >= finest; exp--) {
      const cal = { exp, ...calibrateLayer(w, exp, max, inputsOfLayer, pats, steps, float.slice(l + 1), target, c, radius, maxSweeps) };
      if (!best || cal.after.errors < best.after.errors || (cal.after.errors === best.after.errors && cal.after.distance < best.after.distance)) best = cal;
    }
    nearest.push(rule);
    out.push(layerFromMantissas(w, best!.exp, best!.mantissas, max));
    sweeps.push(best!.sweeps);
    inputsOfLayer = layerRasters(inputsOfLayer, pats.count, dense(out[l]), steps, c);
  });
  // Later rounds: every layer again, from its calibrated mantissas, with the calibrated layers above it.
  for (let round = 2; round <= rounds; round++) {
    let below = pats.raster;
    layers.forEach((w, l) => {
      const cal = calibrateLayer(w, out[l].exp, max, below, pats, steps, out.slice(l + 1).map(dense), target, c, radius, maxSweeps, out[l].mantissas);
      out[l] = layerFromMantissas(w, out[l].exp, cal.mantissas, max);
      sweeps[l] += cal.sweeps;
      below = layerRasters(below, pats.count, dense(out[l]), steps, c);
    });
  }
  const before = networkCost(nearest.map(dense), pats, steps, c, target);
  const after = networkCost(out.map(dense), pats, steps, c, target);
  return {
    layers: out,
    report: {
      samples: set.encoded.length / inputs,
      patterns: pats.count,
      errorsNearest: before.errors,
      errors: after.errors,
      distanceNearest: before.distance,
      distance: after.distance,
      exponents: out.map((layer) => layer.exp),
      exponentsRule: nearest.map((layer) => layer.exp),
      changed: out.map((layer, l) => {
        // Against round-to-nearest at the chosen exponent.
        const ref = quantiseLayer(layers[l], q, percentile, layer.exp).mantissas;
        return layer.mantissas.reduce((n, m, i) => n + (m !== ref[i] ? 1 : 0), 0);
      }),
      sweeps,
    },
  };
}

/** A quantised layer's dequantised values, row-major. */
function dense(q: LayerQuantisation): DenseLayer {
  const scale = 2 ** q.exp;
  return { w: Float64Array.from(q.mantissas, (m) => m * scale), rows: q.rows, cols: q.cols };
}

/** The objective of a whole network on the calibration patterns. */
function networkCost(layers: DenseLayer[], pats: Patterns, steps: number, c: LifConstants, target: Int32Array): Cost {
  const up = new Upward(pats.raster, layers[0].rows, pats, layers, steps, c, target);
  const total: Cost = { errors: 0, distance: 0 };
  const one: Cost = { errors: 0, distance: 0 };
  for (let p = 0; p < pats.count; p++) {
    up.cost(p, one);
    total.errors += one.errors;
    total.distance += one.distance;
  }
  return total;
}
