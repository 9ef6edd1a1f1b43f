import { predictedClass } from '../numerics/prediction.js';
import { firstSpikeFrom, runLayer, traceNeuron } from './calibration-lif.js';
import type { LifConstants } from '../numerics/lif.js';

/**
 * The network side of calibrated rounding (src/quant/calibrated-rounding.ts): the calibration patterns,
 * whole layers run on them, the objective of a pattern, and the layers above the calibrated one, kept up
 * to date while its spikes change.
 */

/** A layer as the calibration runs it: row-major [inputs][outputs] values. */
export interface DenseLayer {
  w: Float64Array;
  rows: number;
  cols: number;
}

/** The calibration samples grouped by identical input spikes: one raster per pattern, its count and label counts. */
export interface Patterns {
  count: number;
  /** Input spikes [patterns][steps][inputs]. */
  raster: Uint8Array;
  samples: Int32Array;
  /** [patterns][classes]: how many of the pattern's samples have each label. */
  labelCounts: Int32Array;
}

/** The objective of one pattern (or a sum): misclassified samples, and the first-spike distance times its samples. */
export interface Cost {
  errors: number;
  distance: number;
}

/** Lexicographic: fewer errors, then a smaller distance. */
export function better(a: Cost, b: Cost): boolean {
  return a.errors < b.errors || (a.errors === b.errors && a.distance < b.distance);
}

/** For every (pattern, step) of a raster [patterns][steps][n], the neurons that spiked, ascending (CSR). */
export interface SpikeLists {
  start: Int32Array;
  ids: Int32Array;
}

export function spikeLists(raster: Uint8Array, cells: number, n: number): SpikeLists {
  const start = new Int32Array(cells + 1);
  let count = 0;
  for (let i = 0; i < raster.length; i++) if (raster[i]) count++;
  const ids = new Int32Array(count);
  let at = 0;
  for (let s = 0; s < cells; s++) {
    start[s] = at;
    for (let k = 0; k < n; k++) if (raster[s * n + k]) ids[at++] = k;
  }
  start[cells] = at;
  return { start, ids };
}

/**
 * The synaptic input of every neuron of `layer` in one pattern: x[t * cols + j] = the sum, over the
 * inputs k that spiked in step t in ascending order, of w[k][j] (in double, from 0).
 */
export function layerInput(lists: SpikeLists, cellAt: number, layer: DenseLayer, steps: number, x: Float64Array): void {
  const { w, cols } = layer;
  x.fill(0, 0, steps * cols);
  for (let t = 0; t < steps; t++) {
    const o = t * cols;
    for (let i = lists.start[cellAt + t]; i < lists.start[cellAt + t + 1]; i++) {
      const row = lists.ids[i] * cols;
      for (let j = 0; j < cols; j++) x[o + j] += w[row + j];
    }
  }
}

/** A layer on every pattern: rasters [patterns][steps][rows] in, [patterns][steps][cols] out. */
export function layerRasters(raster: Uint8Array, patterns: number, layer: DenseLayer, steps: number, c: LifConstants): Uint8Array {
  const lists = spikeLists(raster, patterns * steps, layer.rows);
  const out = new Uint8Array(patterns * steps * layer.cols);
  const x = new Float64Array(steps * layer.cols);
  const I = new Float64Array(layer.cols);
  const V = new Float64Array(layer.cols);
  for (let p = 0; p < patterns; p++) {
    layerInput(lists, p * steps, layer, steps, x);
    runLayer(x, 0, steps, layer.cols, c, out, p * steps * layer.cols, I, V);
  }
  return out;
}

/** First spike step of each neuron of a raster [steps][cols] (T when silent). */
export function firstSpikes(raster: Uint8Array, at: number, steps: number, cols: number, out: Int32Array, outAt = 0): void {
  out.fill(steps, outAt, outAt + cols);
  for (let t = steps - 1; t >= 0; t--) for (let j = 0; j < cols; j++) if (raster[at + t * cols + j]) out[outAt + j] = t;
}

/**
 * The objective of pattern p with output first spikes first[at..at+outputs): its samples that the
 * prediction (numerics/prediction.ts) misclassifies, and its samples times the sum of |first - target|.
 */
export function patternCost(pats: Patterns, target: Int32Array, p: number, first: Int32Array, at: number, outputs: number, into: Cost): void {
  let d = 0;
  for (let n = 0; n < outputs; n++) d += Math.abs(first[at + n] - target[p * outputs + n]);
  const count = pats.samples[p];
  into.errors = count - pats.labelCounts[p * outputs + predictedClass(first, at, outputs)];
  into.distance = count * d;
}

/**
 * The layers above the calibrated layer l, kept up to date while the spikes of layer l change: the
 * synaptic input of the first layer above follows the changed spikes one by one (`update`); `trial`
 * gives a pattern's objective after such changes and `commit` keeps them.
 */
export interface Above {
  /** Neuron j of layer l started (sign +1) or stopped (sign -1) spiking in step t of pattern p. */
  update(p: number, t: number, j: number, sign: number): void;
  /** The objective of pattern p as it stands (before any trial). */
  cost(p: number, into: Cost): void;
  /** The objective of pattern p after updates whose earliest step is t0. */
  trial(p: number, t0: number, into: Cost): void;
  /** Keep pattern p's trial. */
  commit(p: number, t0: number): void;
}

/** The synaptic input of `next` from a raster [patterns][steps][cols] of the layer below. */
function inputOf(raster: Uint8Array, patterns: number, steps: number, next: DenseLayer): Float64Array {
  const lists = spikeLists(raster, patterns * steps, next.rows);
  const x = new Float64Array(patterns * steps * next.cols);
  for (let p = 0; p < patterns; p++) layerInput(lists, p * steps, next, steps, x.subarray(p * steps * next.cols));
  return x;
}

/**
 * The output layer above the calibrated layer. Only its first spikes count, and a change of its input in
 * step t reaches it in step t + 1: an output whose first spike is in step t or earlier keeps it, the
 * others re-run from their stored state after step t, and only until they spike. The stored state of an
 * output is exact up to its first spike (a trial that moves a first spike later stores the states up to
 * the new one when it is committed).
 */
export class OutputAbove implements Above {
  private readonly xUp: Float64Array;
  private readonly I: Float32Array;
  private readonly V: Float32Array;
  private readonly first: Int32Array;
  private readonly trialFirst: Int32Array;
  private readonly outs: number;

  constructor(
    raster: Uint8Array,
    private readonly pats: Patterns,
    private readonly out: DenseLayer,
    private readonly steps: number,
    private readonly c: LifConstants,
    private readonly target: Int32Array,
  ) {
    const P = pats.count;
    this.outs = out.cols;
    this.xUp = inputOf(raster, P, steps, out);
    this.I = new Float32Array(P * steps * this.outs);
    this.V = new Float32Array(P * steps * this.outs);
    this.first = new Int32Array(P * this.outs);
    this.trialFirst = new Int32Array(this.outs);
    for (let p = 0; p < P; p++) {
      for (let n = 0; n < this.outs; n++) this.first[p * this.outs + n] = traceNeuron(this.xUp, p * steps * this.outs + n, this.outs, 0, steps, c, this.I, this.V, null);
    }
  }

  update(p: number, t: number, j: number, sign: number): void {
    const { outs, out } = this;
    const at = (p * this.steps + t) * outs;
    for (let n = 0; n < outs; n++) this.xUp[at + n] += sign * out.w[j * outs + n];
  }

  cost(p: number, into: Cost): void {
    patternCost(this.pats, this.target, p, this.first, p * this.outs, this.outs, into);
  }

  trial(p: number, t0: number, into: Cost): void {
    const { outs, steps } = this;
    for (let n = 0; n < outs; n++) {
      const f = this.first[p * outs + n];
      this.trialFirst[n] = t0 < f ? firstSpikeFrom(this.xUp, p * steps * outs + n, outs, t0, steps, this.c, this.I, this.V) : f;
    }
    patternCost(this.pats, this.target, p, this.trialFirst, 0, outs, into);
  }

  commit(p: number, t0: number): void {
    const { outs, steps } = this;
    for (let n = 0; n < outs; n++) {
      if (t0 < this.first[p * outs + n]) this.first[p * outs + n] = traceNeuron(this.xUp, p * steps * outs + n, outs, t0, steps, this.c, this.I, this.V, null);
    }
  }
}

/** Two or more layers above: the first one's input follows the changes, and every layer above re-runs from step 0. */
export class LayersAbove implements Above {
  private readonly buffers: Uint8Array[];
  private readonly xUp: Float64Array;
  private readonly x: Float64Array;
  private readonly I: Float64Array;
  private readonly V: Float64Array;
  private readonly first: Int32Array;
  private readonly outputs: number;

  constructor(
    raster: Uint8Array,
    private readonly pats: Patterns,
    private readonly upper: DenseLayer[],
    private readonly steps: number,
    private readonly c: LifConstants,
    private readonly target: Int32Array,
  ) {
    this.outputs = upper[upper.length - 1].cols;
    this.buffers = upper.map((l) => new Uint8Array(steps * l.cols));
    const widest = Math.max(...upper.map((l) => l.cols));
    this.x = new Float64Array(steps * widest);
    this.I = new Float64Array(widest);
    this.V = new Float64Array(widest);
    this.first = new Int32Array(this.outputs);
    this.xUp = inputOf(raster, pats.count, steps, upper[0]);
  }

  update(p: number, t: number, j: number, sign: number): void {
    const next = this.upper[0];
    const at = (p * this.steps + t) * next.cols;
    for (let n = 0; n < next.cols; n++) this.xUp[at + n] += sign * next.w[j * next.cols + n];
  }

  cost(p: number, into: Cost): void {
    const { steps, c, upper } = this;
    let below: Uint8Array | null = null;
    upper.forEach((layer, i) => {
      const out = this.buffers[i];
      if (i === 0) runLayer(this.xUp, p * steps * layer.cols, steps, layer.cols, c, out, 0, this.I, this.V);
      else {
        layerInput(spikeLists(below!, steps, layer.rows), 0, layer, steps, this.x);
        runLayer(this.x, 0, steps, layer.cols, c, out, 0, this.I, this.V);
      }
      below = out;
    });
    firstSpikes(below!, 0, steps, this.outputs, this.first);
    patternCost(this.pats, this.target, p, this.first, 0, this.outputs, into);
  }

  trial(p: number, _t0: number, into: Cost): void {
    this.cost(p, into);
  }

  commit(): void {}
}

/** The objective of a whole network on the calibration patterns. */
export function networkCost(layers: DenseLayer[], pats: Patterns, steps: number, c: LifConstants, target: Int32Array): Cost {
  let r = pats.raster;
  for (const layer of layers) r = layerRasters(r, pats.count, layer, steps, c);
  const outputs = layers[layers.length - 1].cols;
  const first = new Int32Array(outputs);
  const total: Cost = { errors: 0, distance: 0 };
  const one: Cost = { errors: 0, distance: 0 };
  for (let p = 0; p < pats.count; p++) {
    firstSpikes(r, p * steps * outputs, steps, outputs, first);
    patternCost(pats, target, p, first, 0, outputs, one);
    total.errors += one.errors;
    total.distance += one.distance;
  }
  return total;
}
