import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { MT19937 } from '../../src/data/mt19937.js';
import { useBackend } from '../../src/engine/backend.js';
import { disposeTrace, forward, gradients, stackedTtfsLoss, ttfsLoss, type EngineNetwork, type StackedNetwork, type TtfsLoss } from '../../src/engine/network.js';
import { setForceFallback, setUseWasmKernels } from '../../src/engine/typed-kernel.js';
import { neuronConstants } from '../../src/model/neuron.js';

/**
 * Stacked trials (weights [K, Nin, N], the trials' samples one after another) against the same trials
 * run one by one through the unstacked path: every spike, D, first spike, loss term, error and gradient
 * bit for bit equal, on every kernel path. Trials differ in weights, data and loss settings (the
 * silent-label nudge included).
 */

const CONSTANTS = neuronConstants({ dtMs: 1, tauMemMs: 20, tauSynMs: 5, threshold: 1 });

interface Trial {
  weights: number[][][];
  raster: Uint8Array;
  labels: number[];
  loss: TtfsLoss;
}

function randomTrials(sizes: number[], T: number, B: number, K: number, seed: number): Trial[] {
  const rng = new MT19937(seed);
  return Array.from({ length: K }, (_, k) => {
    const weights = sizes.slice(1).map((n, l) =>
      Array.from({ length: sizes[l] }, () => Array.from({ length: n }, () => Math.fround(((2.5 + 2 * rng.gauss()) / Math.sqrt(sizes[l])) * (1.2 + 0.2 * k)))),
    );
    const raster = new Uint8Array(B * T * sizes[0]);
    for (let i = 0; i < raster.length; i++) raster[i] = rng.rand() < 0.08 ? 1 : 0;
    const labels = Array.from({ length: B }, () => rng.randint(sizes[sizes.length - 1]));
    // Trial 1 has a silent output neuron 0 and the silent-label nudge (so the nudge has work to do).
    if (k === 1) for (const row of weights[weights.length - 1]) row[0] = -1;
    return { weights, raster, labels, loss: { xi: 0.5 + rng.rand(), alpha: 0.02 * rng.rand(), tau1: 20 + 100 * rng.rand(), nudge: k === 1 ? 0.3 : 0 } };
  });
}

interface Outputs {
  spikes: number[][];
  D: number[][];
  first: number[];
  terms: number[];
  errors: number[];
  grads: number[][];
}

/** Run forward, loss and backward; returns every output as plain arrays (per trial when stacked, concatenated). */
function collect(trace: ReturnType<typeof forward>, loss: ReturnType<typeof ttfsLoss>, grads: tf.Tensor[]): Outputs {
  return {
    spikes: trace.spikes.slice(1).map((t) => Array.from(t.dataSync())),
    D: trace.D.map((t) => Array.from(t.dataSync())),
    first: Array.from(loss.firstSpikes.dataSync()),
    terms: Array.from(loss.terms.dataSync()),
    errors: Array.from(loss.errors.dataSync()),
    grads: grads.map((g) => Array.from(g.dataSync())),
  };
}

function runAlone(trial: Trial, T: number, B: number): Outputs {
  const net: EngineNetwork = { weights: trial.weights.map((w) => tf.tensor2d(w)), constants: CONSTANTS, loss: trial.loss };
  const input = tf.tensor3d(trial.raster, [B, T, trial.weights[0].length], 'bool');
  const labels = tf.tensor1d(trial.labels, 'int32');
  const trace = forward(net, input);
  const loss = ttfsLoss(net, trace.spikes[trace.spikes.length - 1], labels);
  const grads = gradients(net, trace, loss, labels);
  const out = collect(trace, loss, grads);
  disposeTrace(trace);
  tf.dispose([input, labels, loss.firstSpikes, loss.terms, loss.errors, ...grads, ...net.weights]);
  return out;
}

function runStacked(trials: Trial[], T: number, B: number): Outputs {
  const K = trials.length;
  const net: StackedNetwork = {
    weights: trials[0].weights.map((_, l) => tf.tensor3d(trials.map((t) => t.weights[l]))),
    constants: CONSTANTS,
    losses: trials.map((t) => t.loss),
  };
  const nIn = trials[0].weights[0].length;
  const raster = new Uint8Array(K * B * T * nIn);
  trials.forEach((t, k) => raster.set(t.raster, k * B * T * nIn));
  const input = tf.tensor3d(raster, [K * B, T, nIn], 'bool');
  const labels = tf.tensor1d(trials.flatMap((t) => t.labels), 'int32');
  const trace = forward(net, input);
  const loss = stackedTtfsLoss(net, trace.spikes[trace.spikes.length - 1], labels);
  const grads = gradients(net, trace, loss, labels);
  expect(grads.map((g) => g.shape)).toEqual(net.weights.map((w) => w.shape));
  const out = collect(trace, loss, grads);
  disposeTrace(trace);
  tf.dispose([input, labels, loss.firstSpikes, loss.terms, loss.errors, ...grads, ...net.weights]);
  return out;
}

/** K separate runs, their outputs concatenated in trial order (the stacked layout). */
function runSeparately(trials: Trial[], T: number, B: number): Outputs {
  const runs = trials.map((t) => runAlone(t, T, B));
  const cat = (f: (o: Outputs) => number[][]) => f(runs[0]).map((_, l) => runs.flatMap((r) => f(r)[l]));
  return {
    spikes: cat((o) => o.spikes),
    D: cat((o) => o.D),
    first: runs.flatMap((r) => r.first),
    terms: runs.flatMap((r) => r.terms),
    errors: runs.flatMap((r) => r.errors),
    grads: cat((o) => o.grads),
  };
}

const PATHS: { name: string; backend: 'cpu' | 'wasm'; wasmKernels: boolean; fallback: boolean }[] = [
  { name: 'cpu (typed-array loops)', backend: 'cpu', wasmKernels: false, fallback: false },
  { name: 'wasm (WebAssembly kernels)', backend: 'wasm', wasmKernels: true, fallback: false },
  { name: 'wasm (typed-array loops)', backend: 'wasm', wasmKernels: false, fallback: false },
  { name: 'generic fallback (download, loop, upload)', backend: 'cpu', wasmKernels: false, fallback: true },
];

const CASES: [number[], number, number, number, number][] = [
  // sizes, T, samples per trial, trials, seed
  [[5, 120, 3], 27, 10, 3, 11],
  [[7, 13, 6, 5], 30, 5, 3, 12],
  [[16, 33, 2], 25, 3, 1, 13],
];

describe('stacked trials = the same trials run separately, bit for bit', () => {
  afterAll(() => {
    setUseWasmKernels(true);
    setForceFallback(false);
  });

  for (const path of PATHS) {
    for (const [sizes, T, B, K, seed] of CASES) {
      it(`${path.name}: ${K} trial(s) of ${sizes.join('-')}, T=${T}, ${B} samples each (seed ${seed})`, async () => {
        await useBackend(path.backend);
        setUseWasmKernels(path.wasmKernels);
        setForceFallback(path.fallback);
        const trials = randomTrials(sizes, T, B, K, seed);
        const before = tf.memory().numTensors;
        const separate = runSeparately(trials, T, B);
        const stacked = runStacked(trials, T, B);
        expect(tf.memory().numTensors).toBe(before);
        expect(separate.spikes.flat().some((v) => v !== 0)).toBe(true);
        expect(separate.grads.flat().some((v) => v !== 0)).toBe(true);
        expect(stacked).toEqual(separate);
      });
    }
  }
});
