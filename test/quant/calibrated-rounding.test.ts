import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { calibrateRounding, defaultSearchPatterns, type CalibrationProgress } from '../../src/quant/calibrated-rounding.js';
import { kernelMax, roundingSlack, runLayer, traceNeuron, trialSpikes } from '../../src/quant/calibration-lif.js';
import { writeDirAtomic } from '../../src/chip/config-dir.js';
import { exportModel } from '../../src/chip/export.js';
import { BUILTIN_MACHINES } from '../../src/chip/machine.js';
import { quantiseModel } from '../../src/quant/model-quantisation.js';
import { dequantise, mantissaMax, quantiseLayer, type LayerQuantisation } from '../../src/quant/quantise.js';
import { loadChipConfig } from '../../src/chip/sim/load-config.js';
import { ChipSimulator } from '../../src/chip/sim/simulator.js';
import { encodeDataset } from '../../src/data/encoding.js';
import { MT19937 } from '../../src/data/mt19937.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { useBackend } from '../../src/engine/backend.js';
import { networkFromModel } from '../../src/engine/model-network.js';
import { parseModel } from '../../src/model/model-file.js';
import { neuronConstants } from '../../src/model/neuron.js';
import type { ModelFile } from '../../src/model/schema.js';
import { encodeSet } from '../../src/train/batch-runner.js';
import { evaluate } from '../../src/train/evaluate.js';
import { engineSpikeTrains } from '../../src/train/spike-trains.js';

/**
 * Calibrated rounding (src/quant/calibrated-rounding.ts): a case small enough to follow by hand, and the
 * committed twin model, whose calibration is checked against the tensor engine (an independent
 * implementation of the same network) and exported to the simulator.
 */

vi.setConfig({ testTimeout: 60_000 });

const TWIN = parseModel(JSON.parse(readFileSync(new URL('../../test/fixtures/twin-seed0-before-subnormal-rule.json', import.meta.url), 'utf8')), 'test/fixtures/twin-seed0-before-subnormal-rule.json');

/** The twin model running the given quantised layers (dequantised), as the chip does. */
function withLayers(model: ModelFile, layers: LayerQuantisation[]): ModelFile {
  const { quantisation: _q, ...rest } = model;
  return { ...rest, layers: layers.map((l) => ({ weights: dequantise(l) })) };
}

describe('calibrated rounding, by hand', () => {
  // alpha = beta = 1 - beta = 0.5, threshold 1, T = 4; one input spiking at step 0 with weight w gives
  // I = w, V = 0.5 w in step 1, then V = 0.5 w, 0.375 w: the neuron spikes (in step 1) iff w > 2.
  const c = { alpha: 0.5, beta: 0.5, oneMinusBeta: 0.5, threshold: 1 };
  const weights = [[[1.0, 2.05]]]; // one layer: output 0 never spikes; output 1 spikes in step 1 (V = 1.025)
  const set = { encoded: Int32Array.from([0, 0, 0]), labels: [1, 1, 1] }; // three samples, one input pattern

  it('int4: exp = ceil(log2(2.05/7)) = -1; nearest mantissas 2, 4 (w 2.0: V = 1, no spike) misclassify all 3; calibrated 2, 5 (w 2.5) classify all 3', () => {
    const { layers, report } = calibrateRounding(weights, 'int4', 100, set, 4, c);
    expect(layers[0].exp).toBe(-1);
    expect([...layers[0].mantissas]).toEqual([2, 5]);
    expect(dequantise(layers[0])).toEqual([[1, 2.5]]);
    // Finer exponents: -2 clips 2.05 to 7 * 0.25 = 1.75 and -3 to 0.875, which never spike: -1 stays.
    expect(report).toMatchObject({ samples: 3, patterns: 1, errorsNearest: 3, errors: 0, exponents: [-1], exponentsRule: [-1], changed: [1] });
    // First-spike distance from float ([T, 1] = [4, 1]): nearest [4, 4] is 3 per sample, calibrated [4, 1] is 0.
    expect([report.distanceNearest, report.distance]).toEqual([9, 0]);
  });

  it('radius 1 (floor or ceil only) finds the same; a mantissa never moves when no sample changes (output 0 stays at 2)', () => {
    const { layers } = calibrateRounding(weights, 'int4', 100, set, 4, c, { radius: 1, finerExponents: 0, rounds: 1 });
    expect([...layers[0].mantissas]).toEqual([2, 5]);
  });

  it('fixed exponents are kept: exp -2 clips 2.05 to 7 (1.75, silent), no move can help, all 3 stay misclassified', () => {
    const { layers, report } = calibrateRounding(weights, 'int4', 100, set, 4, c, { exponents: [-2] });
    expect(layers[0].exp).toBe(-2);
    expect([...layers[0].mantissas]).toEqual([4, 7]);
    expect(layers[0].clipped).toBe(1);
    expect(report.errors).toBe(3);
  });
});

describe('calibrated rounding of the twin model (200 training samples, 2 rounds, 1 finer exponent)', () => {
  const train = yinyangDataset({ size: 200, seed: 11 });
  const options = { rounds: 2, finerExponents: 1 };
  const encoded = encodeDataset(train, { steps: TWIN.steps, ...TWIN.encoding });
  const c = neuronConstants(TWIN.neuron);

  beforeAll(async () => {
    await useBackend('wasm');
  });

  for (const q of ['int8', 'int4'] as const) {
    it(`${q}: the misclassifications it reports are the tensor engine's, before and after; fewer after; mantissas in range and < 2 steps from w / 2^exp`, async () => {
      const w = TWIN.layers.map((l) => l.weights);
      const { layers, report } = calibrateRounding(w, q, 100, { encoded, labels: train.labels }, TWIN.steps, c, options);
      const set = encodeSet(train, { steps: TWIN.steps, ...TWIN.encoding });
      const errors = async (model: ModelFile) => {
        const net = networkFromModel(model);
        const e = await evaluate(net, set, 100);
        net.weights.forEach((t) => t.dispose());
        return e.count - Math.round(e.accuracy * e.count);
      };
      const nearest = w.map((l) => quantiseLayer(l, q, 100));
      expect(await errors(withLayers(TWIN, nearest))).toBe(report.errorsNearest);
      expect(await errors(withLayers(TWIN, layers))).toBe(report.errors);
      expect(report.errors).toBeLessThan(report.errorsNearest);
      expect(report.patterns).toBeLessThan(200); // samples with the same input spikes are run once
      layers.forEach((layer, l) => {
        expect(layer.exp).toBeLessThanOrEqual(nearest[l].exp);
        expect(layer.exp).toBeGreaterThanOrEqual(nearest[l].exp - 1);
        const scale = 2 ** layer.exp;
        w[l].flat().forEach((v, i) => {
          expect(Math.abs(layer.mantissas[i])).toBeLessThanOrEqual(mantissaMax(q));
          if (Math.abs(v / scale) <= mantissaMax(q)) expect(Math.abs(layer.mantissas[i] - v / scale)).toBeLessThan(2);
        });
      });
    });
  }

  it('int8 export with calibrated rounding: the simulator equals the engine on the calibrated weights, spike for spike (60 test samples), and export.json holds the mantissas', async () => {
    const quantised = quantiseModel(TWIN, 'int8', 100, 'calibrated', train, options);
    expect(quantised.calibration).toMatchObject({ data: train.source, samples: 200 });
    const dir = join(mkdtempSync(join(tmpdir(), 's2prop-chip-')), 'cfg');
    const { files, report } = exportModel(TWIN, { quant: 'int8', clipPercentile: 100, machine: BUILTIN_MACHINES.chip, slots: 2, quantised });
    writeDirAtomic(dir, files);
    expect(report.rounding).toBe('calibrated');
    const info = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as { quant: { rounding: string; layers: { exp: number; mantissas: string }[] } };
    expect(info.quant.rounding).toBe('calibrated');
    info.quant.layers.forEach((l, i) => {
      expect(l.exp).toBe(quantised.layers[i].exp);
      expect([...new Int8Array(Buffer.from(l.mantissas, 'base64'))]).toEqual([...quantised.layers[i].mantissas]);
    });

    const test = yinyangDataset('test');
    const ds = { ...test, count: 60, features: test.features.subarray(0, 240), labels: test.labels.subarray(0, 60) };
    const sim = new ChipSimulator(loadChipConfig(dir)).run(ds.features, ds.count, ds.labels, true);
    const net = networkFromModel(withLayers(TWIN, quantised.layers));
    const engine = await engineSpikeTrains(net, encodeSet(ds, { steps: TWIN.steps, ...TWIN.encoding }), 64);
    net.weights.forEach((t) => t.dispose());
    sim.samples.forEach((s, i) => expect(s.spikes, `sample ${i}`).toEqual(engine.spikes[i]));
    // not vacuous: calibration moved mantissas, so nearest rounding would give other spikes somewhere
    expect(quantised.calibration!.changed.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------------
// The incremental search against a plain one. The reference below is written from the description of
// calibrated rounding (src/quant/calibrated-rounding.ts) alone: every move it tries re-runs the whole
// network on every calibration sample from step 0 (no patterns, no stored states, no skipped samples),
// with the contract's float32 recurrence. The library must choose the same mantissas, exponents and
// sweeps and report the same objective.

interface Lif {
  alpha: number;
  beta: number;
  oneMinusBeta: number;
  threshold: number;
}

/** One sample through one layer: spikes [T][rows] in, [T][cols] out; w row-major, in double. */
function refLayer(input: Uint8Array, rows: number, w: Float64Array, cols: number, T: number, c: Lif): Uint8Array {
  const f = Math.fround;
  const out = new Uint8Array(T * cols);
  for (let j = 0; j < cols; j++) {
    let I = 0;
    let V = 0;
    for (let t = 1; t < T; t++) {
      let x = 0;
      for (let k = 0; k < rows; k++) if (input[(t - 1) * rows + k]) x += w[k * cols + j];
      I = f(f(c.alpha * I) + f(x));
      V = f(f(c.beta * V) + f(c.oneMinusBeta * I));
      if (V > c.threshold) {
        out[t * cols + j] = 1;
        V = 0;
      }
    }
  }
  return out;
}

/** Output first spikes of one sample (T when silent). */
function refFirst(encoded: Int32Array, s: number, ws: Float64Array[], sizes: number[], T: number, c: Lif): number[] {
  let r = new Uint8Array(T * sizes[0]);
  for (let k = 0; k < sizes[0]; k++) {
    const t = encoded[s * sizes[0] + k];
    if (t >= 0 && t < T) r[t * sizes[0] + k] = 1;
  }
  ws.forEach((w, l) => (r = refLayer(r, sizes[l], w, sizes[l + 1], T, c)));
  const outs = sizes[sizes.length - 1];
  return Array.from({ length: outs }, (_, n) => {
    for (let t = 0; t < T; t++) if (r[t * outs + n]) return t;
    return T;
  });
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The plain search: see above. `searched` picks the samples the search runs on (all by default). */
function referenceCalibration(
  layers: number[][][],
  q: 'int8' | 'int4',
  encoded: Int32Array,
  labels: number[],
  T: number,
  c: Lif,
  o: { finerExponents: number; radius: number; rounds: number; maxSweeps: number },
  searched: number[] = labels.map((_, s) => s),
) {
  const sizes = [layers[0].length, ...layers.map((w) => w[0].length)];
  const max = mantissaMax(q);
  const float = layers.map((w) => Float64Array.from(w.flat(), Math.fround));
  const target = labels.map((_, s) => refFirst(encoded, s, float, sizes, T, c));
  const objective = (ws: Float64Array[], samples: number[]) => {
    let errors = 0;
    let distance = 0;
    for (const s of samples) {
      const first = refFirst(encoded, s, ws, sizes, T, c);
      let best = 0;
      first.forEach((f, n) => {
        if (f < first[best]) best = n;
        distance += Math.abs(f - target[s][n]);
      });
      if (best !== labels[s]) errors++;
    }
    return { errors, distance };
  };
  const better = (a: { errors: number; distance: number }, b: { errors: number; distance: number }) =>
    a.errors < b.errors || (a.errors === b.errors && a.distance < b.distance);
  const values = (m: Int32Array, exp: number) => Float64Array.from(m, (v) => v * 2 ** exp);
  const chosen: { exp: number; m: Int32Array }[] = [];
  const sweepsOf: number[] = [];
  /** Sweeps over layer l's mantissas m (exponent exp), with `others` the other layers' values. */
  const search = (l: number, exp: number, m: Int32Array, others: Float64Array[]) => {
    const w = layers[l];
    const cols = w[0].length;
    const net = () => others.map((v, i) => (i === l ? values(m, exp) : v));
    let cost = objective(net(), searched);
    let sweeps = 0;
    while (sweeps < o.maxSweeps) {
      sweeps++;
      let kept = false;
      for (let j = 0; j < cols; j++) {
        for (let k = 0; k < w.length; k++) {
          const u = w[k][j] / 2 ** exp;
          for (const dir of [1, -1]) {
            const old = m[k * cols + j];
            const cand = old + dir;
            if (Math.abs(cand) > max || Math.abs(cand - u) >= o.radius) continue;
            m[k * cols + j] = cand;
            const trial = objective(net(), searched);
            if (better(trial, cost)) {
              cost = trial;
              kept = true;
              break;
            }
            m[k * cols + j] = old;
          }
        }
      }
      if (!kept) break;
    }
    return { sweeps, cost };
  };
  const nearestAt = (l: number, exp: number) =>
    Int32Array.from(layers[l].flat(), (v) => Math.max(-max, Math.min(max, roundHalfEven(v / 2 ** exp))));
  layers.forEach((w, l) => {
    const rule = quantiseLayer(w, q, 100).exp;
    let best: { exp: number; m: Int32Array; sweeps: number; cost: { errors: number; distance: number } } | null = null;
    for (let exp = rule; exp >= rule - o.finerExponents; exp--) {
      const m = nearestAt(l, exp);
      const others = layers.map((_, i) => (i < l ? values(chosen[i].m, chosen[i].exp) : float[i]));
      const found = search(l, exp, m, others);
      if (!best || better(found.cost, best.cost)) best = { exp, m, ...found };
    }
    chosen.push({ exp: best!.exp, m: best!.m });
    sweepsOf.push(best!.sweeps);
  });
  for (let round = 2; round <= o.rounds; round++) {
    layers.forEach((_, l) => {
      const found = search(l, chosen[l].exp, chosen[l].m, chosen.map((ch) => values(ch.m, ch.exp)));
      sweepsOf[l] += found.sweeps;
    });
  }
  const all = labels.map((_, s) => s);
  const nearest = objective(layers.map((w, l) => values(nearestAt(l, quantiseLayer(w, q, 100).exp), quantiseLayer(w, q, 100).exp)), all);
  const after = objective(chosen.map((ch) => values(ch.m, ch.exp)), all);
  return { chosen, sweeps: sweepsOf, nearest, after };
}

/** A small random network and calibration set that spike enough for moves to matter. */
function randomCase(seed: number, sizes: number[], T: number, samples: number) {
  const rng = new MT19937(seed);
  const layers = sizes.slice(1).map((cols, l) =>
    Array.from({ length: sizes[l] }, () => Array.from({ length: cols }, () => (l === 0 ? 1.4 : 0.9) + (l === 0 ? 1.2 : 1.0) * rng.gauss())),
  );
  const inputs = sizes[0];
  const encoded = new Int32Array(samples * inputs);
  for (let s = 0; s < samples; s++) {
    // Every fifth sample repeats the one before: identical input spikes (one pattern for both). The
    // others differ in their first two inputs (steps s mod (T - 4) and floor(s / (T - 4))); the bias spikes in step 0.
    for (let k = 0; k < inputs; k++) {
      const step = k === 0 ? s % (T - 4) : k === 1 ? Math.floor(s / (T - 4)) : k === inputs - 1 ? 0 : rng.randint(T - 4);
      encoded[s * inputs + k] = s % 5 === 4 ? encoded[(s - 1) * inputs + k] : step;
    }
  }
  const labels = Array.from({ length: samples }, () => rng.randint(sizes[sizes.length - 1]));
  return { layers, encoded, labels };
}

describe('calibrated rounding: the incremental search equals re-running everything for every move (plain reference, seeded)', () => {
  const c: Lif = { alpha: Math.fround(0.8), beta: Math.fround(0.9), oneMinusBeta: Math.fround(0.1), threshold: 1 };
  const o = { finerExponents: 1, radius: 2, rounds: 2, maxSweeps: 4 };
  const cases: [string, number[], 'int8' | 'int4', number][] = [
    ['4-8-3 int8 (hidden layer under the output layer, then the output layer)', [4, 8, 3], 'int8', 1],
    ['4-8-3 int4', [4, 8, 3], 'int4', 2],
    ['4-6-5-3 int4 (two layers above the first; inputs that spike more than once)', [4, 6, 5, 3], 'int4', 3],
  ];
  for (const [name, sizes, q, seed] of cases) {
    it(`${name}, seed ${seed}`, () => {
      const T = 16;
      const { layers, encoded, labels } = randomCase(seed, sizes, T, 40);
      const ref = referenceCalibration(layers, q, encoded, labels, T, c, o);
      const { layers: got, report } = calibrateRounding(layers, q, 100, { encoded, labels }, T, c, { ...o, maxPatterns: Infinity });
      expect(got.map((l) => l.exp), `seed ${seed}`).toEqual(ref.chosen.map((ch) => ch.exp));
      got.forEach((l, i) => expect([...l.mantissas], `seed ${seed}, layer ${i}`).toEqual([...ref.chosen[i].m]));
      expect(report.sweeps).toEqual(ref.sweeps);
      expect([report.errorsNearest, report.distanceNearest, report.errors, report.distance]).toEqual([ref.nearest.errors, ref.nearest.distance, ref.after.errors, ref.after.distance]);
      expect(report.patterns).toBe(32); // 40 samples, every fifth a repeat
      // not vacuous: the search moved mantissas and changed the objective
      expect(report.changed.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(report.distance).not.toBe(report.distanceNearest);
    });
  }

  it('the default bound is floor(2^27 / (T x synapses)), at least 256 (hand calculation): twin 5178, swept 499, 5-1000-3 at T = 168 256', () => {
    expect(defaultSearchPatterns(27, 5 * 120 + 120 * 3)).toBe(5178);
    expect(defaultSearchPatterns(168, 5 * 200 + 200 * 3)).toBe(499);
    expect(defaultSearchPatterns(168, 5 * 1000 + 1000 * 3)).toBe(256);
  });

  it('maxPatterns 12 of 32: the search runs on patterns floor(i * 32 / 12) (their 15 samples); the report counts all 40', () => {
    const T = 16;
    const { layers, encoded, labels } = randomCase(1, [4, 8, 3], T, 40);
    // The patterns in order of first appearance: sample s is a new pattern unless s % 5 === 4.
    const firstOf = labels.map((_, s) => s).filter((s) => s % 5 !== 4);
    const picked = Array.from({ length: 12 }, (_, i) => firstOf[Math.floor((i * 32) / 12)]);
    const searched = picked.flatMap((s) => (s % 5 === 3 ? [s, s + 1] : [s]));
    const ref = referenceCalibration(layers, 'int8', encoded, labels, T, c, o, searched);
    const { layers: got, report } = calibrateRounding(layers, 'int8', 100, { encoded, labels }, T, c, { ...o, maxPatterns: 12 });
    got.forEach((l, i) => expect([...l.mantissas]).toEqual([...ref.chosen[i].m]));
    expect(report).toMatchObject({ samples: 40, patterns: 32, patternsSearched: 12, samplesSearched: searched.length, errors: ref.after.errors, distance: ref.after.distance });
  });
});

describe('calibrated rounding: the bounds that skip work never skip a change (seeded random neurons)', () => {
  const c: Lif = { alpha: Math.fround(0.951), beta: Math.fround(0.9876), oneMinusBeta: Math.fround(0.0124), threshold: 1 };
  const T = 120;
  const seed = 17;

  /** A neuron's stored run on input x, as the search keeps it. */
  function stored(x: Float64Array) {
    const I = new Float32Array(T);
    const V = new Float32Array(T);
    const U = new Float32Array(T);
    traceNeuron(x, 0, 1, 0, T, c, I, V, U);
    const peakFrom = new Float32Array(T + 1).fill(-Infinity);
    const gapFrom = new Float64Array(T + 1).fill(Infinity);
    for (let t = T - 1; t >= 1; t--) {
      peakFrom[t] = Math.max(peakFrom[t + 1], U[t]);
      gapFrom[t] = Math.min(gapFrom[t + 1], Math.abs(U[t] - c.threshold));
    }
    let magnitude = 0;
    for (let t = 0; t < T; t++) magnitude = Math.max(magnitude, Math.abs(I[t]), Math.abs(V[t]), Math.abs(U[t]), Math.abs(x[t]));
    return { I, V, U, peakFrom, gapFrom, magnitude };
  }
  const spikesOf = (x: Float64Array) => {
    const out = new Uint8Array(T);
    runLayer(x, 0, T, 1, c, out, 0, new Float64Array(1), new Float64Array(1));
    return out;
  };

  it(`kernelMax is the largest response of U to a unit input (hand recurrence), and 2000 near-threshold neurons: a trial that stops early or is skipped has the spikes of a run from step 0 (seed ${seed})`, () => {
    // K_0 = 1 - beta, K_n = beta K_{n-1} + (1 - beta) alpha^n: a unit input in step 0 raises I by alpha^n and U by K_n in step n + 1.
    const unit = new Float64Array(T);
    unit[0] = 1;
    const lin = stored(unit);
    const kmax = kernelMax(c, T);
    expect(Math.max(...lin.U)).toBeCloseTo(kmax, 5);

    const rng = new MT19937(seed);
    let skippedOrStopped = 0;
    let changedRuns = 0;
    for (let n = 0; n < 2000; n++) {
      // Inputs in about 8 steps, scaled so the membrane ends near the threshold.
      const x = new Float64Array(T);
      for (let e = 0; e < 8; e++) x[rng.randint(T - 20)] += rng.gauss() * 0.3 + 0.5;
      const peak = Math.max(...stored(x).U);
      for (let t = 0; t < T; t++) x[t] = x[t] * Math.fround((0.97 + 0.06 * rng.rand()) / peak);
      const run = stored(x);
      const from = rng.randint(T - 30);
      const d = (rng.rand() < 0.5 ? -1 : 1) * 2 ** -(4 + rng.randint(4));
      const after = Float64Array.from(x);
      after[from] += d;
      const truth = spikesOf(after);
      const before = spikesOf(x);
      const differs = [];
      for (let t = 0; t < T; t++) if (truth[t] !== before[t]) differs.push(t);
      if (differs.length) changedRuns++;

      const slack = roundingSlack(c, run.magnitude + Math.abs(d) * Math.max(1 / (1 - c.alpha), kmax) + 1);
      let lastSpike = -1;
      for (let t = 0; t < T; t++) if (run.U[t] > c.threshold) lastSpike = t;
      // The skips before a trial (calibration-search.ts): no spike after `from` and room for the rise,
      // or room for the change either way in every later step.
      if ((lastSpike <= from && run.peakFrom[from + 1] + Math.max(d, 0) * kmax + slack <= c.threshold) || Math.abs(d) * kmax + slack < run.gapFrom[from + 1]) {
        skippedOrStopped++;
        expect(differs, `seed ${seed}, neuron ${n}`).toEqual([]);
      }
      const diffs = new Int32Array(T);
      const ran = new Int32Array(1);
      const count = trialSpikes(after, 0, from, from + 1, Math.max(lastSpike, from + 1), T, c, { ...run, kmax, slack }, diffs, ran);
      if (ran[0] < T - 1 - from) skippedOrStopped++;
      expect([...diffs.subarray(0, count)], `seed ${seed}, neuron ${n}`).toEqual(differs);
    }
    // not vacuous: both outcomes occur
    expect(changedRuns).toBeGreaterThan(100);
    expect(skippedOrStopped).toBeGreaterThan(100);
  });
});

describe('calibrated rounding: progress', () => {
  it('reports every neuron of every sweep, in order, with a fraction in [0, 1]; the twin layer sizes', () => {
    const c = neuronConstants(TWIN.neuron);
    const train = yinyangDataset({ size: 100, seed: 3 });
    const encoded = encodeDataset(train, { steps: TWIN.steps, ...TWIN.encoding });
    const seen: CalibrationProgress[] = [];
    const { report } = calibrateRounding(TWIN.layers.map((l) => l.weights), 'int8', 100, { encoded, labels: train.labels }, TWIN.steps, c, {
      rounds: 2,
      finerExponents: 1,
      onProgress: (p) => seen.push(p),
    });
    // Round 1: two exponents per layer; round 2: one. Each sweep reports each neuron once.
    const neurons = [120, 3];
    const sweepsByLayer = [0, 1].map((l) => new Set(seen.filter((p) => p.layer === l && p.round === 2).map((p) => p.sweep)).size);
    expect(sweepsByLayer.every((s) => s >= 1)).toBe(true);
    for (const p of seen) {
      expect(p.neurons).toBe(neurons[p.layer]);
      expect(p.fraction).toBeGreaterThanOrEqual(0);
      expect(p.fraction).toBeLessThanOrEqual(1);
      expect(p.samples).toBe(100);
    }
    expect(seen.filter((p) => p.round === 1 && p.layer === 0 && p.sweep === 1).map((p) => p.neuron).slice(0, 120)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(seen.at(-1)).toMatchObject({ round: 2, layer: 1, neuron: 3 });
    expect(report.samples).toBe(100);
  });
});
