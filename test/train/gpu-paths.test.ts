import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDatasetCsv } from '../../src/data/csv.js';
import { batchRaster } from '../../src/data/encoding.js';
import { MT19937 } from '../../src/data/mt19937.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { useBackend } from '../../src/engine/backend.js';
import { probeAdapter } from '../../src/engine/webgpu/adapter.js';
import { resolveConfig, type TrainConfig } from '../../src/model/train-config.js';
import { batchInputs, deviceRaster, releaseDeviceSet, type EncodedSet } from '../../src/train/batch-runner.js';
import { spikeCounts } from '../../src/train/evaluate.js';
import { forceReadPaths, readsPerBatch, readTogether, rastersOnDevice } from '../../src/train/readback.js';
import { train, trainStack, type EpochMetrics, type TrainProgress, type TrainResult } from '../../src/train/trainer.js';

/**
 * The paths GPU backends take (outcomes read once per epoch, input rasters formed on the device from the
 * uploaded encoded set, spike counts summed on the device), forced on cpu/wasm: the same numbers, bit for
 * bit, as the host paths; and the device ops checked on WebGPU where an adapter is available.
 */

const T = 9;
const INPUTS = 4;

/** An encoded set with spike steps in -1 .. T + 1 (-1 and >= T: no spike). */
function randomSet(seed: number, count: number): EncodedSet {
  const rng = new MT19937(seed);
  const encoded = Int32Array.from({ length: count * INPUTS }, () => rng.randint(T + 3) - 1);
  const labels = Int32Array.from({ length: count }, () => rng.randint(3));
  return { encoded, labels, count, inputs: INPUTS, steps: T };
}

async function expectDeviceRasterIsHostRaster(): Promise<void> {
  const set = randomSet(1, 30);
  const order = Int32Array.from([5, 0, 29, 7, 7, 13, 2]);
  const enc = tf.tensor2d(set.encoded, [set.count, INPUTS], 'int32');
  const orderT = tf.tensor1d(order, 'int32');
  const raster = deviceRaster(enc, T, orderT);
  expect(raster.dtype).toBe('bool');
  expect(raster.shape).toEqual([order.length, T, INPUTS]);
  expect(Array.from(await raster.data())).toEqual(Array.from(batchRaster(set.encoded, INPUTS, T, order)));
  expect(Array.from(batchRaster(set.encoded, INPUTS, T, order)).some((v) => v === 1)).toBe(true);
  tf.dispose([enc, orderT, raster]);
}

/** Per neuron spike counts of a [B, T, N] raster, counted on the host. */
function hostCounts(s: Uint8Array, trials: number, N: number): number[] {
  const perTrial = s.length / trials;
  const out = new Array<number>(trials * N).fill(0);
  for (let i = 0; i < s.length; i++) if (s[i]) out[Math.floor(i / perTrial) * N + (i % N)]++;
  return out;
}

async function expectSpikeCountsExact(): Promise<void> {
  const rng = new MT19937(3);
  const [B, N] = [48, 7]; // 3024 spikes: above the size below which WebGPU runs ops on the CPU
  const bits = Uint8Array.from({ length: B * T * N }, () => (rng.rand() < 0.3 ? 1 : 0));
  const spikes = tf.tensor3d(bits, [B, T, N], 'bool');
  for (const trials of [1, 3]) {
    const [counts] = spikeCounts({ spikes: [spikes, spikes], D: [] }, trials);
    expect(counts.dtype).toBe('float32');
    expect(Array.from(await counts.data())).toEqual(hostCounts(bits, trials, N));
    counts.dispose();
  }
  spikes.dispose();
}

describe('GPU paths forced on the host backends give the same numbers', () => {
  const dir = mkdtempSync(join(tmpdir(), 's2prop-gpu-paths-'));
  const data = { train: join(dir, 'train.csv'), validation: join(dir, 'val.csv'), test: join(dir, 'test.csv') };
  const base = { hidden: [20], epochs: 2, batch: 16, evalBatch: 32 };
  const CONFIGS: TrainConfig[] = [
    resolveConfig('twin', [base, { seed: 1 }], 'A'),
    resolveConfig('twin', [base, { seed: 2, encoding: { tMin: 0 }, optimiser: { lr: 0.003 } }], 'B (its own encoding)'),
    resolveConfig('twin', [base, { seed: 3, quant: { type: 'int8', clipPercentile: 99 } }], 'C (quantised)'),
  ];
  const withoutSeconds = (h: EpochMetrics[]) => h.map(({ trainSeconds: _t, evalSeconds: _e, ...rest }) => rest);
  const comparable = (r: TrainResult) => ({ model: r.model, history: withoutSeconds(r.history), bestEpoch: r.bestEpoch, validation: r.validation, test: r.test });

  beforeAll(async () => {
    await useBackend('wasm');
    writeDatasetCsv(data.train, yinyangDataset({ size: 100, seed: 5 }));
    writeDatasetCsv(data.validation, yinyangDataset({ size: 40, seed: 6 }));
    writeDatasetCsv(data.test, yinyangDataset({ size: 40, seed: 7 }));
  });
  afterAll(() => forceReadPaths({}));

  it('the decision: reads per batch and host rasters on cpu and wasm; a test can force either path', async () => {
    expect([readsPerBatch(), rastersOnDevice()]).toEqual([true, false]);
    forceReadPaths({ readsPerBatch: false, rastersOnDevice: true });
    expect([readsPerBatch(), rastersOnDevice()]).toEqual([false, true]);
    forceReadPaths({});
    expect([readsPerBatch(), rastersOnDevice()]).toEqual([true, false]);
  });

  it('deviceRaster = batchRaster (steps -1 and >= T give no spike; repeated samples)', async () => {
    await expectDeviceRasterIsHostRaster();
  });

  it('batchInputs on the device = on the host: one set, stacked trials sharing one set, stacked trials with their own sets', async () => {
    const [a, b] = [randomSet(4, 40), randomSet(5, 40)];
    const orders = [Int32Array.from([3, 1, 39, 0, 12]), Int32Array.from([9, 9, 2, 30, 17])];
    const before = tf.memory().numTensors;
    for (const [sets, ords] of [[[a], [orders[0]]], [[a, a], orders], [[a, b], orders]] as [EncodedSet[], Int32Array[]][]) {
      const read = async () => {
        const { input, labels, labelT } = batchInputs(sets, ords);
        const out = { input: Array.from(await input.data()), dtype: input.dtype, shape: input.shape, labels: Array.from(labels), labelT: Array.from(await labelT.data()) };
        tf.dispose([input, labelT]);
        return out;
      };
      const host = await read();
      forceReadPaths({ rastersOnDevice: true });
      const device = await read();
      forceReadPaths({});
      expect(device).toEqual(host);
      expect(host.labelT).toEqual(host.labels);
    }
    releaseDeviceSet(a, b);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('spike counts per neuron summed on the device are exact (one trial and stacked trials)', async () => {
    await expectSpikeCountsExact();
  });

  it('readTogether: float32 and int32 tensors read together, values exact', async () => {
    const f = tf.tensor2d([[0.1, -2.5], [3e-8, 7]], [2, 2], 'float32');
    const i = tf.tensor1d([0, 27, -1, 160], 'int32');
    const [fv, iv] = await readTogether([f, i]);
    expect(fv).toBeInstanceOf(Float32Array);
    expect(iv).toBeInstanceOf(Int32Array);
    expect(Array.from(fv)).toEqual(Array.from(await f.data()));
    expect(Array.from(iv)).toEqual([0, 27, -1, 160]);
    tf.dispose([f, i]);
  });

  it('train: outcomes read once per epoch and rasters on the device give the same run; batch events without running numbers', async () => {
    const config = CONFIGS[2];
    const events: TrainProgress[] = [];
    const host = await train({ config, data, backend: 'wasm', onProgress: (p) => events.push(p) });
    const hostBatch = events.find((e) => e.type === 'batch');
    expect(hostBatch).toMatchObject({ loss: expect.any(Number), accuracy: expect.any(Number) });

    const before = tf.memory().numTensors;
    forceReadPaths({ readsPerBatch: false, rastersOnDevice: true });
    const gpuEvents: TrainProgress[] = [];
    const gpu = await train({ config, data, backend: 'wasm', onProgress: (p) => gpuEvents.push(p) });
    forceReadPaths({});
    expect(tf.memory().numTensors).toBe(before);
    expect(comparable(gpu)).toEqual(comparable(host));
    const batches = gpuEvents.filter((e) => e.type === 'batch');
    expect(batches).toHaveLength(events.filter((e) => e.type === 'batch').length);
    expect(batches.every((e) => e.type === 'batch' && e.loss === undefined && e.accuracy === undefined)).toBe(true);
  });

  it('trainStack: the same results with the GPU paths (trials sharing one encoded set and one with its own)', async () => {
    const host = await trainStack({ runs: CONFIGS.map((config) => ({ config })), data, backend: 'wasm' });
    const before = tf.memory().numTensors;
    forceReadPaths({ readsPerBatch: false, rastersOnDevice: true });
    const gpu = await trainStack({ runs: CONFIGS.map((config) => ({ config })), data, backend: 'wasm' });
    forceReadPaths({});
    expect(tf.memory().numTensors).toBe(before);
    expect(gpu.map(comparable)).toEqual(host.map(comparable));
  });
});

describe('the device ops on WebGPU', () => {
  let skip: string | null = null;
  beforeAll(async () => {
    const probe = await probeAdapter();
    if (!probe.ok) skip = probe.missing;
    else {
      try {
        await useBackend('webgpu');
      } catch (e) {
        skip = (e as Error).message;
      }
    }
    if (skip) console.log(`skipping the WebGPU checks: ${skip}`);
  }, 120_000);

  // With its default flags the backend runs ops on small tensors held on the CPU with the cpu kernels;
  // WEBGPU_CPU_FORWARD false makes every op run as a WebGPU shader.
  for (const cpuForward of [true, false]) {
    it(`on webgpu (WEBGPU_CPU_FORWARD ${cpuForward}): deviceRaster = batchRaster, spike counts exact, readTogether exact`, async (ctx) => {
      if (skip) return ctx.skip();
      expect(tf.getBackend()).toBe('webgpu');
      expect([readsPerBatch(), rastersOnDevice()]).toEqual([false, true]);
      tf.env().set('WEBGPU_CPU_FORWARD', cpuForward);
      try {
        await expectDeviceRasterIsHostRaster();
        await expectSpikeCountsExact();
        const i = tf.tensor1d([0, 27, -1, 160], 'int32');
        const f = tf.tensor1d([0.1, -2.5], 'float32');
        const [iv, fv] = await readTogether([i, f]);
        expect(Array.from(iv)).toEqual([0, 27, -1, 160]);
        expect(Array.from(fv)).toEqual(Array.from(await f.data()));
        tf.dispose([i, f]);
      } finally {
        tf.env().set('WEBGPU_CPU_FORWARD', true);
      }
    }, 120_000);
  }
});
