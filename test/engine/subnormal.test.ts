import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/engine/backend.js';
import { lifAdjointKernel } from '../../src/engine/lif-adjoint-kernel.js';
import { lifForwardKernel } from '../../src/engine/lif-forward-kernel.js';
import { uploadWeights } from '../../src/engine/model-network.js';
import { runTypedKernel, setUseWasmKernels } from '../../src/engine/typed-kernel.js';
import { countSubnormals, FLT_MIN, flushSubnormal, flushSubnormalsInPlace, flushWeights } from '../../src/numerics/flush.js';
import { flushTensor } from '../../src/engine/op-path/flush.js';
import { Optimiser, type OptimiserSettings } from '../../src/train/optimiser.js';
import { TensorOpOptimiser } from '../train/tensor-op-optimiser.js';
import { forwardLayer } from '../oracle/eventprop-oracle.js';

/**
 * The subnormal rule (docs/contract.md, "The subnormal rule"; src/numerics/flush.ts): states, optimiser results
 * and weights are flushed to +0 where |value| < 2^-126. Hand-computed cases where it bites, checked on
 * the typed-array loops (cpu), the WebAssembly kernels and the wasm backend's JS loops, the float64
 * oracle's float32 forward, the tensor-op optimiser and the stacked update kernel.
 */

const isSubnormal = (x: number) => x !== 0 && Math.abs(x) < FLT_MIN;
const plusZero = (x: number) => Object.is(x, 0);

/** The engines compared: the JS loop on cpu, the JS loop on the wasm heap, the WebAssembly kernel. */
const ENGINES = [
  { name: 'cpu (typed-array loop)', backend: 'cpu', wasmKernels: true },
  { name: 'wasm backend, typed-array loop', backend: 'wasm', wasmKernels: false },
  { name: 'wasm backend, WebAssembly SIMD kernel', backend: 'wasm', wasmKernels: true },
] as const;

afterAll(() => setUseWasmKernels(true));

describe('flushSubnormal', () => {
  it('maps subnormals and -0 to +0 and keeps everything else', () => {
    expect(FLT_MIN).toBe(Math.fround(1.17549435e-38));
    expect(plusZero(flushSubnormal(2 ** -127))).toBe(true);
    expect(plusZero(flushSubnormal(-(2 ** -149)))).toBe(true);
    expect(plusZero(flushSubnormal(-0))).toBe(true);
    expect(plusZero(flushSubnormal(Math.fround(FLT_MIN - 2 ** -149)))).toBe(true); // largest subnormal
    expect(flushSubnormal(FLT_MIN)).toBe(FLT_MIN);
    expect(flushSubnormal(-FLT_MIN)).toBe(-FLT_MIN);
    expect(flushSubnormal(1.5)).toBe(1.5);
    expect(flushSubnormal(Infinity)).toBe(Infinity);
    expect(flushSubnormal(NaN)).toBeNaN();
    const a = Float32Array.of(2 ** -130, -0, 1, -(2 ** -126));
    flushSubnormalsInPlace(a);
    expect(Array.from(a).map((x) => Object.is(x, 0))).toEqual([true, true, false, false]);
    expect(flushWeights([[[2 ** -140, 0.25]]])).toEqual([[[0, 0.25]]]);
    expect(countSubnormals([[[2 ** -140, 0.25, -(2 ** -127), 0]]])).toBe(2);
  });

  it('flushTensor (the tensor-op flush other backends use) and the flush kernel agree', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      const x = tf.tensor2d([[2 ** -130, -(2 ** -149), -0, 2 ** -126, -1.5, 3e-39]]);
      const y = flushTensor(x);
      expect(Array.from(y.dataSync()).map((v) => (Object.is(v, 0) ? '+0' : v))).toEqual(['+0', '+0', '+0', 2 ** -126, -1.5, '+0']);
      tf.dispose([x, y]);
    }
  });

  it('uploadWeights flushes subnormal weights (a model written before the rule runs them as +0)', async () => {
    await useBackend('cpu');
    const [w] = uploadWeights([[[2 ** -130, -(2 ** -149), 1e-45, 0.5]]]);
    expect(Array.from(w.dataSync()).map(plusZero)).toEqual([true, true, true, false]);
    w.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------
// Forward: one input spike at step 0 through weights 2^c, alpha = beta = 1/2, threshold 0 (a spike at
// every step where V > 0, so every flush shows as a missing spike), T = 160.
//   I[i] = 2^(c-i+1) while normal (i <= 127 + c), then flushed to +0.
//   Case A, oneMinusBeta = 1/2: V[i] = 2^(c-i) (V is reset every step), a spike while V is normal
//     (i <= 126 + c), D = I - V = 2^(c-i). Without flushing V, spikes would go on to i = 149 + c.
//   Case B, oneMinusBeta = 1024: V[i] = 1024 * I[i], normal as long as I is: spikes at i <= 127 + c,
//     D = -1023 * 2^(c-i+1). Without flushing I, spikes would go on to i = 150 + c.
// ---------------------------------------------------------------------------------------------------
const T_FWD = 160;
const CS = [0, 1, -1, 2, 0]; // four neurons in a SIMD vector, one in the scalar tail

function expectedForward(omb: number) {
  const s: number[][] = [];
  const D: number[][] = [];
  for (let i = 0; i < T_FWD; i++) {
    s.push(CS.map(() => 0));
    D.push(CS.map(() => 0));
    if (i === 0) continue;
    CS.forEach((c, j) => {
      const last = omb === 0.5 ? 126 + c : 127 + c;
      if (i > last) return;
      s[i][j] = 1;
      D[i][j] = omb === 0.5 ? 2 ** (c - i) : -1023 * 2 ** (c - i + 1);
    });
  }
  return { s, D };
}

function runForward(omb: number) {
  const raster = new Uint8Array(T_FWD); // one input, spiking at step 0
  raster[0] = 1;
  const sIn = tf.tensor3d(raster, [1, T_FWD, 1], 'bool');
  const W = tf.tensor2d([CS.map((c) => 2 ** c)]);
  const [s, D] = runTypedKernel(lifForwardKernel, [sIn, W], { alpha: 0.5, beta: 0.5, oneMinusBeta: omb, threshold: 0 });
  const out = { s: s.arraySync() as number[][][], D: D.arraySync() as number[][][] };
  tf.dispose([sIn, W, s, D]);
  return { s: out.s[0], D: out.D[0] };
}

describe('forward: I and V decaying into the subnormal range are flushed', () => {
  for (const omb of [0.5, 1024]) {
    const which = omb === 0.5 ? 'V flushed (case A)' : 'I flushed (case B)';
    for (const e of ENGINES) {
      it(`${which}: ${e.name}`, async () => {
        await useBackend(e.backend);
        setUseWasmKernels(e.wasmKernels);
        const got = runForward(omb);
        const want = expectedForward(omb);
        expect(got.s).toEqual(want.s);
        expect(got.D).toEqual(want.D);
        setUseWasmKernels(true);
      });
    }
    it(`${which}: the oracle's float32 forward, I and V traces`, () => {
      const sIn = Array.from({ length: T_FWD }, (_, i) => [i === 0 ? 1 : 0]);
      const r = forwardLayer(sIn, [CS.map((c) => 2 ** c)], T_FWD, 0.5, 0.5, omb, 0);
      const want = expectedForward(omb);
      expect(r.spikes).toEqual(want.s);
      expect(r.D).toEqual(want.D);
      CS.forEach((c, j) => {
        expect(r.I[127 + c][j]).toBe(2 ** -126);
        expect(plusZero(r.I[128 + c][j])).toBe(true);
        for (let i = 1; i < T_FWD; i++) expect(isSubnormal(r.I[i][j]) || isSubnormal(r.Vpre[i][j])).toBe(false);
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// Adjoint: every neuron spikes at step T-1 with error 1 and D = 1 (eps 0), alpha = beta = 1-alpha = 1/2;
// input k spikes at step k only, so G[k] and eps_in[k] show the adjoint at step k. With n = T-2-k steps
// back from the error:
//   lamV(n) = 2^-n while normal (n <= 126), then +0;
//   lamI(n) = n 2^-n for n <= 127, then 127 * 2^-n (lamV is gone) while normal (n <= 132), then +0.
// W = tauSyn = 2^120 bring those values to ordinary sizes:
//   G[k][j] = 0 - tauSyn * lamI(n);   eps_in[k][k] = sum over the 5 neurons of W * (lamV(n-1) - lamI(n-1)).
// ---------------------------------------------------------------------------------------------------
const T_ADJ = 150;
const N_ADJ = 5;
const BIG = 2 ** 120;
const lamV = (n: number) => (n < 0 ? 0 : n <= 126 ? 2 ** -n : 0);
const lamI = (n: number) => (n < 0 ? 0 : n <= 127 ? n * 2 ** -n : n <= 132 ? 127 * 2 ** -n : 0);

function runAdjoint() {
  const T = T_ADJ;
  const sInData = new Uint8Array(T * T);
  for (let k = 0; k < T; k++) sInData[k * T + k] = 1; // [1, T, Nin = T]: input k at step k
  const sData = new Uint8Array(T * N_ADJ);
  const DData = new Float32Array(T * N_ADJ);
  const eData = new Float32Array(T * N_ADJ);
  for (let j = 0; j < N_ADJ; j++) {
    sData[(T - 1) * N_ADJ + j] = 1;
    DData[(T - 1) * N_ADJ + j] = 1;
    eData[(T - 1) * N_ADJ + j] = 1;
  }
  const inputs = [
    tf.tensor3d(sInData, [1, T, T], 'bool'),
    tf.tensor3d(sData, [1, T, N_ADJ], 'bool'),
    tf.tensor3d(DData, [1, T, N_ADJ]),
    tf.tensor3d(eData, [1, T, N_ADJ]),
    tf.fill([T, N_ADJ], BIG),
  ];
  const attrs = { alpha: 0.5, beta: 0.5, oneMinusAlpha: 0.5, eps: 0, tauSynSeconds: BIG, wantEpsIn: true };
  const [G, epsIn] = runTypedKernel(lifAdjointKernel, inputs, attrs);
  const out = { G: G.arraySync() as number[][], epsIn: (epsIn.arraySync() as number[][][])[0] };
  tf.dispose([...inputs, G, epsIn]);
  return out;
}

describe('adjoint: lamI and lamV decaying into the subnormal range are flushed', () => {
  const S = T_ADJ - 2;
  const wantG = Array.from({ length: T_ADJ }, (_, k) => Array.from({ length: N_ADJ }, () => (k > S ? 0 : 0 - BIG * lamI(S - k))));
  const wantEps = Array.from({ length: T_ADJ }, (_, i) =>
    Array.from({ length: T_ADJ }, (_, k) => (k === i && i <= S ? N_ADJ * BIG * (lamV(S - k - 1) - lamI(S - k - 1)) : 0)),
  );
  it('the hand values bite: lamI nonzero up to 132 steps back, zero from 133 (unflushed, it would not be)', () => {
    expect(lamI(132)).toBe(127 * 2 ** -132);
    expect(127 * 2 ** -133).toBeLessThan(FLT_MIN);
    expect(wantG[S - 132][0]).not.toBe(0);
    expect(plusZero(wantG[S - 133][0])).toBe(true);
  });
  for (const e of ENGINES) {
    it(e.name, async () => {
      await useBackend(e.backend);
      setUseWasmKernels(e.wasmKernels);
      const got = runAdjoint();
      setUseWasmKernels(true);
      expect(got.G).toEqual(wantG);
      expect(got.epsIn).toEqual(wantEps);
      expect(got.G.flat().every((x) => !Object.is(x, -0))).toBe(true);
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// Optimiser: updates whose new W, m or v land subnormal, against a float32 emulation of the same
// formulas without the rule (to show they do land there), then flushed.
// ---------------------------------------------------------------------------------------------------
const f = Math.fround;

/** One update of Optimiser's formulas in float32, not flushed (step t, from m = v = 0 when t = 1). */
function unflushed(s: OptimiserSettings, W: number[], G: number[], M: number[], V: number[], lr: number, t: number) {
  const [wd, b1, b2, eps, mom] = [f(s.weightDecay), f(s.beta1), f(s.beta2), f(s.eps), f(s.momentum)];
  const [omb1, omb2, bc1, bc2, lr32] = [f(1 - s.beta1), f(1 - s.beta2), f(1 - s.beta1 ** t), f(1 - s.beta2 ** t), f(lr)];
  const out = { W: [] as number[], m: [] as number[], v: [] as number[] };
  W.forEach((w, i) => {
    const g = wd > 0 ? f(G[i] + f(w * wd)) : G[i];
    if (s.type === 'sgd') {
      const buf = f(f(M[i] * mom) + g);
      out.m.push(buf);
      out.W.push(f(w - f(buf * lr32)));
      return;
    }
    const m = f(f(M[i] * b1) + f(g * omb1));
    const v = f(f(V[i] * b2) + f(f(g * g) * omb2));
    out.m.push(m);
    out.v.push(v);
    out.W.push(f(w - f(f(f(m / bc1) / f(f(Math.sqrt(f(v / bc2))) + eps)) * lr32)));
  });
  return out;
}

const OPT: Record<'adam' | 'sgd', OptimiserSettings> = {
  adam: { type: 'adam', lr: 2 ** -120, weightDecay: 0, gamma: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, momentum: 0 },
  sgd: { type: 'sgd', lr: 1, weightDecay: 0, gamma: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, momentum: 0.9 },
};

/**
 * Inputs (one row) where the rule bites. Adam, lr 2^-120, first step: a gradient of 1 moves the weight by
 * exactly lr, so W = 2^-120 + 2^-140 lands on 2^-140; g = 2^-125 gives m = 0.1 g (subnormal); g = 2^-70
 * gives v = 0.001 g^2 (subnormal); a weight already subnormal (from an old model) with g = 0. SGD, lr 1:
 * W - g = 2^-140 exactly; gradients of 2^-128 and 2^-127 are subnormal new buffers; a subnormal weight
 * with g = 0 stays subnormal unflushed.
 */
const CASES = {
  adam: { W: [2 ** -120 + 2 ** -140, 0.5, 0.25, 2 ** -130, -0.75], G: [1, 2 ** -125, 2 ** -70, 0, -(2 ** -100)], M: [0, 0, 0, 0, 0], V: [0, 0, 0, 0, 0] },
  sgd: { W: [2 ** -120 + 2 ** -140, 0.5, 1, 2 ** -135, 2], G: [2 ** -120, 2 ** -128, 1e-3, 0, 2 ** -127], M: [0, 0, 0, 0, 0], V: [] },
};

describe('optimiser: new W, m and v that land subnormal are stored as +0', () => {
  for (const type of ['adam', 'sgd'] as const) {
    const s = OPT[type];
    const c = CASES[type];
    const raw = unflushed(s, c.W, c.G, c.M, c.V, s.lr, 1);
    it(`${type}: the cases bite (the unflushed update makes subnormal W and m${type === 'adam' ? ' and v' : ''})`, () => {
      expect(raw.W.some(isSubnormal)).toBe(true);
      expect(raw.m.some(isSubnormal)).toBe(true);
      if (type === 'adam') expect(raw.v.some(isSubnormal)).toBe(true);
    });
    for (const backend of ['cpu', 'wasm'] as const) {
      it(`${type} on ${backend}: tensor-op witness and the optimiser's update kernel store flush(unflushed update)`, async () => {
        await useBackend(backend);
        const want = { W: raw.W.map(flushSubnormal), m: raw.m.map(flushSubnormal), v: raw.v.map(flushSubnormal) };
        // tensor ops
        const opt = new TensorOpOptimiser(s, [[1, c.W.length]], { step: 0, m: [[c.M]], v: type === 'adam' ? [[c.V]] : [] });
        const weights = [tf.tensor2d([c.W])];
        const grads = [tf.tensor2d([c.G])];
        opt.apply(weights, grads, s.lr);
        const state = await opt.state();
        const got = { W: weights[0].arraySync()[0], m: state.m[0][0], v: type === 'adam' ? state.v[0][0] : [] };
        opt.dispose();
        // the stacked kernel, two trials (the second with the same numbers)
        const stacked = new Optimiser(type, [[1, c.W.length]], [s, s]);
        const sw = [tf.tensor3d([[c.W], [c.W]])];
        const sg = [tf.tensor3d([[c.G], [c.G]])];
        stacked.apply(sw, sg, [s.lr, s.lr]);
        const gotStacked = (sw[0].arraySync() as number[][][]).map((t) => t[0]);
        const states = await stacked.states();
        const stackedM = states.map((st) => st.m[0][0]);
        const stackedV = type === 'adam' ? states.map((st) => st.v[0][0]) : [[], []];
        stacked.dispose();
        tf.dispose([...weights, ...grads, ...sw, ...sg]);
        for (const [name, values] of Object.entries(got)) {
          expect(values, `tensor-op ${name}`).toEqual(want[name as keyof typeof want]);
          expect(values.every((x) => !isSubnormal(x) && !Object.is(x, -0)), `tensor-op ${name}: no subnormal, no -0`).toBe(true);
        }
        expect(gotStacked).toEqual([want.W, want.W]);
        expect(stackedM).toEqual([want.m, want.m]);
        expect(stackedV).toEqual([want.v, want.v]);
        expect([...gotStacked, ...stackedM, ...stackedV].flat().every((x) => !Object.is(x, -0))).toBe(true);
      });
    }
  }
});
