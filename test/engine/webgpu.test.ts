import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchRaster } from '../../src/data/encoding.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { backendNote, useBackend } from '../../src/engine/backend.js';
import { disposeTrace, forward, gradients, stackedTtfsLoss, ttfsLoss, type EngineNetwork } from '../../src/engine/network.js';
import { lifForwardKernel } from '../../src/engine/lif-forward-kernel.js';
import { silentLabelNudgeKernel } from '../../src/engine/silent-label-nudge-kernel.js';
import { runTypedKernel } from '../../src/engine/typed-kernel.js';
import { updateKernel, type UpdateAttrs } from '../../src/engine/update-kernel.js';
import { adapterName, probeAdapter } from '../../src/engine/webgpu/adapter.js';
import { limitBindingForTests } from '../../src/engine/webgpu/gpu-program.js';
import { initModel } from '../../src/model/init.js';
import { neuronConstants } from '../../src/model/neuron.js';
import { presetConfig } from '../../src/model/train-config.js';
import type { TrainConfig } from '../../src/model/train-config.js';
import { CANONICAL_DATA } from '../../src/data/sources.js';
import { encodeSet } from '../../src/train/batch-runner.js';
import { train, trainStack } from '../../src/train/trainer.js';

/**
 * The WGSL kernels against the typed kernels (the reference loops, on the cpu backend): forward spikes
 * and D bit for bit, loss, gradients and optimiser updates to float32 rounding. They run on whatever
 * adapter the machine has; CI installs Mesa's lavapipe so that they always run there.
 */
const probe = await probeAdapter();
const reason = probe.ok ? null : probe.missing;
if (reason && process.env.CI) throw new Error(`CI must run the webgpu tests, but: ${reason}`);
if (reason) console.warn(`webgpu tests skipped: ${reason}`);

/** Deterministic uniform numbers in [0, 1). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Case {
  sizes: number[];
  steps: number;
  raster: Uint8Array;
  weights: Float32Array[];
  labels: Int32Array;
  batch: number;
}

/** A random network that spikes in every layer, and a random input raster. */
function randomCase(seed: number, sizes: number[], steps: number, batch: number, density: number): Case {
  const r = uniform(seed);
  const raster = Uint8Array.from({ length: batch * steps * sizes[0] }, () => (r() < density ? 1 : 0));
  const weights = sizes.slice(1).map((n, l) => Float32Array.from({ length: sizes[l] * n }, () => ((r() - 0.3) * 8) / Math.sqrt(sizes[l])));
  const labels = Int32Array.from({ length: batch }, () => Math.floor(r() * sizes[sizes.length - 1]));
  return { sizes, steps, raster, weights, labels, batch };
}

const CONSTANTS = neuronConstants({ dtMs: 1, tauMemMs: 20, tauSynMs: 5, threshold: 1 });
const LOSS = { xi: 1.5, alpha: 0.01, tau1: 100, nudge: 0.2 }; // the silent-label nudge too

interface Pass {
  spikes: Uint8Array[];
  D: Float32Array[];
  first: Int32Array;
  terms: Float32Array;
  errors: Float32Array;
  grads: Float32Array[];
}

/** Forward, loss and backward of `c` on `backend`; `trials` > 1 runs it as K stacked copies of itself. */
async function pass(backend: string, c: Case, trials = 1): Promise<Pass> {
  await useBackend(backend as 'cpu');
  const { sizes, steps, batch } = c;
  const stacked = trials > 1;
  const weights = c.weights.map((w, l) =>
    stacked ? tf.tensor3d(new Float32Array(trials * w.length).map((_, i) => w[i % w.length]), [trials, sizes[l], sizes[l + 1]]) : tf.tensor2d(w, [sizes[l], sizes[l + 1]]),
  );
  const raster = new Uint8Array(trials * c.raster.length).map((_, i) => c.raster[i % c.raster.length]);
  const labels = new Int32Array(trials * batch).map((_, i) => c.labels[i % batch]);
  const input = tf.tensor3d(raster, [trials * batch, steps, sizes[0]], 'bool');
  const labelT = tf.tensor1d(labels, 'int32');
  const trace = forward({ weights, constants: CONSTANTS }, input);
  const out = trace.spikes[trace.spikes.length - 1];
  const net = stacked ? { weights: weights as tf.Tensor3D[], constants: CONSTANTS, losses: Array(trials).fill(LOSS) } : ({ weights, constants: CONSTANTS, loss: LOSS } as EngineNetwork);
  const loss = 'losses' in net ? stackedTtfsLoss(net, out, labelT) : ttfsLoss(net, out, labelT);
  const grads = gradients<tf.Tensor>(net, trace, loss, labelT);
  const result: Pass = {
    spikes: (await Promise.all(trace.spikes.slice(1).map((s) => s.data()))) as Uint8Array[],
    D: (await Promise.all(trace.D.map((d) => d.data()))) as Float32Array[],
    first: (await loss.firstSpikes.data()) as Int32Array,
    terms: (await loss.terms.data()) as Float32Array,
    errors: (await loss.errors.data()) as Float32Array,
    grads: (await Promise.all(grads.map((g) => g.data()))) as Float32Array[],
  };
  disposeTrace(trace);
  tf.dispose([input, labelT, loss.firstSpikes, loss.terms, loss.errors, ...grads, ...weights]);
  return result;
}

/** max |a - b| / max |a|: the difference relative to the tensor's scale. */
function relative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

function count(s: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s[i]) n++;
  return n;
}

/** Positions where two arrays differ (a plain loop: vitest's deep equality is slow on big arrays). */
function mismatches(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

describe.skipIf(reason !== null)('webgpu kernels', () => {
  afterAll(async () => {
    await useBackend('cpu');
  });

  const cases: [string, Case][] = [
    ['3 layers, T 40', randomCase(1, [30, 50, 20, 4], 40, 8, 0.08)],
    ['2 layers, T 60, wide input', randomCase(2, [120, 70, 3], 60, 5, 0.03)],
    ['one layer, T 8', randomCase(3, [7, 9], 8, 3, 0.4)],
    ['a silent label neuron (the nudge at work), T 30', silentLabelCase()],
  ];

  /** Output neuron 0 never fires and every third sample is its class: only the nudge moves its weights. */
  function silentLabelCase(): Case {
    const c = randomCase(4, [20, 40, 3], 30, 9, 0.1);
    for (let k = 0; k < 40; k++) c.weights[1][k * 3] = -1;
    c.labels = Int32Array.from({ length: c.batch }, (_, b) => b % 3);
    return c;
  }

  it('the silent-label case gives the nudge work to do', async () => {
    const ref = await pass('cpu', silentLabelCase());
    expect(count(ref.grads[1].filter((_, i) => i % 3 === 0))).toBeGreaterThan(5);
  });

  for (const [name, c] of cases) {
    it(`${name}: forward bit for bit, loss and gradients to float32 rounding`, async () => {
      const ref = await pass('cpu', c);
      const gpu = await pass('webgpu', c);
      for (let l = 0; l < ref.spikes.length; l++) {
        expect(count(ref.spikes[l])).toBeGreaterThan(0);
        expect(mismatches(gpu.spikes[l], ref.spikes[l])).toBe(0);
        expect(mismatches(gpu.D[l], ref.D[l])).toBe(0);
        expect(relative(ref.grads[l], gpu.grads[l])).toBeLessThan(1e-5);
      }
      expect(mismatches(gpu.first, ref.first)).toBe(0);
      expect(relative(ref.terms, gpu.terms)).toBeLessThan(1e-6);
      expect(relative(ref.errors, gpu.errors)).toBeLessThan(1e-6);
      expect(ref.grads.some((g) => count(g) > 0)).toBe(true);
    });
  }

  it('the subnormal rule: states that decay below 2^-126 are zero, as in the typed kernels', async () => {
    // A neuron whose I starts subnormal-small and decays, a subnormal threshold, then a large input:
    // with the rule the neuron stays silent until step 41 (numerics/flush.ts).
    const T = 60;
    const attrs = { alpha: CONSTANTS.alpha, beta: CONSTANTS.beta, oneMinusBeta: CONSTANTS.oneMinusBeta, threshold: Math.fround(2 ** -140) };
    const sIn = new Uint8Array(T * 3);
    [0, 20, 40].forEach((i, k) => (sIn[i * 3 + k] = 1));
    const W = Float32Array.from([3e-38, -2e-38, 1]);
    const run = async (backend: string) => {
      await useBackend(backend as 'cpu');
      const inputs = [tf.tensor3d(sIn, [1, T, 3], 'bool'), tf.tensor2d(W, [3, 1])];
      const outs = runTypedKernel(lifForwardKernel, inputs, attrs);
      const data = await Promise.all(outs.map((o) => o.data()));
      tf.dispose([...inputs, ...outs]);
      return data;
    };
    const [refS, refD] = await run('cpu');
    const [gpuS, gpuD] = await run('webgpu');
    expect(Array.from(refS).indexOf(1)).toBe(41);
    expect(mismatches(gpuS, refS)).toBe(0);
    expect(mismatches(gpuD, refD)).toBe(0);
  });

  it('the silent-label nudge shader gives the typed kernel\'s bits, whole and a slice of samples at a time', async () => {
    const r = uniform(12);
    const [K, B, T, H, N] = [3, 6, 30, 40, 3];
    const spikes = Uint8Array.from({ length: K * B * T * H }, () => (r() < 0.1 ? 1 : 0));
    const first = Int32Array.from({ length: K * B * N }, () => T - 3 + Math.floor(r() * 4)); // some at T-1 or silent
    const labels = Int32Array.from({ length: K * B }, () => Math.floor(r() * N));
    const attrs = { nudges: [0.3, 0.01, 0.7], batchSize: B };
    const run = async (backend: string) => {
      await useBackend(backend as 'cpu');
      const inputs = [tf.tensor3d(spikes, [K * B, T, H], 'bool'), tf.tensor2d(first, [K * B, N], 'int32'), tf.tensor1d(labels, 'int32')];
      const [out] = runTypedKernel(silentLabelNudgeKernel, inputs, attrs);
      const data = await out.data();
      tf.dispose([...inputs, out]);
      return data;
    };
    const ref = await run('cpu');
    expect(count(ref)).toBeGreaterThan(H);
    expect(mismatches(await run('webgpu'), ref)).toBe(0);
    limitBindingForTests(4 * T * H * 4); // 4 samples of spikes per slice (aligned): trials of 6 straddle slices
    try {
      expect(mismatches(await run('webgpu'), ref)).toBe(0);
    } finally {
      limitBindingForTests(null);
    }
  });

  it('tensors larger than the adapter binds at once run a slice of samples at a time, with the same bits', async () => {
    // Strides chosen so that slices stay aligned: [12, 32, 64] spikes take 8 KiB per sample; with at
    // most 56 KiB bound at once, the first layer runs in slices of 6 (forward) or 7 samples (gradient),
    // and its gradient's chunk of samples 6-7 straddles two slices (the sum carried over).
    const c = randomCase(4, [32, 64, 16], 32, 12, 0.06);
    const whole = await pass('webgpu', c);
    limitBindingForTests(56 * 1024);
    let sliced: Pass;
    try {
      sliced = await pass('webgpu', c);
    } finally {
      limitBindingForTests(null);
    }
    for (let l = 0; l < whole.spikes.length; l++) {
      expect(count(whole.spikes[l])).toBeGreaterThan(0);
      expect(mismatches(sliced.spikes[l], whole.spikes[l])).toBe(0);
      expect(mismatches(sliced.D[l], whole.D[l])).toBe(0);
      expect(mismatches(sliced.grads[l], whole.grads[l])).toBe(0);
    }
    expect(mismatches(sliced.errors, whole.errors)).toBe(0);
    limitBindingForTests(4 * 1024);
    try {
      await expect(pass('webgpu', c)).rejects.toThrow(/^webgpu: (one sample|\d+ aligned samples) of a \[12, 32, \d+\] tensor of the s2prop-\S+ kernel takes [\d.]+ MiB, more than this adapter binds at once \(maxStorageBufferBindingSize 0\.0 MiB\): use a smaller batch/);
    } finally {
      limitBindingForTests(null);
    }
  });

  it('stacked trials equal the unstacked run bit for bit (spikes, loss, gradients)', async () => {
    const c = cases[0][1];
    const one = await pass('webgpu', c);
    const K = 3;
    const three = await pass('webgpu', c, K);
    const B = one.first.length;
    for (let k = 0; k < K; k++) {
      expect(mismatches(three.terms.subarray(k * one.terms.length, (k + 1) * one.terms.length), one.terms)).toBe(0);
      expect(mismatches(three.first.subarray(k * B, (k + 1) * B), one.first)).toBe(0);
    }
    for (let l = 0; l < one.spikes.length; l++) {
      const n = one.spikes[l].length;
      for (let k = 0; k < K; k++) {
        expect(mismatches(three.spikes[l].subarray(k * n, (k + 1) * n), one.spikes[l])).toBe(0);
        const g = one.grads[l].length;
        expect(mismatches(three.grads[l].subarray(k * g, (k + 1) * g), one.grads[l])).toBe(0);
      }
    }
  });

  it('the stacked optimiser update (Adam and SGD, per-trial numbers) agrees with the typed kernel', async () => {
    const r = uniform(9);
    const shape = [3, 17, 11];
    const size = 3 * 17 * 11;
    const rand = (scale: number) => Float32Array.from({ length: size }, () => (r() - 0.5) * scale);
    const [W, G, m] = [rand(2), rand(0.1), rand(0.01)];
    const v = Float32Array.from({ length: size }, () => r() * 1e-4);
    const f32 = (xs: number[]) => xs.map(Math.fround);
    for (const type of ['adam', 'sgd'] as const) {
      const attrs: UpdateAttrs = {
        type,
        weightDecay: f32([0, 6.5e-7, 1e-3]),
        lr: f32([0.0019, 0.005, 0.01]),
        beta1: f32([0.9, 0.9, 0.8]),
        oneMinusBeta1: f32([0.1, 0.1, 0.2]),
        beta2: f32([0.999, 0.999, 0.99]),
        oneMinusBeta2: f32([1 - 0.999, 1 - 0.999, 1 - 0.99]),
        biasCorrection1: f32([1 - 0.9, 1 - 0.9 ** 5, 1 - 0.8 ** 2]),
        biasCorrection2: f32([1 - 0.999, 1 - 0.999 ** 5, 1 - 0.99 ** 2]),
        eps: f32([1e-8, 1e-8, 1e-6]),
        momentum: f32([0, 0.9, 0.5]),
      };
      const run = async (backend: string) => {
        await useBackend(backend as 'cpu');
        const inputs = [tf.tensor3d(W, shape as [number, number, number]), tf.tensor3d(G, shape as [number, number, number]), tf.tensor3d(m, shape as [number, number, number]), type === 'adam' ? tf.tensor3d(v, shape as [number, number, number]) : tf.zeros([0])];
        const outs = runTypedKernel(updateKernel, inputs, attrs);
        const data = await Promise.all(outs.map((o) => o.data()));
        tf.dispose([...inputs, ...outs]);
        return data as Float32Array[];
      };
      const ref = await run('cpu');
      const gpu = await run('webgpu');
      for (let o = 0; o < (type === 'adam' ? 3 : 2); o++) {
        // The weights move by about lr; compare the steps taken, not the weights (|W| >> step).
        const step = (x: Float32Array) => (o === 0 ? x.map((w, i) => w - W[i]) : x);
        expect(relative(step(ref[o]), step(gpu[o]))).toBeLessThan(1e-5);
      }
    }
  });
});

describe.skipIf(reason !== null)('webgpu backend selection', () => {
  it('auto takes webgpu only on a hardware adapter, and says which adapter it saw', async () => {
    const info = probe.ok ? probe.info : null;
    const name = await useBackend('auto');
    expect(name).toBe(info!.software ? 'wasm' : 'webgpu');
    expect(backendNote()).toContain(adapterName(info!));
    if (info!.software) expect(backendNote()).toContain('slower than wasm');
    await useBackend('cpu');
  });
});

describe.skipIf(reason !== null)('webgpu forward on the canonical Yin-Yang test split', () => {
  const test = yinyangDataset('test');
  const threeLayer: TrainConfig = { ...presetConfig('twin'), hidden: [120, 60] };
  const configs: [string, TrainConfig][] = [
    ['twin', presetConfig('twin')],
    ['exact', presetConfig('exact')],
    ['3-layer twin', threeLayer],
  ];
  let backendBefore = 'cpu';
  beforeAll(() => {
    backendBefore = tf.getBackend();
  });
  afterAll(async () => {
    await useBackend(backendBefore as 'cpu');
  });

  for (const [name, config] of configs) {
    it(`${name}: every spike of every layer equals the wasm engine's on all ${test.count} samples`, async () => {
      const enc = { steps: config.steps, tMin: config.encoding.tMin, tMax: config.encoding.tMax ?? config.steps - 1, bias: config.encoding.bias };
      const set = encodeSet(test, enc);
      const model = initModel(config, set.inputs, 3);
      const constants = neuronConstants(model.neuron);
      const run = async (backend: string) => {
        await useBackend(backend as 'cpu');
        const weights = model.layers.map((l) => tf.tensor2d(l.weights, undefined, 'float32'));
        const spikes: Uint8Array[][] = [];
        for (let start = 0; start < set.count; start += 250) {
          const order = Int32Array.from({ length: Math.min(250, set.count - start) }, (_, i) => start + i);
          const input = tf.tensor3d(batchRaster(set.encoded, set.inputs, set.steps, order), [order.length, set.steps, set.inputs], 'bool');
          const trace = forward({ weights, constants }, input);
          spikes.push((await Promise.all(trace.spikes.slice(1).map((s) => s.data()))) as Uint8Array[]);
          disposeTrace(trace);
          input.dispose();
        }
        tf.dispose(weights);
        return spikes;
      };
      const wasm = await run('wasm');
      const gpu = await run('webgpu');
      for (let batch = 0; batch < wasm.length; batch++) {
        for (let l = 0; l < wasm[batch].length; l++) {
          expect(count(wasm[batch][l])).toBeGreaterThan(0);
          expect(mismatches(gpu[batch][l], wasm[batch][l])).toBe(0);
        }
      }
    }, 120_000);
  }
});

describe.skipIf(reason !== null)('training on webgpu', () => {
  it('a 3-epoch twin run with the same seed ends within 0.5 points of the wasm run', async () => {
    const config = { ...presetConfig('twin'), epochs: 3 };
    const run = async (backend: string) => {
      await useBackend(backend as 'wasm');
      return train({ config, data: CANONICAL_DATA, backend });
    };
    const wasm = await run('wasm');
    const gpu = await run('webgpu');
    await useBackend('cpu');
    console.log(`3 epochs: test accuracy wasm ${wasm.test.accuracy}, webgpu ${gpu.test.accuracy}`);
    expect(wasm.test.accuracy).toBeGreaterThan(0.6);
    expect(Math.abs(gpu.test.accuracy - wasm.test.accuracy)).toBeLessThanOrEqual(0.005);
    expect(gpu.history).toHaveLength(3);
  }, 300_000);

  it('stacked trials (a sweep worker with --stack) train on webgpu as on wasm', async () => {
    const base = { ...presetConfig('twin'), epochs: 2 };
    const runs = [0.002, 0.0035].map((lr) => ({ config: { ...base, optimiser: { ...base.optimiser, lr } } }));
    const run = async (backend: string) => {
      await useBackend(backend as 'wasm');
      return trainStack({ runs, data: CANONICAL_DATA, backend });
    };
    const wasm = await run('wasm');
    const gpu = await run('webgpu');
    await useBackend('cpu');
    for (let k = 0; k < runs.length; k++) {
      expect(wasm[k].validation.accuracy).toBeGreaterThan(0.6);
      expect(Math.abs(gpu[k].validation.accuracy - wasm[k].validation.accuracy)).toBeLessThanOrEqual(0.005);
    }
  }, 300_000);
});
