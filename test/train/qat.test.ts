import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDatasetCsv } from '../../src/data/csv.js';
import { loadDataset } from '../../src/data/sources.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { useBackend } from '../../src/engine/backend.js';
import { effectiveWeights, networkFromModel, weightsToArrays } from '../../src/engine/model-network.js';
import type { ModelFile } from '../../src/model/schema.js';
import { presetConfig, type TrainConfig } from '../../src/model/train-config.js';
import { encodeSet, runBatch } from '../../src/train/batch-runner.js';
import { evaluateModel } from '../../src/train/evaluate.js';
import { epochOrder, train } from '../../src/train/trainer.js';

/**
 * Quantisation-aware training through the library: fake-quantised forward and backward, float master
 * weights (straight-through), the quantisation recorded in the model, training from an init model.
 */

describe('quantisation-aware training (library)', () => {
  const dir = mkdtempSync(join(tmpdir(), 's2prop-qat-'));
  const data = { train: join(dir, 'train.csv'), validation: join(dir, 'val.csv'), test: join(dir, 'test.csv') };
  const base: TrainConfig = { ...presetConfig('twin'), hidden: [30], batch: 10 };
  let floatModel: ModelFile;
  const initPath = join(dir, 'float.json');

  beforeAll(async () => {
    await useBackend('wasm');
    writeDatasetCsv(data.train, yinyangDataset({ size: 120, seed: 5 }));
    writeDatasetCsv(data.validation, yinyangDataset({ size: 50, seed: 6 }));
    writeDatasetCsv(data.test, yinyangDataset({ size: 50, seed: 7 }));
    floatModel = (await train({ config: { ...base, epochs: 3 }, data, backend: 'wasm' })).model;
  });

  it('2 epochs of int4 QAT from a float model: the model records int4, keeps float master weights, and evaluates exactly as its dequantised weights without the key', async () => {
    const config: TrainConfig = { ...base, epochs: 2, quant: { type: 'int4', clipPercentile: 100 } };
    const before = tf.memory().numTensors;
    const result = await train({ config, data, backend: 'wasm', init: { path: initPath, model: floatModel } });
    expect(tf.memory().numTensors).toBe(before);
    const model = result.model;
    expect(model.quantisation).toEqual({ type: 'int4', clipPercentile: 100 });
    expect(model.provenance?.initModel).toBe(initPath);

    // Master weights: float values that are not on the int4 grid (not the dequantised ones).
    const master = model.layers.map((l) => l.weights);
    const deq = effectiveWeights(model);
    expect(master).not.toEqual(deq);
    expect(master).not.toEqual(floatModel.layers.map((l) => l.weights)); // and they were trained

    // The same network, written as plain float weights without a quantisation key.
    const plain: ModelFile = { ...model, layers: deq.map((w) => ({ weights: w })) };
    delete plain.quantisation;
    for (const split of [data.test, data.validation]) {
      const q = await evaluateModel(model, split, 250);
      const p = await evaluateModel(plain, split, 250);
      expect([q.accuracy, q.loss]).toEqual([p.accuracy, p.loss]);
      expect(q.firstSpikes).toEqual(p.firstSpikes);
    }
    // The metrics of the run, per epoch on validation too, are those of the quantised network.
    const t = await evaluateModel(model, data.test, 250);
    expect([t.accuracy, t.loss]).toEqual([model.metrics?.testAccuracy, model.metrics?.testLoss]);
    const v = await evaluateModel(model, data.validation, 250);
    const bestRow = result.history[result.bestEpoch - 1];
    expect([bestRow.validationAccuracy, bestRow.validationLoss]).toEqual([v.accuracy, v.loss]);
    // And the quantisation matters: the master weights run as floats give another loss.
    const { quantisation: _q, ...masterAsFloat } = model;
    expect((await evaluateModel(masterAsFloat, data.test, 250)).loss).not.toBe(t.loss);
  });

  it('straight-through: one SGD step (lr 1, no momentum or decay, one batch) gives W - dL/dW evaluated at the dequantised W (gradient by runBatch)', async () => {
    const quant = { type: 'int8', clipPercentile: 99 } as const;
    const config: TrainConfig = {
      ...base,
      epochs: 1,
      batch: 120,
      optimiser: { ...base.optimiser, type: 'sgd', lr: 1, momentum: 0, weightDecay: 0 },
      quant,
    };
    const result = await train({ config, data, backend: 'wasm', init: { path: initPath, model: floatModel } });

    // The expected update, computed independently: the gradient of the dequantised init model on the
    // whole training set in the trainer's order, subtracted from the float init weights in float32.
    const set = encodeSet(loadDataset(data.train), { steps: config.steps, ...floatModel.encoding });
    const net = networkFromModel({ ...floatModel, quantisation: quant });
    const { grads } = await runBatch(net, set, epochOrder(set.count, config.seed, 0), true);
    const g = await weightsToArrays(grads);
    tf.dispose([...grads, ...net.weights]);
    const expected = floatModel.layers.map((l, li) => l.weights.map((row, k) => row.map((w, j) => Math.fround(w - g[li][k][j]))));
    expect(result.model.layers.map((l) => l.weights)).toEqual(expected);
    expect(g.flat(2).some((x) => x !== 0)).toBe(true);
  });

  it('--init settings that disagree (hidden 50 for a 30-hidden model) are one user error naming the model file and both sizes', async () => {
    const config: TrainConfig = { ...base, hidden: [50], epochs: 1 };
    await expect(train({ config, data, backend: 'wasm', init: { path: initPath, model: floatModel } })).rejects.toThrow(
      `${initPath}: the model has hidden layers 30, the settings ask for 50`,
    );
  });
});
