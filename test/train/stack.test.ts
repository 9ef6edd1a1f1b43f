import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDatasetCsv } from '../../src/data/csv.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { useBackend } from '../../src/engine/backend.js';
import { presetConfig, resolveConfig, type TrainConfig } from '../../src/model/train-config.js';
import { stackKey, train, trainStack, type EpochMetrics, type TrainResult, type TrialRun } from '../../src/train/trainer.js';

/**
 * A stack of K training runs against `train` run once per trial (K = 1): the same models (weights of the selected epoch),
 * the same metrics every epoch (except the seconds), the same selection and validation/test evaluations,
 * bit for bit, for trials that differ in seed, learning rate, decay, betas, loss settings, initial
 * scales, encoding and quantisation, one of them stopped early and one joining part-way.
 */

const dir = mkdtempSync(join(tmpdir(), 's2prop-stacked-'));
const data = { train: join(dir, 'train.csv'), validation: join(dir, 'val.csv'), test: join(dir, 'test.csv') };

const base = { hidden: [30], epochs: 3, batch: 10, evalBatch: 20 };
const CONFIGS: TrainConfig[] = [
  resolveConfig('twin', [base, { seed: 1, optimiser: { lr: 0.002 } }], 'A'),
  resolveConfig('twin', [base, { seed: 2, optimiser: { lr: 0.004, weightDecay: 0 }, loss: { xi: 1, alpha: 0.02, tau1: 50 }, init: { hidden: { mu: 4, sigma: 3 } }, encoding: { tMin: 0 } }], 'B'),
  resolveConfig('twin', [base, { seed: 3, optimiser: { lr: 0.001, beta1: 0.8 }, quant: { type: 'int8', clipPercentile: 99 } }], 'C'),
  resolveConfig('twin', [base, { seed: 4, optimiser: { lr: 0.003 }, loss: { xi: 2 } }], 'D (joins after epoch 1)'),
];
/** Trial B stops after its first epoch (as a pruned sweep trial). */
const stopsEarly = (config: TrainConfig) => (m: EpochMetrics) => config === CONFIGS[1] && m.epoch === 1;

function withoutSeconds(history: EpochMetrics[]): EpochMetrics[] {
  return history.map(({ trainSeconds: _t, evalSeconds: _e, ...rest }) => rest);
}

function comparable(r: TrainResult) {
  return { model: r.model, history: withoutSeconds(r.history), bestEpoch: r.bestEpoch, validation: r.validation, test: r.test };
}

describe('stacked training = separate training runs, bit for bit', () => {
  beforeAll(() => {
    writeDatasetCsv(data.train, yinyangDataset({ size: 125, seed: 5 }));
    writeDatasetCsv(data.validation, yinyangDataset({ size: 50, seed: 6 }));
    writeDatasetCsv(data.test, yinyangDataset({ size: 50, seed: 7 }));
  });

  it('stack key: shape settings matter, learning rate and loss settings do not', () => {
    expect(new Set(CONFIGS.map(stackKey)).size).toBe(1);
    expect(stackKey({ ...CONFIGS[0], hidden: [31] })).not.toBe(stackKey(CONFIGS[0]));
    expect(stackKey({ ...CONFIGS[0], batch: 11 })).not.toBe(stackKey(CONFIGS[0]));
    expect(stackKey({ ...CONFIGS[0], steps: 28 })).not.toBe(stackKey(CONFIGS[0]));
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`${backend}: 3 trials (one stopped after epoch 1, one quantised), a fourth joining in its place`, async () => {
      await useBackend(backend);
      const before = tf.memory().numTensors;
      const separate = [];
      for (const config of CONFIGS) separate.push(await train({ config, data, backend, afterEpoch: stopsEarly(config) }));
      expect(separate[1].history).toHaveLength(1);

      const ended: TrainConfig[] = [];
      const frees: number[] = [];
      const trial = (config: TrainConfig): TrialRun => ({ config, afterEpoch: stopsEarly(config) });
      const stacked = await trainStack({
        runs: CONFIGS.slice(0, 3).map(trial),
        data,
        backend,
        refill: (free) => (frees.push(free) === 1 ? [trial(CONFIGS[3])] : []),
        onResult: (t) => void ended.push(t.config),
      });
      expect(tf.memory().numTensors).toBe(before);
      expect(frees).toEqual([1, 2, 3]); // after B stopped (epoch 1), A and C ended (3), D ended (4)
      expect(ended.map((c) => CONFIGS.indexOf(c))).toEqual([1, 0, 2, 3]);
      expect(stacked.map(comparable)).toEqual(separate.map(comparable));
    });
  }
});
