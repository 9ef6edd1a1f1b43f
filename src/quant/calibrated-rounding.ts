import type { LifConstants } from '../numerics/lif.js';
import { better, firstSpikes, layerRasters, networkCost, type Cost, type DenseLayer, type Patterns } from './calibration-network.js';
import { emptyStats, searchLayer, type SearchProgress, type SearchStats } from './calibration-search.js';
import { layerFromMantissas, mantissaMax, quantiseLayer, type LayerQuantisation, type QuantType } from './quantise.js';

export type { SearchStats } from './calibration-search.js';

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
 * index, as docs/contract.md), then the distance of its output first spikes from the float network's (sum
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
 * spikes are run once; a move re-runs only the samples in which its input spiked, each from the step its
 * input changes, skips those in which no spike can move, and re-runs the layers above only where the
 * neuron's spikes changed (calibration-search.ts says how, and why the result is the same as re-running
 * everything). The search runs on at most `maxPatterns` patterns (by default as many as WORK_BOUND
 * allows), evenly spread over the calibration set's; the report counts the errors on all samples.
 *
 * The layers run the contract's float32 recurrence (docs/contract.md). For quantised weights the synaptic
 * input is a sum of integer multiples of 2^exp, exact in double and in float32, so the spikes seen here
 * are the chip's (a test checks the counts against the tensor engine); for the float layers above, the
 * sum is rounded to float32 once, which may differ from the engine in the last bit and only shifts the
 * objective, never the exactness of the export.
 */

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
  /**
   * Distinct input patterns the search runs on, at most: when the calibration set has more, the search
   * runs on this many, evenly spread over them (in order of first appearance), and the report still
   * counts the errors on all samples. Default (undefined): as many as the work bound allows,
   * defaultSearchPatterns. Infinity: all.
   */
  maxPatterns?: number;
  /** Called as the search goes (after every neuron of a layer); the library prints nothing itself. */
  onProgress?: (p: CalibrationProgress) => void;
  /** Work counts, added to (for profiling: scripts/bench-calibrated-rounding.mjs). */
  stats?: SearchStats;
}

/** Where calibrated rounding stands. */
export interface CalibrationProgress {
  /** Round (1-based) of `rounds`; layer (0-based) of `layers`; the exponent being tried. */
  round: number;
  rounds: number;
  layer: number;
  layers: number;
  exp: number;
  /** The sweep over the layer's weights (1-based), and its neurons done of `neurons`. */
  sweep: number;
  neuron: number;
  neurons: number;
  /** Calibration samples the network misclassifies with the layer's mantissas as they stand. */
  errors: number;
  /** The samples of the patterns the search runs on (all calibration samples unless maxPatterns bounds them). */
  samples: number;
  /**
   * An estimate of the fraction of the work done, 0..1, for an estimate of the time left: searches
   * weighted by their layer's synapses, each expected to take as many sweeps as the finished ones of
   * the same round took on average (3 in the first round and 2 in later ones before any finished).
   */
  fraction: number;
}

export const CALIBRATION_DEFAULTS: CalibrationOptions = { finerExponents: 2, radius: 2, rounds: 3, maxSweeps: 30 };

/**
 * The work bound of the default maxPatterns: a sweep over a layer costs about patterns x steps x the
 * layer's synapses, so the search runs on at most WORK_BOUND / (steps x synapses) patterns (at least
 * 256): all 487 of the twin (T = 27, 960 synapses, bound 5178), 499 of the 3614 of the swept 0.25 ms
 * model (T = 168, 1600 synapses), which keeps its calibration under a minute here at int8 and int4.
 * Measured, with the accuracy it keeps, in scripts/bench-calibrated-rounding.mjs.
 */
export const WORK_BOUND = 2 ** 27;

/** The default bound on the patterns the search runs on, for a network of `synapses` synapses run for `steps` steps. */
export function defaultSearchPatterns(steps: number, synapses: number): number {
  return Math.max(256, Math.floor(WORK_BOUND / (steps * synapses)));
}

export interface CalibrationReport {
  samples: number;
  /** Distinct input spike patterns among them (samples with equal inputs are run once). */
  patterns: number;
  /** The patterns the search ran on (all, or maxPatterns of them), and their samples. */
  patternsSearched: number;
  samplesSearched: number;
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

const fround = Math.fround;

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

/** `count` of the patterns, evenly spread (pattern floor(i * all / count) for i < count); all of them when count >= all. */
function spread(pats: Patterns, count: number, cells: number, classes: number): Patterns {
  if (!(count < pats.count)) return pats;
  const n = Math.max(1, Math.floor(count));
  const raster = new Uint8Array(n * cells);
  const samples = new Int32Array(n);
  const labelCounts = new Int32Array(n * classes);
  for (let i = 0; i < n; i++) {
    const p = Math.floor((i * pats.count) / n);
    raster.set(pats.raster.subarray(p * cells, (p + 1) * cells), i * cells);
    samples[i] = pats.samples[p];
    labelCounts.set(pats.labelCounts.subarray(p * classes, (p + 1) * classes), i * classes);
  }
  return { count: n, raster, samples, labelCounts };
}

/** A network's output first spikes on every pattern, [patterns][outputs]. */
function outputFirstSpikes(layers: DenseLayer[], pats: Patterns, steps: number, c: LifConstants): Int32Array {
  let r = pats.raster;
  for (const layer of layers) r = layerRasters(r, pats.count, layer, steps, c);
  const outputs = layers[layers.length - 1].cols;
  const first = new Int32Array(pats.count * outputs);
  for (let p = 0; p < pats.count; p++) firstSpikes(r, p * steps * outputs, steps, outputs, first, p * outputs);
  return first;
}

/** The searches planned, in order, and an estimate of the fraction done (see CalibrationProgress.fraction). */
class Plan {
  private readonly searches: { round: number; weight: number; sweeps: number | null }[] = [];
  private current = 0;

  constructor(sizes: number[], exponentsTried: number, rounds: number) {
    for (let round = 1; round <= rounds; round++) {
      for (const weight of sizes) for (let e = 0; e < (round === 1 ? exponentsTried : 1); e++) this.searches.push({ round, weight, sweeps: null });
    }
  }

  /** The current search finished after `sweeps` sweeps. */
  finish(sweeps: number): void {
    this.searches[this.current++].sweeps = sweeps;
  }

  private expected(round: number): number {
    const same = this.searches.filter((s) => s.sweeps !== null && (s.round === 1) === (round === 1));
    if (same.length) return same.reduce((n, s) => n + s.sweeps!, 0) / same.length;
    return round === 1 ? 3 : 2;
  }

  fraction(sweep: number, neuronFraction: number): number {
    let done = 0;
    let left = 0;
    this.searches.forEach((s, i) => {
      if (s.sweeps !== null) done += s.weight * s.sweeps;
      else if (i === this.current) {
        const now = sweep - 1 + neuronFraction;
        done += s.weight * now;
        left += s.weight * (Math.max(this.expected(s.round), sweep) - now);
      } else left += s.weight * this.expected(s.round);
    });
    return done + left > 0 ? done / (done + left) : 1;
  }
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
  const { finerExponents, radius, rounds, maxSweeps, exponents, onProgress } = { ...CALIBRATION_DEFAULTS, ...options };
  const stats = options.stats ?? emptyStats();
  const inputs = layers[0].length;
  const outputs = layers[layers.length - 1][0].length;
  const samples = set.encoded.length / inputs;
  const all = groupPatterns(set, inputs, steps, outputs);
  const synapses = layers.reduce((n, w) => n + w.length * w[0].length, 0);
  const pats = spread(all, options.maxPatterns ?? defaultSearchPatterns(steps, synapses), steps * inputs, outputs);
  const float: DenseLayer[] = layers.map((w) => ({ w: Float64Array.from(w.flat(), fround), rows: w.length, cols: w[0].length }));
  // The float network's output first spikes per pattern: the distance's reference.
  const target = outputFirstSpikes(float, pats, steps, c);
  const samplesSearched = pats.samples.reduce((n, s) => n + s, 0);

  const max = mantissaMax(q);
  const plan = new Plan(
    layers.map((w) => w.length * w[0].length),
    exponents ? 1 : finerExponents + 1,
    rounds,
  );
  const progress = (round: number, layer: number, exp: number) => (p: SearchProgress) =>
    onProgress?.({
      round,
      rounds,
      layer,
      layers: layers.length,
      exp,
      sweep: p.sweep,
      neuron: p.neuron,
      neurons: p.neurons,
      errors: p.cost.errors,
      samples: samplesSearched,
      fraction: plan.fraction(p.sweep, p.neuron / p.neurons),
    });
  /** One layer's search, with `below` the spikes arriving at it and `upper` the layers above. */
  const search = (round: number, l: number, exp: number, below: Uint8Array, upper: DenseLayer[], start?: Int32Array) => {
    const found = searchLayer({
      weights: layers[l],
      exp,
      max,
      inputs: below,
      pats,
      steps,
      upper,
      target,
      c,
      radius,
      maxSweeps,
      start,
      onProgress: onProgress && progress(round, l, exp),
      stats,
    });
    plan.finish(found.sweeps);
    return found;
  };

  let inputsOfLayer = pats.raster;
  const out: LayerQuantisation[] = [];
  const nearest: LayerQuantisation[] = [];
  const sweeps: number[] = [];
  layers.forEach((w, l) => {
    const rule = quantiseLayer(w, q, percentile, exponents?.[l]);
    const finest = exponents ? rule.exp : rule.exp - finerExponents;
    let best: { exp: number; mantissas: Int32Array; sweeps: number; after: Cost } | null = null;
    for (let exp = rule.exp; exp >= finest; exp--) {
      const cal = { exp, ...search(1, l, exp, inputsOfLayer, float.slice(l + 1)) };
      if (!best || better(cal.after, best.after)) best = cal;
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
      const cal = search(round, l, out[l].exp, below, out.slice(l + 1).map(dense), out[l].mantissas);
      out[l] = layerFromMantissas(w, out[l].exp, cal.mantissas, max);
      sweeps[l] += cal.sweeps;
      below = layerRasters(below, pats.count, dense(out[l]), steps, c);
    });
  }
  // The report counts all calibration samples, also those the search did not run on.
  const targetAll = pats === all ? target : outputFirstSpikes(float, all, steps, c);
  const before = networkCost(nearest.map(dense), all, steps, c, targetAll);
  const after = networkCost(out.map(dense), all, steps, c, targetAll);
  return {
    layers: out,
    report: {
      samples,
      patterns: all.count,
      patternsSearched: pats.count,
      samplesSearched,
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
