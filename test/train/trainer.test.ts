import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDatasetCsv } from '../../src/data/csv.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { useBackend } from '../../src/engine/backend.js';
import { presetConfig } from '../../src/model/train-config.js';
import { epochOrder, train } from '../../src/train/trainer.js';
import { encodeSet, runBatch } from '../../src/train/batch-runner.js';
import { loadDataset } from '../../src/data/sources.js';
import { initModel } from '../../src/model/init.js';
import { networkFromModel } from '../../src/engine/model-network.js';
import { scheduledLr } from '../../src/train/optimiser.js';

describe('trainer (library)', () => {
  const dir = mkdtempSync(join(tmpdir(), 's2prop-trainer-'));
  const data = { train: join(dir, 'train.csv'), validation: join(dir, 'val.csv'), test: join(dir, 'test.csv') };
  beforeAll(async () => {
    await useBackend('wasm');
    writeDatasetCsv(data.train, yinyangDataset({ size: 120, seed: 5 }));
    writeDatasetCsv(data.validation, yinyangDataset({ size: 50, seed: 6 }));
    writeDatasetCsv(data.test, yinyangDataset({ size: 50, seed: 7 }));
  });

  it('leaves no tensors behind and learns (loss falls over epochs)', async () => {
    const config = { ...presetConfig('twin'), hidden: [30], epochs: 4, batch: 10 };
    const before = tf.memory().numTensors;
    const result = await train({ config, data, backend: 'wasm' });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.history).toHaveLength(4);
    expect(result.history[3].trainLoss).toBeLessThan(result.history[0].trainLoss);
    expect(result.model.layers.map((l) => [l.weights.length, l.weights[0].length])).toEqual([[5, 30], [30, 3]]);
  });

  it('selects the model on validation accuracy and reports test for it', async () => {
    const config = { ...presetConfig('twin'), hidden: [30], epochs: 3, batch: 10 };
    const result = await train({ config, data, backend: 'wasm' });
    const bestVal = Math.max(...result.history.map((m) => m.validationAccuracy));
    expect(result.history[result.bestEpoch - 1].validationAccuracy).toBe(bestVal);
    expect(result.validation.accuracy).toBe(bestVal);
    expect(result.model.metrics?.testAccuracy).toBe(result.test.accuracy);
  });

  it('onGradients passes each batch its gradients: batch 1 equals runBatch on the initial weights and the first samples of the epoch order', async () => {
    const config = { ...presetConfig('twin'), hidden: [30], epochs: 2, batch: 10, seed: 3 };
    const calls: [number, number][] = [];
    let first: number[][][] = [];
    const before = tf.memory().numTensors;
    await train({
      config,
      data,
      backend: 'wasm',
      onGradients: (epoch, batch, grads) => {
        calls.push([epoch, batch]);
        if (epoch === 1 && batch === 1) first = grads.map((g) => g.arraySync() as number[][]);
      },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(calls).toEqual([1, 2].flatMap((e) => Array.from({ length: 12 }, (_, b): [number, number] => [e, b + 1])));
    // Independently: the initial network, the first 10 samples of epoch 0's order, one batch with gradients.
    const set = encodeSet(loadDataset(data.train), { steps: config.steps, tMin: config.encoding.tMin, tMax: config.encoding.tMax ?? config.steps - 1, bias: true });
    const net = networkFromModel(initModel(config, set.inputs, 3));
    const { grads } = await runBatch(net, set, epochOrder(set.count, config.seed, 0).subarray(0, 10), true);
    expect(first).toEqual(grads.map((g) => g.arraySync()));
    expect(first[1].flat().some((v) => v !== 0)).toBe(true);
    tf.dispose([...grads, ...net.weights]);
  });

  it('epoch order is a seeded permutation: same seed and epoch, same order; otherwise different', () => {
    const a = epochOrder(100, 3, 2);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(epochOrder(100, 3, 2)).toEqual(a);
    expect(epochOrder(100, 3, 3)).not.toEqual(a);
    expect(epochOrder(100, 4, 2)).not.toEqual(a);
  });

  it('smooth decay gives lr * gamma after one epoch of batches (hand calculation)', () => {
    const opt = presetConfig('twin').optimiser;
    expect(scheduledLr(opt, 0, 228)).toBe(opt.lr);
    expect(scheduledLr(opt, 228, 228)).toBeCloseTo(opt.lr * 0.95, 15);
    expect(scheduledLr(opt, 114, 228)).toBeCloseTo(opt.lr * Math.sqrt(0.95), 15);
  });
});
