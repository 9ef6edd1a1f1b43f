import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MT19937 } from '../../src/data/mt19937.js';
import { useBackend } from '../../src/engine/backend.js';
import { lifAdjointKernel, type LifAdjointAttrs } from '../../src/engine/lif-adjoint-kernel.js';
import { lifForwardKernel } from '../../src/engine/lif-forward-kernel.js';
import type { LifConstants } from '../../src/numerics/lif.js';
import { flushTensor, opPath } from '../../src/engine/op-path.js';
import { FLT_MIN } from '../../src/numerics/flush.js';
import { silentLabelNudgeKernel } from '../../src/engine/silent-label-nudge-kernel.js';
import { ttfsLossKernel, type TtfsLoss, type TtfsLossAttrs } from '../../src/engine/ttfs-loss-kernel.js';
import { runTypedKernel, type TypedKernel } from '../../src/engine/typed-kernel.js';
import { updateKernel, type UpdateAttrs } from '../../src/engine/update-kernel.js';
import { neuronConstants } from '../../src/model/neuron.js';

/**
 * The op path (src/engine/op-path*: the engine's kernels as plain tf ops, for backends that cannot take
 * custom kernels) against the typed kernels, both on the cpu backend.
 *
 * What holds, and is checked here:
 * - forward spikes exactly equal; D exactly equal when every synaptic sum is exact (dyadic weights), and
 *   within 1e-6 of the largest |D| otherwise. The matMul of the op path does not add in the typed
 *   kernel's order (tfjs cpu sums in double within blocks of 48 inputs and rounds to float32 per block;
 *   the kernel rounds after every input), so x and hence I, V, D can differ in their last bits; a spike
 *   flips only if V falls within those bits of the threshold, which none of the seeded cases does (nor
 *   any of 7.7 million neuron-steps measured with 200 inputs), but which can happen (a constructed case
 *   below);
 * - first spikes exact, loss terms and errors within 1e-6 (float32 ops against float64 rounded once);
 * - gradients and eps_in within 1e-5 of the tensor's largest entry; lamI, lamV are the kernel's own
 *   operations, only the sums of the two matMuls differ;
 * - optimiser updates bit for bit;
 * - a whole training step (forward, loss, backward, Adam and SGD) within 1e-5 of each layer's update;
 * - the subnormal rule: every new I, V, lamI, lamV, W, m, v below 2^-126 in magnitude becomes +0.
 */

const CONSTANTS = neuronConstants({ dtMs: 1, tauMemMs: 20, tauSynMs: 5, threshold: 1 });
const FORWARD: LifConstants = {
  alpha: CONSTANTS.alpha,
  beta: CONSTANTS.beta,
  oneMinusBeta: CONSTANTS.oneMinusBeta,
  threshold: CONSTANTS.threshold,
};
const ADJOINT = (wantEpsIn: boolean): LifAdjointAttrs => ({
  alpha: CONSTANTS.alpha,
  beta: CONSTANTS.beta,
  oneMinusAlpha: CONSTANTS.oneMinusAlpha,
  eps: CONSTANTS.eps,
  tauSynSeconds: CONSTANTS.tauSynSeconds,
  wantEpsIn,
});

type Run = (kernel: TypedKernel<any>, inputs: tf.Tensor[], attrs: any) => tf.Tensor[];
const typed: Run = (kernel, inputs, attrs) => runTypedKernel(kernel, inputs, attrs);
const ops: Run = (kernel, inputs, attrs) => opPath[kernel.name](inputs, attrs);
const fround = Math.fround;

/** max |a - b| over max |a| (over 1 when a is all zeros). */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(b.length).toBe(a.length);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / (scale || 1);
}

/** Equal numbers element by element (+0 equals -0). */
function expectSame(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(b.length, what).toBe(a.length);
  let bad = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) bad++;
  expect(bad, `${what}: ${bad} of ${a.length} entries differ`).toBe(0);
}

/**
 * Element by element: |b - a| <= 1e-6 |a| + 1e-12 max|a|. The absolute part covers entries far below
 * the tensor's scale, where float32 cannot follow float64 to 1e-6 of the entry itself: probabilities
 * exp(-z) with z ~ 50 (the rounding of z, 2^-24 z, becomes a relative error of exp(-z)), and a CE of
 * 4e-18 that float64's log(1 + 4e-18) rounds to 0 (the op path's log1p keeps it). Records the largest
 * relative error among the entries above 1e-6 of the scale.
 */
function expectElementwise(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  const bad: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(b[i] - a[i]);
    if (!(diff <= 1e-6 * Math.abs(a[i]) + 1e-12 * scale)) bad.push(`${i}: ${a[i]} vs ${b[i]}`);
    if (Math.abs(a[i]) >= 1e-6 * scale) note('loss, elementwise (entries >= 1e-6 of the largest)', diff / Math.abs(a[i]));
  }
  expect(bad, what).toEqual([]);
}

/** Run a computation, read its outputs, dispose them; checks that nothing else was left behind. */
function outputs(run: Run, kernel: TypedKernel<unknown>, inputs: tf.Tensor[], attrs: unknown): { shape: number[]; dtype: string; values: number[] }[] {
  const before = tf.memory().numTensors;
  const outs = run(kernel, inputs, attrs);
  expect(tf.memory().numTensors - before).toBe(outs.length);
  const read = outs.map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }));
  tf.dispose(outs);
  return read;
}

interface Case {
  sizes: number[];
  T: number;
  /** Samples per trial. */
  B: number;
  /** Trials (weights stacked [K, Nin, N] when K > 1). */
  K: number;
  seed: number;
  /** Weight scale (default 1): large for short windows, so that three layers spike within T steps. */
  gain?: number;
}

const CASES: Case[] = [
  { sizes: [12, 30, 25, 4], T: 25, B: 6, K: 1, seed: 1 },
  { sizes: [5, 120, 3], T: 60, B: 4, K: 1, seed: 2 },
  { sizes: [20, 64, 40, 3], T: 40, B: 3, K: 3, seed: 3 },
  { sizes: [7, 13, 5], T: 5, B: 5, K: 2, seed: 4, gain: 20 },
  { sizes: [60, 50, 30, 10], T: 30, B: 4, K: 2, seed: 5 },
  { sizes: [16, 33, 2], T: 15, B: 2, K: 4, seed: 6 },
];

interface Problem {
  /** Per layer: [K][Nin][N] flattened. */
  weights: Float32Array[];
  raster: Uint8Array;
  labels: Int32Array;
  losses: TtfsLoss[];
}

/**
 * Random networks scaled so that hidden layers spike; weights optionally dyadic (multiples of 2^-10
 * at most 64 in magnitude: every synaptic sum of up to 120 inputs stays below 2^13 with 2^-10 steps, 23
 * bits, exact in float32 in any order).
 */
function problem({ sizes, T, B, K, seed, gain = 1 }: Case, dyadic: boolean): Problem {
  const rng = new MT19937(seed);
  const weights = sizes.slice(1).map((n, l) => {
    const w = new Float32Array(K * sizes[l] * n);
    for (let i = 0; i < w.length; i++) {
      const k = Math.floor(i / (sizes[l] * n));
      const value = ((2.5 + 2 * rng.gauss()) / Math.sqrt(sizes[l])) * (1.2 + 0.2 * k) * gain;
      w[i] = dyadic ? Math.max(-64, Math.min(64, Math.round(value * 1024) / 1024)) : value;
    }
    return w;
  });
  const raster = new Uint8Array(K * B * T * sizes[0]);
  for (let i = 0; i < raster.length; i++) raster[i] = rng.rand() < 0.08 ? 1 : 0;
  const labels = Int32Array.from({ length: K * B }, () => rng.randint(sizes[sizes.length - 1]));
  const losses = Array.from({ length: K }, () => ({ xi: 0.5 + rng.rand(), alpha: 0.02 * rng.rand(), tau1: 20 + 100 * rng.rand() }));
  return { weights, raster, labels, losses };
}

function weightTensors(c: Case, p: Problem): tf.Tensor[] {
  return p.weights.map((w, l) => (c.K === 1 ? tf.tensor2d(w, [c.sizes[l], c.sizes[l + 1]]) : tf.tensor3d(w, [c.K, c.sizes[l], c.sizes[l + 1]])));
}

interface PassResult {
  spikes: number[][];
  D: number[][];
  first: number[];
  terms: number[];
  errors: number[];
  grads: number[][];
  epsIn: number[][];
}

/** Forward through every layer, the loss, then the adjoint of every layer, all with `run`. */
function pass(run: Run, c: Case, weights: tf.Tensor[], p: Problem): PassResult {
  const before = tf.memory().numTensors;
  const input = tf.tensor3d(p.raster, [c.K * c.B, c.T, c.sizes[0]], 'bool');
  const labels = tf.tensor1d(p.labels, 'int32');
  const spikes: tf.Tensor[] = [input];
  const D: tf.Tensor[] = [];
  for (const W of weights) {
    const [s, d] = run(lifForwardKernel, [spikes[spikes.length - 1], W], FORWARD);
    const shape = [c.K * c.B, c.T, W.shape[W.rank - 1]];
    expect([s.shape, s.dtype, d.shape, d.dtype]).toEqual([shape, 'bool', shape, 'float32']);
    spikes.push(s);
    D.push(d);
  }
  const [first, terms, errors] = run(ttfsLossKernel, [spikes[spikes.length - 1], labels], { losses: p.losses, batchSize: c.B } satisfies TtfsLossAttrs);
  const [B, T, N] = errors.shape;
  expect([first.shape, first.dtype, terms.shape, terms.dtype, errors.dtype]).toEqual([[B, N], 'int32', [B, 2], 'float32', 'float32']);
  expect([B, T]).toEqual([c.K * c.B, c.T]);
  const grads: tf.Tensor[] = [];
  const epsIn: tf.Tensor[] = [];
  let e = errors;
  for (let l = weights.length - 1; l >= 0; l--) {
    const [G, eIn] = run(lifAdjointKernel, [spikes[l], spikes[l + 1], D[l], e, weights[l]], ADJOINT(l > 0));
    expect([G.shape, G.dtype]).toEqual([weights[l].shape, 'float32']);
    expect([eIn.shape, eIn.dtype]).toEqual([l > 0 ? spikes[l].shape : [0], 'float32']);
    grads[l] = G;
    epsIn[l] = eIn;
    e = eIn;
  }
  const read = (ts: tf.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));
  const result: PassResult = {
    spikes: read(spikes.slice(1)),
    D: read(D),
    first: Array.from(first.dataSync()),
    terms: Array.from(terms.dataSync()),
    errors: Array.from(errors.dataSync()),
    grads: read(grads),
    epsIn: read(epsIn.slice(1)),
  };
  tf.dispose([...spikes, ...D, first, terms, errors, ...grads, ...epsIn, labels]);
  expect(tf.memory().numTensors).toBe(before);
  return result;
}

/** One case through forward, loss and backward, typed kernels against the op path, on the current backend. */
function chainTest(c: Case, dyadic: boolean): void {
  const label = `${c.K} trial(s) of ${c.sizes.join('-')}, T=${c.T}, ${c.B} samples each, ${dyadic ? 'dyadic' : 'random float32'} weights (seed ${c.seed})`;
  it(`forward, loss, backward: ${label}`, () => {
    const p = problem(c, dyadic);
    const weights = weightTensors(c, p);
    const a = pass(typed, c, weights, p);
    const b = pass(ops, c, weights, p);
    tf.dispose(weights);
    // The network is alive: every hidden layer spikes, gradients reach the first layer.
    for (const s of a.spikes) expect(s.some((v) => v !== 0)).toBe(true);
    // (In 5 steps no error reaches a weight: each layer adds a step of delay, forward and backward.)
    if (c.T > 5) expect(a.grads[0].some((v) => v !== 0)).toBe(true);
    a.spikes.forEach((s, l) => expectSame(s, b.spikes[l], `spikes of layer ${l + 1}`));
    a.D.forEach((d, l) => {
      if (dyadic) expectSame(d, b.D[l], `D of layer ${l + 1}`);
      else expect(note('D', maxRelDiff(d, b.D[l]))).toBeLessThanOrEqual(1e-6);
    });
    expectSame(a.first, b.first, 'first spikes');
    expect(note('loss terms', maxRelDiff(a.terms, b.terms))).toBeLessThanOrEqual(1e-6);
    expect(note('errors', maxRelDiff(a.errors, b.errors))).toBeLessThanOrEqual(1e-6);
    a.grads.forEach((g, l) => expect(note('G', maxRelDiff(g, b.grads[l])), `G of layer ${l}`).toBeLessThanOrEqual(1e-5));
    a.epsIn.forEach((g, l) => expect(note('eps_in', maxRelDiff(g, b.epsIn[l])), `eps_in into layer ${l + 1}`).toBeLessThanOrEqual(1e-5));
  });
}

/** The largest differences seen, for the summary printed at the end (run with OP_PATH_REPORT=1). */
const worst: Record<string, number> = {};
function note(what: string, value: number): number {
  worst[what] = Math.max(worst[what] ?? 0, value);
  return value;
}

describe('op path = typed kernels (cpu backend)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('maps every kernel name to its op-path function', () => {
    expect(Object.keys(opPath).sort()).toEqual([lifAdjointKernel.name, lifForwardKernel.name, silentLabelNudgeKernel.name, ttfsLossKernel.name, updateKernel.name].sort());
  });

  for (const c of CASES) for (const dyadic of [true, false]) chainTest(c, dyadic);

  /**
   * The limit of exactness, on a constructed case: three inputs with weights 1, 2^-24, 2^-24 spike
   * together. The kernel adds in float32 in ascending index: 1 + 2^-24 rounds to 1 (a tie, to even), and
   * again, so x = 1. The cpu backend's matMul adds the block in double and rounds once: x = 1 + 2^-23.
   * With the threshold at exactly (1 - beta) * 1, the kernel's V equals it (no spike, the test is strict)
   * and the op path's V is above it (a spike). Random data lands that close to the threshold about once
   * in 10^7 neuron-steps or less (none in 7.7 million measured), so the seeded cases above agree exactly.
   */
  it('documents: a spike can differ when V falls within the rounding of the matMul sum', () => {
    const attrs: LifConstants = { ...FORWARD, threshold: fround(CONSTANTS.oneMinusBeta * 1) };
    const inputs = [tf.tensor3d([1, 1, 1, 0, 0, 0], [1, 2, 3], 'bool'), tf.tensor2d([1, 2 ** -24, 2 ** -24], [3, 1])];
    const [sTyped] = outputs(typed, lifForwardKernel, inputs, attrs);
    const [sOps] = outputs(ops, lifForwardKernel, inputs, attrs);
    tf.dispose(inputs);
    expect(sTyped.values).toEqual([0, 0]);
    expect(sOps.values).toEqual([0, 1]);
  });

  it('adjoint on the same inputs: lamI exact where it is seen alone (one input spike per sample)', () => {
    // With a single input spike per sample, G = -tauSyn * lamI[i] and eps_in = W * (lamV - lamI) are one
    // product each: the matMuls are exact and the op path must equal the kernel bit for bit.
    const rng = new MT19937(9);
    const B = 4, T = 30, Nin = 6, N = 5;
    const sIn = new Uint8Array(B * T * Nin);
    for (let b = 0; b < B; b++) sIn[(b * T + 3 + b) * Nin + rng.randint(Nin)] = 1;
    const s = new Uint8Array(B * T * N);
    const D = new Float32Array(B * T * N);
    const e = new Float32Array(B * T * N);
    for (let i = 0; i < s.length; i++) {
      if (rng.rand() < 0.15) {
        s[i] = 1;
        D[i] = rng.gauss();
        e[i] = rng.rand() < 0.5 ? 0.1 * rng.gauss() : 0;
      }
    }
    const W = Float32Array.from({ length: Nin * N }, () => rng.gauss());
    const inputs = [tf.tensor3d(sIn, [B, T, Nin], 'bool'), tf.tensor3d(s, [B, T, N], 'bool'), tf.tensor3d(D, [B, T, N]), tf.tensor3d(e, [B, T, N]), tf.tensor2d(W, [Nin, N])];
    // One sample at a time, so that G holds one sample's single term.
    for (let b = 0; b < B; b++) {
      const one = inputs.slice(0, 4).map((t) => tf.slice(t, [b, 0, 0], [1, T, t.shape[2]!]));
      const x = outputs(typed, lifAdjointKernel, [...one, inputs[4]], ADJOINT(true));
      const y = outputs(ops, lifAdjointKernel, [...one, inputs[4]], ADJOINT(true));
      expect(x.map((o) => [o.shape, o.dtype])).toEqual(y.map((o) => [o.shape, o.dtype]));
      expect(x[0].values.some((v) => v !== 0)).toBe(true);
      expectSame(x[0].values, y[0].values, 'G');
      expectSame(x[1].values, y[1].values, 'eps_in');
      tf.dispose(one);
    }
    tf.dispose(inputs);
  });

  it('loss: silent neurons, first spike at T-1, silent label, ties, per-trial settings and batch size', () => {
    const T = 8, N = 4, K = 2, perTrial = 3, B = K * perTrial;
    // First spikes per sample (T = silent); spikes after the first do not matter.
    const firsts = [
      [0, 3, 8, 7], // a neuron at T-1 (no error), a silent one
      [8, 8, 8, 8], // all silent
      [2, 2, 5, 2], // ties at the minimum
      [7, 7, 7, 7], // all at T-1: no errors at all
      [1, 6, 0, 8], // label silent (label 3)
      [0, 0, 0, 0],
    ];
    const labels = [2, 1, 0, 3, 3, 1];
    const s = new Uint8Array(B * T * N);
    firsts.forEach((f, b) =>
      f.forEach((t, n) => {
        for (let i = t; i < T; i += 2) s[(b * T + i) * N + n] = 1;
      }),
    );
    const attrs: TtfsLossAttrs = {
      losses: [
        { xi: 0.7, alpha: 0.013, tau1: 33 },
        { xi: 1.9, alpha: 0, tau1: 80 },
      ],
      batchSize: 17,
    };
    const inputs = [tf.tensor3d(s, [B, T, N], 'bool'), tf.tensor1d(labels, 'int32')];
    const x = outputs(typed, ttfsLossKernel, inputs, attrs);
    const y = outputs(ops, ttfsLossKernel, inputs, attrs);
    tf.dispose(inputs);
    expect(y.map((o) => [o.shape, o.dtype])).toEqual(x.map((o) => [o.shape, o.dtype]));
    expectSame(x[0].values, firsts.flat(), 'first spikes (typed)');
    expectSame(x[0].values, y[0].values, 'first spikes');
    expect(note('loss terms', maxRelDiff(x[1].values, y[1].values))).toBeLessThanOrEqual(1e-6);
    expect(note('errors', maxRelDiff(x[2].values, y[2].values))).toBeLessThanOrEqual(1e-6);
    expectElementwise(x[1].values, y[1].values, 'loss terms');
    expectElementwise(x[2].values, y[2].values, 'errors');
  });

  it('loss: random outputs, element by element within 1e-6', () => {
    const rng = new MT19937(21);
    for (const [B, T, N, K] of [
      [8, 20, 10, 1],
      [12, 60, 3, 4],
      [6, 5, 7, 3],
    ]) {
      const s = Uint8Array.from({ length: B * T * N }, () => (rng.rand() < 0.06 ? 1 : 0));
      const labels = Int32Array.from({ length: B }, () => rng.randint(N));
      const attrs: TtfsLossAttrs = {
        losses: Array.from({ length: K }, () => ({ xi: 0.3 + 2 * rng.rand(), alpha: 0.05 * rng.rand(), tau1: 5 + 100 * rng.rand() })),
        batchSize: B / K,
      };
      const inputs = [tf.tensor3d(s, [B, T, N], 'bool'), tf.tensor1d(labels, 'int32')];
      const x = outputs(typed, ttfsLossKernel, inputs, attrs);
      const y = outputs(ops, ttfsLossKernel, inputs, attrs);
      tf.dispose(inputs);
      expectSame(x[0].values, y[0].values, 'first spikes');
      expectElementwise(x[1].values, y[1].values, 'loss terms');
      expectElementwise(x[2].values, y[2].values, 'errors');
    }
  });

  it('silent-label nudge: op path = typed kernel bit for bit (signed zeros too); a small case by hand', () => {
    // By hand: T = 4, H = 2, N = 2, B = 3. Sample 0 (label 1, silent) has input spikes (2, 1), sample 2
    // (label 1, first spike at T-1 = 3: no error either) (2, 1); sample 1's label neuron spikes.
    const s = [[[1, 0], [0, 1], [1, 0], [0, 0]], [[1, 1], [0, 0], [0, 0], [0, 0]], [[1, 1], [1, 0], [0, 0], [0, 0]]];
    const small = [tf.tensor3d(s.flat(2), [3, 4, 2], 'bool'), tf.tensor2d([1, 4, 2, 4, 3, 3], [3, 2], 'int32'), tf.tensor1d([1, 0, 1], 'int32')];
    const hand = [-0, fround(4 * fround(-0.5 / 3)), -0, fround(2 * fround(-0.5 / 3))];
    for (const run of [typed, ops]) expect(outputs(run, silentLabelNudgeKernel, small, { nudges: [0.5], batchSize: 3 })[0].values).toEqual(hand);
    tf.dispose(small);
    const rng = new MT19937(23);
    for (const [K, B, T, H, N] of [
      [1, 9, 20, 30, 3],
      [3, 8, 25, 17, 4],
    ]) {
      const spikes = Uint8Array.from({ length: K * B * T * H }, () => (rng.rand() < 0.1 ? 1 : 0));
      const first = Int32Array.from({ length: K * B * N }, () => T - 3 + rng.randint(4)); // T-3 .. T: some silent
      const labels = Int32Array.from({ length: K * B }, () => rng.randint(N));
      const inputs = [tf.tensor3d(spikes, [K * B, T, H], 'bool'), tf.tensor2d(first, [K * B, N], 'int32'), tf.tensor1d(labels, 'int32')];
      const attrs = { nudges: Array.from({ length: K }, () => rng.rand()), batchSize: B };
      const x = outputs(typed, silentLabelNudgeKernel, inputs, attrs);
      const y = outputs(ops, silentLabelNudgeKernel, inputs, attrs);
      tf.dispose(inputs);
      expect(y[0].shape).toEqual(K === 1 ? [H, N] : [K, H, N]);
      expect(x[0].values.filter((v) => v !== 0).length, 'entries the nudge moves').toBeGreaterThan(H);
      expect(y[0].values).toEqual(x[0].values);
    }
  });

  for (const type of ['adam', 'sgd'] as const) {
    it(`stacked ${type} update: bit for bit, per-trial numbers, weight decay on and off`, () => {
      const rng = new MT19937(type === 'adam' ? 31 : 32);
      const K = 3, Nin = 9, N = 7;
      const size = K * Nin * N;
      const f32 = (xs: number[]) => xs.map(Math.fround);
      const beta1 = [0.9, 0.8, 0.95], beta2 = [0.999, 0.99, 0.9], steps = [1, 7, 30];
      const attrs: UpdateAttrs = {
        type,
        weightDecay: f32([0, 1e-3, 0.05]),
        lr: f32([1e-3, 0.02, 0.3]),
        beta1: f32(beta1),
        oneMinusBeta1: f32(beta1.map((b) => 1 - b)),
        beta2: f32(beta2),
        oneMinusBeta2: f32(beta2.map((b) => 1 - b)),
        biasCorrection1: f32(beta1.map((b, k) => 1 - b ** steps[k])),
        biasCorrection2: f32(beta2.map((b, k) => 1 - b ** steps[k])),
        eps: f32([1e-8, 1e-6, 1e-3]),
        momentum: f32([0.9, 0, 0.5]),
      };
      const random = (scale: number) => tf.tensor3d(Float32Array.from({ length: size }, () => scale * rng.gauss()), [K, Nin, N]);
      const W = random(1);
      const G = random(0.01);
      const M = random(0.01);
      const V = type === 'adam' ? tf.abs(random(1e-4)) : tf.zeros([0]);
      const x = outputs(typed, updateKernel, [W, G, M, V], attrs);
      const y = outputs(ops, updateKernel, [W, G, M, V], attrs);
      tf.dispose([W, G, M, V]);
      expect(y.map((o) => [o.shape, o.dtype])).toEqual(x.map((o) => [o.shape, o.dtype]));
      x.forEach((o, k) => expectSame(o.values, y[k].values, ['W', 'm', 'v'][k]));
      expect(x[0].values.length).toBe(size);
    });
  }

  for (const type of ['adam', 'sgd'] as const) {
    it(`a training step from ops alone = the typed kernels' step (${type}, 3 stacked trials of 20-64-40-3)`, () => {
      const c: Case = { sizes: [20, 64, 40, 3], T: 40, B: 3, K: 3, seed: 3 };
      const p = problem(c, false);
      const f32 = (xs: number[]) => xs.map(Math.fround);
      const attrs: UpdateAttrs = {
        type,
        weightDecay: f32([0, 1e-4, 1e-3]),
        lr: f32([1e-3, 3e-3, 1e-2]),
        beta1: f32([0.9, 0.9, 0.9]),
        oneMinusBeta1: f32([1 - 0.9, 1 - 0.9, 1 - 0.9]),
        beta2: f32([0.999, 0.999, 0.999]),
        oneMinusBeta2: f32([1 - 0.999, 1 - 0.999, 1 - 0.999]),
        biasCorrection1: f32([1 - 0.9, 1 - 0.9, 1 - 0.9]),
        biasCorrection2: f32([1 - 0.999, 1 - 0.999, 1 - 0.999]),
        eps: f32([1e-8, 1e-8, 1e-8]),
        momentum: f32([0.9, 0.5, 0]),
      };
      const step = (run: Run): number[][] => {
        const before = tf.memory().numTensors;
        const weights = weightTensors(c, p);
        const input = tf.tensor3d(p.raster, [c.K * c.B, c.T, c.sizes[0]], 'bool');
        const labels = tf.tensor1d(p.labels, 'int32');
        const spikes: tf.Tensor[] = [input];
        const D: tf.Tensor[] = [];
        for (const W of weights) {
          const [s, d] = run(lifForwardKernel, [spikes[spikes.length - 1], W], FORWARD);
          spikes.push(s);
          D.push(d);
        }
        const [first, terms, errors] = run(ttfsLossKernel, [spikes[spikes.length - 1], labels], { losses: p.losses, batchSize: c.B });
        const updated: number[][] = [];
        let e = errors;
        for (let l = weights.length - 1; l >= 0; l--) {
          const [G, eIn] = run(lifAdjointKernel, [spikes[l], spikes[l + 1], D[l], e, weights[l]], ADJOINT(l > 0));
          const m = tf.zerosLike(weights[l]);
          const v = type === 'adam' ? tf.zerosLike(weights[l]) : tf.zeros([0]);
          const [newW, newM, newV] = run(updateKernel, [weights[l], G, m, v], attrs);
          const delta = tf.sub(newW, weights[l]);
          updated[l] = Array.from(delta.dataSync());
          delta.dispose();
          tf.dispose([G, m, v, newW, newM, newV, e]);
          e = eIn;
        }
        tf.dispose([...spikes, ...D, ...weights, first, terms, e, labels]);
        expect(tf.memory().numTensors).toBe(before);
        return updated;
      };
      const a = step(typed);
      const b = step(ops);
      a.forEach((d, l) => {
        expect(d.some((v) => v !== 0)).toBe(true);
        expect(note(`training step (${type})`, maxRelDiff(d, b[l])), `update of layer ${l}`).toBeLessThanOrEqual(1e-5);
      });
    });
  }
});

/**
 * The op path is plain tf ops and runs on any backend: on wasm (where the typed kernels run as
 * WebAssembly) the matMul is XNNPACK's, another summation order, and the elementwise ops are wasm's own.
 */
describe('op path = typed kernels (wasm backend)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });
  afterAll(async () => {
    await useBackend('cpu');
  });

  chainTest(CASES[2], false);
});

describe('op path: the subnormal rule', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  const flush = (x: number) => (Math.abs(x) < FLT_MIN ? 0 : x);

  it('flushSubnormal: below 2^-126 in magnitude (and -0) becomes +0, the rest is kept', () => {
    const smallestSubnormal = 2 ** -149;
    const values = [0, -0, smallestSubnormal, -smallestSubnormal, FLT_MIN - smallestSubnormal, -(FLT_MIN - smallestSubnormal), FLT_MIN, -FLT_MIN, 1, -3.5, NaN, Infinity];
    const input = tf.tensor1d(values);
    const out = flushTensor(input);
    const got = Array.from(out.dataSync());
    tf.dispose([input, out]);
    const want = [0, 0, 0, 0, 0, 0, FLT_MIN, -FLT_MIN, 1, -3.5, NaN, Infinity];
    got.forEach((v, i) => expect(Object.is(v, want[i]), `${values[i]} -> ${v}`).toBe(true));
  });

  /**
   * One neuron, inputs spiking at chosen steps, with a threshold that is itself subnormal: without the
   * rule, V decays through the subnormal range and stays above the threshold (the typed kernel, which
   * does not flush yet, spikes there); with it, I and V become 0 once below 2^-126 and the neuron stays
   * silent until a large input arrives. Checked against the recurrence written out here with the rule.
   */
  it('forward: I and V never go subnormal', () => {
    const T = 60;
    const attrs: LifConstants = { ...FORWARD, threshold: fround(2 ** -140) };
    // input 0 at step 0 (I starts at 3e-38: V = (1-beta) I is subnormal at once), input 1 at step 20
    // with a negative tiny weight, input 2 at step 40 with a large one.
    const W = Float32Array.from([3e-38, -2e-38, 1]);
    const spikeAt = [0, 20, 40];
    const sIn = new Uint8Array(T * 3);
    spikeAt.forEach((i, k) => (sIn[i * 3 + k] = 1));
    const refS: number[] = new Array(T).fill(0);
    const refD: number[] = new Array(T).fill(0);
    let I = 0;
    let V = 0;
    for (let i = 1; i < T; i++) {
      let x = 0;
      for (let k = 0; k < 3; k++) if (sIn[(i - 1) * 3 + k]) x = fround(x + W[k]);
      I = flush(fround(fround(attrs.alpha * I) + x));
      V = flush(fround(fround(attrs.beta * V) + fround(attrs.oneMinusBeta * I)));
      if (V > attrs.threshold) {
        refS[i] = 1;
        refD[i] = fround(I - V);
        V = 0;
      }
    }
    const inputs = [tf.tensor3d(sIn, [1, T, 3], 'bool'), tf.tensor2d(W, [3, 1])];
    const [s, D] = outputs(ops, lifForwardKernel, inputs, attrs);
    const [sTyped] = outputs(typed, lifForwardKernel, inputs, attrs);
    tf.dispose(inputs);
    expectSame(s.values, refS, 'spikes');
    expectSame(D.values, refD, 'D');
    // The rule matters here: the neuron is silent until the large input, then spikes.
    expect(refS.slice(0, 41).every((v) => v === 0)).toBe(true);
    expect(refS[41]).toBe(1);
    // The typed kernels follow the same rule: without it the subnormal V would cross the threshold.
    expectSame(sTyped.values, refS, 'typed-kernel spikes');
  });

  /**
   * One neuron receiving a tiny error at an output spike late in the window: lamV and lamI decay in
   * reverse time through the subnormal range. A single input spike per step makes G = -tauSyn * lamI[i]
   * and eps_in[i] = W * (lamV[i+1] - lamI[i+1]) single products, so both show lamI and lamV exactly.
   */
  it('adjoint: lamI and lamV never go subnormal', () => {
    const T = 80;
    const c = ADJOINT(true);
    const sIn = new Uint8Array(T);
    for (let i = 0; i < T; i++) sIn[i] = 1; // one input, spiking at every step
    const s = new Uint8Array(T);
    const D = new Float32Array(T);
    const e = new Float32Array(T);
    s[70] = 1;
    D[70] = 1;
    e[70] = 1e-37;
    const w = 0.75;
    // Reference with the rule: G summed in the kernel's order, eps_in per step.
    let lamI = 0;
    let lamV = 0;
    let G = 0;
    const refEps: number[] = new Array(T).fill(0);
    let subnormalWithout = false;
    let li = 0;
    let lv = 0;
    for (let i = T - 2; i >= 0; i--) {
      refEps[i] = fround(w * fround(lamV - lamI));
      const newLamI = flush(fround(fround(c.alpha * lamI) + fround(c.oneMinusAlpha * lamV)));
      let newLamV = fround(c.beta * lamV);
      if (s[i + 1]) newLamV = fround(newLamV + fround(fround(lamV + e[i + 1]) / fround(D[i + 1] + c.eps)));
      lamI = newLamI;
      lamV = flush(newLamV);
      G = fround(G - fround(c.tauSynSeconds * lamI));
      // The same without the rule, to show that it matters here.
      const nli = fround(fround(c.alpha * li) + fround(c.oneMinusAlpha * lv));
      lv = s[i + 1] ? fround(fround(c.beta * lv) + fround(fround(lv + e[i + 1]) / fround(D[i + 1] + c.eps))) : fround(c.beta * lv);
      li = nli;
      if ((li !== 0 && Math.abs(li) < FLT_MIN) || (lv !== 0 && Math.abs(lv) < FLT_MIN)) subnormalWithout = true;
    }
    expect(subnormalWithout).toBe(true);
    expect(lamV).toBe(0); // flushed by step 0
    const inputs = [tf.tensor3d(sIn, [1, T, 1], 'bool'), tf.tensor3d(s, [1, T, 1], 'bool'), tf.tensor3d(D, [1, T, 1]), tf.tensor3d(e, [1, T, 1]), tf.tensor2d([[w]])];
    const [gOps, epsOps] = outputs(ops, lifAdjointKernel, inputs, c);
    tf.dispose(inputs);
    // eps_in: single products, exact; G: a sum over steps, in the matMul's order.
    expectSame(epsOps.values, refEps, 'eps_in');
    expect(Math.abs(gOps.values[0] - G)).toBeLessThanOrEqual(1e-6 * Math.abs(G));
  });

  it('optimiser: new W, m, v below 2^-126 become +0', () => {
    const K = 2;
    const f32 = (xs: number[]) => xs.map(Math.fround);
    const base = { weightDecay: f32([0, 0]), lr: f32([0, 0]), beta1: f32([0.5, 0.5]), oneMinusBeta1: f32([0.5, 0.5]), beta2: f32([0.5, 0.5]), oneMinusBeta2: f32([0.5, 0.5]), biasCorrection1: f32([1, 1]), biasCorrection2: f32([1, 1]), eps: f32([1, 1]), momentum: f32([0.5, 0.5]) };
    // W subnormal itself (lr 0 keeps it), m and v halving into the subnormal range, g = 0.
    const W = tf.tensor3d([1e-39, 1, -1e-39, 1], [K, 1, 2]);
    const G = tf.zeros([K, 1, 2]);
    const M = tf.tensor3d([2e-38, 1, -2e-38, 3e-38], [K, 1, 2]);
    const V = tf.tensor3d([2e-38, 1, 2e-38, 3e-38], [K, 1, 2]);
    const adam = outputs(ops, updateKernel, [W, G, M, V], { ...base, type: 'adam' } satisfies UpdateAttrs);
    const none = tf.zeros([0]);
    const sgd = outputs(ops, updateKernel, [W, G, M, none], { ...base, type: 'sgd' } satisfies UpdateAttrs);
    tf.dispose([W, G, M, V, none]);
    const half = (x: number) => fround(x * 0.5);
    expect(adam[0].values).toEqual([0, 1, 0, 1]);
    expect(adam[1].values).toEqual([0, half(1), 0, half(3e-38)]);
    expect(adam[2].values).toEqual([0, half(1), 0, half(3e-38)]);
    expect(sgd[0].values).toEqual([0, 1, 0, 1]);
    expect(sgd[1].values).toEqual([0, half(1), 0, half(3e-38)]);
    expect(sgd[2].shape).toEqual([0]);
  });
});

describe('op path: summary', () => {
  it('largest differences seen', () => {
    if (process.env.OP_PATH_REPORT) console.log(Object.entries(worst).map(([k, v]) => `${k}: ${v.toExponential(3)}`).join('\n'));
    expect(Object.keys(worst).length).toBeGreaterThan(0);
  });
});
