import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MT19937 } from '../../src/data/mt19937.js';
import { useBackend } from '../../src/engine/backend.js';
import { batchGradients } from '../../src/engine/gradients.js';
import { backward, disposeTrace, forward, ttfsLoss, type EngineNetwork } from '../../src/engine/network.js';
import { setForceFallback } from '../../src/engine/typed-kernel.js';
import type { BatchFile } from '../../src/formats/batch-file.js';
import { neuronConstants } from '../../src/model/neuron.js';
import type { ModelFile } from '../../src/model/schema.js';
import { oracleRun, type OracleResult, type OracleSample } from '../oracle/eventprop-oracle.js';

/**
 * The tensor engine against the independent float64 oracle (test/oracle): identical spike trains,
 * identical D and first spikes, gradients within 1e-4 of the oracle relative to the largest entry.
 */

const NEURON = { dtMs: 1, tauMemMs: 20, tauSynMs: 5, threshold: 1 };
const LOSS = { xi: 1.5, alpha: 0.01, tau1: 100 };
const K = neuronConstants(NEURON);

interface Case {
  name: string;
  weights: number[][][];
  steps: number;
  samples: OracleSample[];
  /** Loss settings other than LOSS (the silent-label nudge). */
  loss?: typeof LOSS & { nudge?: number };
}

function randomWeights(rng: MT19937, sizes: number[], mu: number[], sigma: number[]): number[][][] {
  return sizes.slice(1).map((n, l) =>
    Array.from({ length: sizes[l] }, () => Array.from({ length: n }, () => Math.fround(mu[l] + sigma[l] * rng.gauss()))),
  );
}

function randomSamples(rng: MT19937, count: number, inputs: number, steps: number, classes: number, spikesPerInput = 1): OracleSample[] {
  return Array.from({ length: count }, () => {
    const spikes: [number, number][] = [];
    for (let k = 0; k < inputs; k++) for (let r = 0; r < spikesPerInput; r++) spikes.push([k, rng.randint(steps)]);
    return { spikes, label: rng.randint(classes) };
  });
}

function modelOf(c: Case): ModelFile {
  return {
    format: 's2prop-model',
    version: 1,
    steps: c.steps,
    neuron: NEURON,
    loss: { type: 'ttfs-ce', ...(c.loss ?? LOSS) },
    encoding: { type: 'latency', tMin: 0, tMax: c.steps - 1, bias: false },
    layers: c.weights.map((w) => ({ weights: w })),
  };
}

function batchOf(c: Case): BatchFile {
  return { steps: c.steps, inputs: c.weights[0].length, samples: c.samples.map((s) => ({ spikes: s.spikes, label: s.label })) };
}

function runOracle(c: Case): OracleResult {
  return oracleRun({ weights: c.weights, steps: c.steps, alpha: K.alpha, beta: K.beta, oneMinusBeta: K.oneMinusBeta, threshold: K.threshold, tauSynMs: NEURON.tauSynMs }, c.loss ?? LOSS, c.samples);
}

/** The engine's spikes and D per layer as [sample][layer][step][neuron]. */
function engineTrace(c: Case): { spikes: number[][][][]; D: number[][][][] } {
  const net: EngineNetwork = { weights: c.weights.map((w) => tf.tensor2d(w)), constants: K, loss: LOSS };
  const B = c.samples.length;
  const nIn = c.weights[0].length;
  const raster = new Uint8Array(B * c.steps * nIn);
  c.samples.forEach((s, b) => s.spikes.forEach(([k, t]) => (raster[(b * c.steps + t) * nIn + k] = 1)));
  const input = tf.tensor3d(raster, [B, c.steps, nIn], 'bool');
  const trace = forward(net, input);
  const toNested = (t: tf.Tensor) => (t.arraySync() as number[][][]).map((x) => x.map((r) => r.map(Number)));
  const spikes = trace.spikes.slice(1).map(toNested);
  const D = trace.D.map(toNested);
  disposeTrace(trace);
  tf.dispose([input, ...net.weights]);
  const perSample = (a: number[][][][]) => c.samples.map((_, b) => a.map((layer) => layer[b]));
  return { spikes: perSample(spikes), D: perSample(D) };
}

function maxAbs(a: number[][][]): number {
  return Math.max(...a.flat(2).map(Math.abs));
}

async function expectAgreement(c: Case): Promise<OracleResult> {
  const before = tf.memory().numTensors;
  const oracle = runOracle(c);
  const trace = engineTrace(c);
  expect(trace.spikes, `${c.name}: spike trains`).toEqual(oracle.spikes);
  expect(trace.D, `${c.name}: I - Vpre at spikes`).toEqual(oracle.D);
  const report = await batchGradients(modelOf(c), batchOf(c));
  expect(report.firstSpikes).toEqual(oracle.firstSpikes);
  expect(Math.abs(report.loss - oracle.loss)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(oracle.loss)));
  const scale = Math.max(...oracle.grads.map(maxAbs));
  for (let l = 0; l < oracle.grads.length; l++) {
    const worst = Math.max(...oracle.grads[l].flatMap((row, k) => row.map((g, j) => Math.abs(report.grads[l][k][j] - g))));
    expect(worst, `${c.name}: layer ${l} gradient error relative to the largest entry ${scale}`).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1e-30));
  }
  expect(tf.memory().numTensors, 'no tensor leaks').toBe(before);
  return oracle;
}

function randomCases(seed: number): Case[] {
  const rng = new MT19937(seed);
  return [
    { name: `5-12-3, T=27, 6 samples (seed ${seed})`, steps: 27, weights: randomWeights(rng, [5, 12, 3], [1.4, 2.3], [1.4, 1.2]), samples: randomSamples(rng, 6, 5, 27, 3) },
    { name: `4-10-8-3, T=20, 5 samples (seed ${seed})`, steps: 20, weights: randomWeights(rng, [4, 10, 8, 3], [1.6, 1.0, 1.2], [1.6, 1.0, 1.0]), samples: randomSamples(rng, 5, 4, 20, 3, 2) },
    { name: `6-30-20-4, T=30, 8 samples (seed ${seed})`, steps: 30, weights: randomWeights(rng, [6, 30, 20, 4], [1.2, 0.5, 0.6], [1.3, 0.6, 0.6]), samples: randomSamples(rng, 8, 6, 30, 4, 2) },
  ];
}

function countSpikes(oracle: OracleResult, layer: number): number {
  return oracle.spikes.reduce((sum, s) => sum + s[layer].flat().reduce((a, b) => a + b, 0), 0);
}

for (const backend of ['cpu', 'wasm', 'fallback'] as const) {
  describe(`tensor engine = float64 oracle (docs/contract.md) on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend === 'fallback' ? 'cpu' : backend);
      setForceFallback(backend === 'fallback');
    });
    afterAll(() => setForceFallback(false));

    for (const seed of [1, 2, 3]) {
      it(`random networks with 1 and 2 hidden layers, seed ${seed}`, async () => {
        for (const c of randomCases(seed)) {
          const oracle = await expectAgreement(c);
          // Guard against a vacuous comparison: the networks must actually spike and learn.
          for (let l = 0; l < c.weights.length; l++) expect(countSpikes(oracle, l), `${c.name}: layer ${l} spikes`).toBeGreaterThan(0);
          expect(Math.max(...oracle.grads.map(maxAbs)), c.name).toBeGreaterThan(0);
        }
      });
    }

    it('silent output neurons (oracle)', async () => {
      const rng = new MT19937(7);
      const weights = randomWeights(rng, [5, 12, 3], [1.4, 2.3], [1.4, 1.2]);
      for (const row of weights[1]) row[2] = -1; // output neuron 2 never fires
      const c: Case = { name: 'silent output', steps: 27, weights, samples: randomSamples(rng, 6, 5, 27, 3) };
      const oracle = await expectAgreement(c);
      expect(oracle.firstSpikes.every((t) => t[2] === 27)).toBe(true);
    });

    it('first spike at step T-1 gets no error (oracle)', async () => {
      // One input, output neuron 0 driven by it; find the input step that makes it fire first at T-1.
      const steps = 12;
      const weights = [[[8, 0, 0]]];
      const probe = runOracle({ name: 'probe', steps, weights, samples: [{ spikes: [[0, 0]], label: 0 }] });
      const delay = probe.firstSpikes[0][0];
      expect(delay).toBeLessThan(steps - 1);
      const c: Case = { name: 'spike at T-1', steps, weights, samples: [{ spikes: [[0, steps - 1 - delay]], label: 0 }, { spikes: [[0, 0]], label: 1 }] };
      const oracle = await expectAgreement(c);
      expect(oracle.firstSpikes[0][0]).toBe(steps - 1);
    });

    it('silent hidden layer: zero gradients, loss = ln 3 + a(exp(T/tau1) - 1) (hand calculation)', async () => {
      const rng = new MT19937(9);
      const weights = randomWeights(rng, [5, 12, 3], [-1, 2.3], [0.1, 1.2]);
      const c: Case = { name: 'silent hidden', steps: 27, weights, samples: randomSamples(rng, 4, 5, 27, 3) };
      const oracle = await expectAgreement(c);
      expect(countSpikes(oracle, 0)).toBe(0);
      const report = await batchGradients(modelOf(c), batchOf(c));
      expect(report.loss).toBeCloseTo(Math.log(3) + LOSS.alpha * (Math.exp(27 / LOSS.tau1) - 1), 6);
      expect(report.grads.flat(2).every((g) => g === 0)).toBe(true);
    });

    it('silent-label nudge: the oracle, and the contract gradient less nudge/B per input spike (hand count)', async () => {
      const rng = new MT19937(7);
      const weights = randomWeights(rng, [5, 12, 3], [1.4, 2.3], [1.4, 1.2]);
      for (const row of weights[1]) row[2] = -1; // output neuron 2 never fires
      const samples = randomSamples(rng, 6, 5, 27, 3, 2).map((s, b) => ({ ...s, label: b % 3 }));
      const nudge = 0.25;
      const plain: Case = { name: 'no nudge', steps: 27, weights, samples };
      const nudged: Case = { ...plain, name: 'nudge', loss: { ...LOSS, nudge } };
      const without = await expectAgreement(plain);
      const withNudge = await expectAgreement(nudged);
      // By hand: only the silent label's column of the output layer moves, by -nudge/B per hidden spike.
      const expected = without.grads.map((layer) => layer.map((row) => [...row]));
      samples.forEach((s, b) => {
        if (s.label !== 2) return;
        for (let k = 0; k < 12; k++) expected[1][k][2] -= (nudge / samples.length) * without.spikes[b][0].reduce((n, row) => n + row[k], 0);
      });
      expect(withNudge.grads[0]).toEqual(without.grads[0]);
      expect(withNudge.grads[1].map((row) => row.map((g) => +g.toPrecision(12)))).toEqual(expected[1].map((row) => row.map((g) => +g.toPrecision(12))));
      expect(expected[1].filter((row, k) => row[2] !== without.grads[1][k][2]).length, 'hidden neurons the nudge moves').toBeGreaterThan(3);
      expect(withNudge.loss, 'the nudge is not part of the loss').toBe(without.loss);
    });

    it('several spikes per neuron (oracle)', async () => {
      const rng = new MT19937(11);
      const weights = randomWeights(rng, [5, 12, 3], [4, 3], [1, 1]);
      const c: Case = { name: 'bursting', steps: 27, weights, samples: randomSamples(rng, 5, 5, 27, 3, 3) };
      const oracle = await expectAgreement(c);
      const perNeuron = oracle.spikes[0][0].reduce((acc, row) => acc.map((v, j) => v + row[j]), new Array(12).fill(0));
      expect(Math.max(...perNeuron)).toBeGreaterThan(2);
    });
  });
}
