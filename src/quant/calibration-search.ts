import { kernelMax, roundingSlack, traceFromRest, traceNeuron, trialFirstSpike, trialSpikes, type StoredRun } from './calibration-lif.js';
import type { LifConstants } from '../numerics/lif.js';
import {
  firstSpikes,
  layerRasters,
  LayersAbove,
  OutputAbove,
  patternCost,
  type Above,
  type Cost,
  type DenseLayer,
  type Patterns,
} from './calibration-network.js';
import { nearestMantissas } from './quantise.js';

/**
 * The search of calibrated rounding over one layer's mantissas (src/quant/calibrated-rounding.ts): moves
 * of one mantissa by one step, kept when they lower the objective, neuron by neuron, weight by weight,
 * in sweeps until a sweep keeps none.
 *
 * What a move costs. A move of weight (k, j) changes the synaptic input of neuron j by d = ±2^exp in the
 * steps in which input k spiked, so it is evaluated only on the patterns in which k spiked, and in each
 * from the step s of k's first spike there: neuron j keeps its state after every step of every pattern
 * (calibration-lif.ts) and re-runs from its state after step s. Before that, a pattern is skipped when
 * the change provably cannot move a spike: j does not spike after s and its membrane stays, after s,
 * below threshold by more than the largest response to d (kernelMax) plus a bound on float32 rounding
 * (roundingSlack). Only a pattern whose spikes change is passed up: to the output layer above, which
 * re-runs only the outputs that had not spiked before the first changed step, and only until they spike
 * (OutputAbove); when layer l is the output layer, only the first spike of j counts, so a pattern in
 * which k first spikes at or after j's first spike is skipped, and j runs only until it spikes.
 *
 * Every skip is one that cannot change a spike, so the moves kept, and the result, are those of running
 * every pattern from step 0 (test/quant/calibrated-rounding.test.ts compares the two).
 */

/** What one layer's search is told and reports while it runs. */
export interface SearchProgress {
  sweep: number;
  /** Neurons of the layer done in this sweep. */
  neuron: number;
  neurons: number;
  /** The objective now. */
  cost: Cost;
  /** Moves kept so far in this search. */
  kept: number;
}

export interface LayerSearch {
  weights: number[][];
  exp: number;
  /** Largest mantissa magnitude. */
  max: number;
  /** The spikes arriving from the layers below, [patterns][steps][rows]. */
  inputs: Uint8Array;
  pats: Patterns;
  steps: number;
  /** The layers above, as they stand (float in the first round). */
  upper: DenseLayer[];
  /** The float network's output first spikes [patterns][outputs]. */
  target: Int32Array;
  c: LifConstants;
  radius: number;
  maxSweeps: number;
  /** Mantissas to start from (else round-to-nearest). */
  start?: Int32Array;
  onProgress?: (p: SearchProgress) => void;
  /** Counts of the work done, for profiling (added to). */
  stats?: SearchStats;
}

/** Work counts of a search. */
export interface SearchStats {
  /** Moves tried. */
  moves: number;
  /** (move, pattern) pairs in which the move's input spiked. */
  pairs: number;
  /** Pairs skipped because no spike can change. */
  skipped: number;
  /** Neuron steps run for trials (re-runs from the changed step). */
  steps: number;
  /** Patterns whose spikes a trial changed (passed to the layers above). */
  changed: number;
}

export function emptyStats(): SearchStats {
  return { moves: 0, pairs: 0, skipped: 0, steps: 0, changed: 0 };
}

/** For one input: the patterns in which it spiked, and its spike steps in each (CSR, ascending). */
interface InputSpikes {
  pats: Int32Array;
  ptr: Int32Array;
  steps: Int32Array;
  /** The most spikes it has in one pattern. */
  maxCount: number;
}

function inputSpikes(inputs: Uint8Array, P: number, steps: number, rows: number): InputSpikes[] {
  const lists = Array.from({ length: rows }, () => ({ pats: [] as number[], ptr: [0], steps: [] as number[], maxCount: 0 }));
  for (let p = 0; p < P; p++) {
    for (let t = 0; t < steps; t++) {
      const o = (p * steps + t) * rows;
      for (let k = 0; k < rows; k++) {
        if (!inputs[o + k]) continue;
        const l = lists[k];
        if (l.pats[l.pats.length - 1] !== p) {
          l.pats.push(p);
          l.ptr.push(l.steps.length);
        }
        l.steps.push(t);
        l.ptr[l.ptr.length - 1] = l.steps.length;
      }
    }
  }
  return lists.map((l) => {
    const ptr = Int32Array.from(l.ptr);
    let maxCount = 0;
    for (let i = 0; i + 1 < ptr.length; i++) maxCount = Math.max(maxCount, ptr[i + 1] - ptr[i]);
    return { pats: Int32Array.from(l.pats), ptr, steps: Int32Array.from(l.steps), maxCount };
  });
}

/**
 * Calibrate one layer's mantissas (exponent `exp`, range ±max) on `inputs`, with `upper` the layers
 * above and `target` the float network's first spikes. Returns the mantissas, the sweeps run and the
 * objective before and after.
 */
export function searchLayer(a: LayerSearch): { mantissas: Int32Array; sweeps: number; before: Cost; after: Cost } {
  const { weights, exp, max, inputs, pats, steps: T, upper, target, c, radius, maxSweeps } = a;
  const stats = a.stats ?? emptyStats();
  const rows = weights.length;
  const cols = weights[0].length;
  const P = pats.count;
  const scale = 2 ** exp;
  const mantissas = nearestMantissas(weights.flat(), exp, max);
  if (a.start) mantissas.set(a.start);
  const raster = layerRasters(inputs, P, { w: Float64Array.from(mantissas, (m) => m * scale), rows, cols }, T, c);

  // The objective per pattern. The output layer's own first spikes, else the layers above.
  const isOutput = upper.length === 0;
  const outputs = isOutput ? cols : upper[upper.length - 1].cols;
  const first = new Int32Array(isOutput ? P * cols : 0);
  const trialFirst = new Int32Array(isOutput ? P : 0);
  const above: Above | null = isOutput ? null : upper.length === 1 ? new OutputAbove(raster, pats, upper[0], T, c, target) : new LayersAbove(raster, pats, upper, T, c, target);
  const errors = new Int32Array(P);
  const distance = new Float64Array(P);
  const total: Cost = { errors: 0, distance: 0 };
  const one: Cost = { errors: 0, distance: 0 };
  for (let p = 0; p < P; p++) {
    if (isOutput) {
      firstSpikes(raster, p * T * cols, T, cols, first, p * cols);
      patternCost(pats, target, p, first, p * cols, cols, one);
    } else above!.cost(p, one);
    errors[p] = one.errors;
    distance[p] = one.distance;
    total.errors += one.errors;
    total.distance += one.distance;
  }
  const before = { ...total };

  const spikesOf = inputSpikes(inputs, P, T, rows);
  // Neuron j, the one whose weights move: its synaptic input (exact: integers times 2^exp), its state
  // after every step, its membrane before the reset, and per pattern and step the largest of that
  // membrane from the step on, and its last spike.
  const x = new Float64Array(P * T);
  const I = new Float32Array(P * T);
  const V = new Float32Array(P * T);
  const U = new Float32Array(P * T);
  const peakFrom = new Float32Array(P * T);
  const gapFrom = new Float64Array(P * T);
  const lastSpike = new Int32Array(P);
  let magnitude = 0; // the largest |x|, |I|, |V|, |U| of neuron j so far (for the rounding bound)
  const kmax = kernelMax(c, T);
  const reach = Math.max(1 / (1 - c.alpha), kmax);
  const run: StoredRun = { I, V, U, peakFrom, gapFrom, kmax, slack: Infinity };
  const ran = new Int32Array(1);
  // inert[j]: in the last sweep no move of neuron j was kept and none could move a spike in any pattern
  // (every pattern skipped), so none can in this sweep either: its mantissas and states are the same.
  const inert = new Uint8Array(cols);
  let touched = false; // a pattern of the current neuron was run in a trial
  // For input k's i-th pattern p, with `from` k's first spike there, the room a move has before it can
  // change a spike of neuron j (trialSpikes' tests at step `from`, where the two runs still agree):
  // rise[k][i], how far j's membrane stays below the threshold after `from` (-Infinity when j spikes
  // after it), for the largest rise; gap[k][i], the smallest |U - threshold| after `from`, for the
  // largest change either way. Both Infinity when a change of x[from] cannot reach a counted spike.
  const riseRoom = spikesOf.map((s) => new Float64Array(s.pats.length));
  const gapRoom = spikesOf.map((s) => new Float64Array(s.pats.length));
  const fillRoom = (j: number): void => {
    spikesOf.forEach((s, k) => {
      const r = riseRoom[k];
      const g = gapRoom[k];
      for (let i = 0; i < s.pats.length; i++) {
        const p = s.pats[i];
        const from = s.steps[s.ptr[i]];
        // x[from] reaches the neuron in step from + 1; x[T - 1] never does; only the output layer's first spike counts.
        if (from >= T - 1 || (isOutput && from >= first[p * cols + j])) {
          r[i] = Infinity;
          g[i] = Infinity;
        } else {
          r[i] = lastSpike[p] <= from ? c.threshold - peakFrom[p * T + from + 1] : -Infinity;
          g[i] = gapFrom[p * T + from + 1];
        }
      }
    });
  };
  const block = 8;
  const iBlock = new Float64Array(block);
  const vBlock = new Float64Array(block);

  /** Pattern p's peakFrom, gapFrom and lastSpike of neuron j, and the magnitude bound. */
  const summarise = (p: number): void => {
    let peak = -Infinity;
    let gap = Infinity;
    let last = -1;
    for (let t = T - 1; t >= 1; t--) {
      const o = p * T + t;
      const u = U[o];
      if (u > c.threshold && last < 0) last = t;
      if (u > peak) peak = u;
      gap = Math.min(gap, Math.abs(u - c.threshold));
      peakFrom[o] = peak;
      gapFrom[o] = gap;
      magnitude = Math.max(magnitude, Math.abs(u), Math.abs(I[o]), Math.abs(V[o]), Math.abs(x[o - 1]));
    }
    peakFrom[p * T] = peak;
    gapFrom[p * T] = gap;
    lastSpike[p] = last;
  };

  const startNeuron = (j: number): void => {
    x.fill(0);
    for (let k = 0; k < rows; k++) {
      const m = mantissas[k * cols + j];
      if (m === 0) continue;
      const s = spikesOf[k];
      for (let i = 0; i < s.pats.length; i++) for (let e = s.ptr[i]; e < s.ptr[i + 1]; e++) x[s.pats[i] * T + s.steps[e]] += m;
    }
    for (let i = 0; i < x.length; i++) x[i] *= scale;
    magnitude = 0;
    for (let p = 0; p < P; p += block) traceFromRest(x, p * T, Math.min(block, P - p), T, c, I, V, U, iBlock, vBlock);
    for (let p = 0; p < P; p++) summarise(p);
    fillRoom(j);
  };

  const diffs = new Int32Array(T);
  const trialErrors = new Int32Array(P);
  const trialDistance = new Float64Array(P);
  const changed: number[] = [];
  const changedAt: number[] = [];
  // The raster cells a trial flipped ((p * T + t) * cols + j), to undo them.
  let flipped = new Int32Array(1024);
  let flips = 0;

  /** Add d to neuron j's input in the steps input k spiked in its i-th pattern. */
  const shift = (s: InputSpikes, i: number, d: number): void => {
    const at = s.pats[i] * T;
    for (let e = s.ptr[i]; e < s.ptr[i + 1]; e++) x[at + s.steps[e]] += d;
  };

  /** Move mantissa (k, j) to `cand` if that lowers the objective. */
  const tryMove = (k: number, j: number, cand: number): boolean => {
    stats.moves++;
    const d = (cand - mantissas[k * cols + j]) * scale;
    // The membrane rises by at most max(d, 0) * count * kmax and moves by at most |d| * count * kmax.
    const rise = Math.max(d, 0) * kmax;
    const move = Math.abs(d) * kmax;
    const s = spikesOf[k];
    const slack = roundingSlack(c, magnitude + s.maxCount * Math.abs(d) * reach + 1);
    run.slack = slack;
    const r = riseRoom[k];
    const g = gapRoom[k];
    let dErrors = 0;
    let dDistance = 0;
    changed.length = 0;
    changedAt.length = 0;
    flips = 0;
    for (let i = 0; i < s.pats.length; i++) {
      stats.pairs++;
      const count = s.ptr[i + 1] - s.ptr[i];
      if (rise * count + slack <= r[i] || move * count + slack < g[i]) {
        stats.skipped++;
        continue;
      }
      const p = s.pats[i];
      const from = s.steps[s.ptr[i]];
      touched = true;
      const lastChange = s.steps[s.ptr[i + 1] - 1];
      shift(s, i, d);
      if (isOutput) {
        const old = first[p * cols + j];
        const f = trialFirstSpike(x, p * T, from, old === T ? lastChange + 1 : T, T, c, run, ran);
        shift(s, i, -d);
        stats.steps += ran[0];
        if (f === old) continue;
        changed.push(p);
        trialFirst[p] = f;
        first[p * cols + j] = f;
        patternCost(pats, target, p, first, p * cols, cols, one);
        first[p * cols + j] = old;
      } else {
        const n = trialSpikes(x, p * T, from, lastChange + 1, Math.max(lastSpike[p], lastChange + 1), T, c, run, diffs, ran);
        shift(s, i, -d);
        stats.steps += ran[0];
        if (n === 0) continue;
        // Neuron j's spikes changed in pattern p: flip them in the raster, ask the layers above.
        changed.push(p);
        changedAt.push(diffs[0]);
        if (flips + n > flipped.length) {
          const more = new Int32Array(2 * (flips + n));
          more.set(flipped);
          flipped = more;
        }
        for (let e = 0; e < n; e++) {
          const o = (p * T + diffs[e]) * cols + j;
          above!.update(p, diffs[e], j, raster[o] ? -1 : 1);
          raster[o] ^= 1;
          flipped[flips++] = o;
        }
        above!.trial(p, diffs[0], one);
      }
      stats.changed++;
      trialErrors[p] = one.errors;
      trialDistance[p] = one.distance;
      dErrors += one.errors - errors[p];
      dDistance += one.distance - distance[p];
    }
    if (dErrors < 0 || (dErrors === 0 && dDistance < 0)) {
      mantissas[k * cols + j] = cand;
      total.errors += dErrors;
      total.distance += dDistance;
      changed.forEach((p, n) => {
        errors[p] = trialErrors[p];
        distance[p] = trialDistance[p];
        if (isOutput) first[p * cols + j] = trialFirst[p];
        else above!.commit(p, changedAt[n]);
      });
      // Neuron j's input and states change in every pattern in which k spiked.
      for (let i = 0; i < s.pats.length; i++) {
        const p = s.pats[i];
        shift(s, i, d);
        traceNeuron(x, p * T, 1, s.steps[s.ptr[i]], T, c, I, V, U);
        summarise(p);
      }
      fillRoom(j);
      return true;
    }
    // Undo the raster and the layers above, in reverse.
    for (let e = flips - 1; e >= 0; e--) {
      const o = flipped[e];
      const cell = (o - j) / cols;
      above!.update(Math.floor(cell / T), cell % T, j, raster[o] ? -1 : 1);
      raster[o] ^= 1;
    }
    return false;
  };

  let sweeps = 0;
  let kept = 0;
  while (sweeps < maxSweeps) {
    sweeps++;
    let keptThisSweep = false;
    for (let j = 0; j < cols; j++) {
      if (inert[j]) {
        a.onProgress?.({ sweep: sweeps, neuron: j + 1, neurons: cols, cost: { ...total }, kept });
        continue;
      }
      startNeuron(j);
      touched = false;
      const keptBefore = kept;
      for (let k = 0; k < rows; k++) {
        const u = weights[k][j] / scale;
        // One step up, else one step down: inside the range and less than `radius` steps from w / 2^exp.
        for (const dir of [1, -1]) {
          const cand = mantissas[k * cols + j] + dir;
          if (Math.abs(cand) <= max && Math.abs(cand - u) < radius && tryMove(k, j, cand)) {
            keptThisSweep = true;
            kept++;
            break;
          }
        }
      }
      inert[j] = !touched && kept === keptBefore ? 1 : 0;
      a.onProgress?.({ sweep: sweeps, neuron: j + 1, neurons: cols, cost: { ...total }, kept });
    }
    if (!keptThisSweep) break;
  }
  return { mantissas, sweeps, before, after: total };
}
