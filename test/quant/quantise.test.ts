import { SettingError } from '../../src/errors.js';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { dequantise, layerFromMantissas, mantissaMax, quantiseLayer } from '../../src/quant/quantise.js';
import { MT19937 } from '../../src/data/mt19937.js';
import { useBackend } from '../../src/engine/backend.js';
import { effectiveWeights, networkFromModel, weightsToArrays } from '../../src/engine/model-network.js';
import { initModel } from '../../src/model/init.js';
import { parseModel } from '../../src/model/model-file.js';
import type { ModelFile } from '../../src/model/schema.js';
import { presetConfig } from '../../src/model/train-config.js';

/**
 * The weight quantiser (src/quant/quantise.ts) on hand-computed cases, and the engine running a model that
 * records a quantisation: exactly the dequantised weights.
 */

describe('quantiseLayer (hand calculations)', () => {
  it('int8, percentile 100: [[1, -0.5], [0.25, 3]] -> ref 3, exp = ceil(log2(3/127)) = -5, mantissas 32, -16, 8, 96, nothing clipped, exact', () => {
    const q = quantiseLayer([[1, -0.5], [0.25, 3]], 'int8', 100);
    expect(q.exp).toBe(-5);
    expect([...q.mantissas]).toEqual([32, -16, 8, 96]);
    expect([q.rows, q.cols, q.clipped, q.maxAbsError, q.rmsError]).toEqual([2, 2, 0, 0, 0]);
    expect(dequantise(q)).toEqual([[1, -0.5], [0.25, 3]]);
  });

  it('int4, percentile 100: the same weights -> exp = ceil(log2(3/7)) = -1, mantissas 2, -1, 0 (0.5 to even), 6; max error 0.25', () => {
    const q = quantiseLayer([[1, -0.5], [0.25, 3]], 'int4', 100);
    expect(q.exp).toBe(-1);
    expect([...q.mantissas]).toEqual([2, -1, 0, 6]);
    expect(q.clipped).toBe(0);
    expect(q.maxAbsError).toBe(0.25);
    expect(q.rmsError).toBe(Math.sqrt(0.25 ** 2 / 4));
    expect(dequantise(q)).toEqual([[1, -0.5], [0, 3]]);
  });

  it('int4 mantissas are -7..7: [[7, -7, 3.5]] -> exp 0, mantissas 7, -7, 4 (3.5 to even); mantissaMax int4 = 7, int8 = 127', () => {
    expect(mantissaMax('int4')).toBe(7);
    expect(mantissaMax('int8')).toBe(127);
    const q = quantiseLayer([[7, -7, 3.5]], 'int4', 100);
    expect(q.exp).toBe(0);
    expect([...q.mantissas]).toEqual([7, -7, 4]);
  });

  it('rounds half to even: w/scale = 0.5, 1.5, 2.5, -2.5, -1.5, -0.5 -> 0, 2, 2, -2, -2, 0 (int4, ref 7, scale 1)', () => {
    const q = quantiseLayer([[7, 0.5, 1.5, 2.5, -2.5, -1.5, -0.5]], 'int4', 100);
    expect(q.exp).toBe(0);
    expect([...q.mantissas]).toEqual([7, 0, 2, 2, -2, -2, 0]);
  });

  it('int8, percentile 90 of |w| = 1..9, 100 (nearest rank: the 9th smallest, 9): exp = ceil(log2(9/127)) = -3; -100 clips to -127, counted once', () => {
    const q = quantiseLayer([[1, 2, 3, 4, 5], [6, 7, 8, 9, -100]], 'int8', 90);
    expect(q.exp).toBe(-3);
    expect([...q.mantissas]).toEqual([8, 16, 24, 32, 40, 48, 56, 64, 72, -127]);
    expect(q.clipped).toBe(1);
    expect(q.maxAbsError).toBe(100 - 127 / 8);
    expect(dequantise(q)[1][4]).toBe(-15.875);
  });

  it('int4, percentile 50 of |w| = 1, 2, 3, 14 (the 2nd smallest, 2): exp = ceil(log2(2/7)) = -1, mantissas 2, 4, 6 and 28 clipped to 7', () => {
    const q = quantiseLayer([[1, 2], [3, 14]], 'int4', 50);
    expect(q.exp).toBe(-1);
    expect([...q.mantissas]).toEqual([2, 4, 6, 7]);
    expect(q.clipped).toBe(1);
  });

  it('a fixed exponent replaces the percentile rule: [[1, -0.5], [0.25, 3]] int8 at exp -2 -> mantissas 4, -2, 1 (0.25 / 0.25), 12', () => {
    const q = quantiseLayer([[1, -0.5], [0.25, 3]], 'int8', 100, -2);
    expect(q.exp).toBe(-2);
    expect([...q.mantissas]).toEqual([4, -2, 1, 12]);
    expect(q.clipped).toBe(0);
  });

  it('layerFromMantissas: [[1, -0.5], [0.25, 3]] at exp -1 with chosen mantissas 2, -1, 1, 7 (0.25 up to 0.5, 3 up to 3.5) -> max error 0.5, rms sqrt((0.25^2 + 0.5^2) / 4), nothing clipped (3 / 0.5 = 6 fits int4)', () => {
    const q = layerFromMantissas([[1, -0.5], [0.25, 3]], -1, Int32Array.from([2, -1, 1, 7]), 7);
    expect(q.clipped).toBe(0);
    expect(q.maxAbsError).toBe(0.5);
    expect(q.rmsError).toBe(Math.sqrt((0.25 ** 2 + 0.5 ** 2) / 4));
    // At exp -2 the nearest mantissa of 3 is 12 > 7: one weight clipped.
    expect(layerFromMantissas([[1, -0.5], [0.25, 3]], -2, Int32Array.from([4, -2, 1, 7]), 7).clipped).toBe(1);
  });

  it('quantised weights reproduce themselves at percentile 100: 0.5 * [3, -2, 1] (int4, exp -1, largest mantissa 3 <= 7/2) -> exp ceil(log2(1.5/7)) = -2, mantissas 6, -4, 2, the same values', () => {
    const q = quantiseLayer([[1.5, -1, 0.5]], 'int4', 100);
    expect(q.exp).toBe(-2);
    expect([...q.mantissas]).toEqual([6, -4, 2]);
    expect(dequantise(q)).toEqual([[1.5, -1, 0.5]]);
    // and with the largest mantissa above max/2 (7 * 0.5 = 3.5) the exponent is the same one, -1
    expect(quantiseLayer([[3.5, -1, 0.5]], 'int4', 100).exp).toBe(-1);
  });

  it('a percentile outside (0, 100] is an error about the setting clipPercentile (the CLI names its flag)', () => {
    expect(() => quantiseLayer([[1]], 'int8', 0)).toThrow(/^clipPercentile: expected a number in \(0, 100\], got 0$/);
    expect(() => quantiseLayer([[1]], 'int8', 100.5)).toThrow(SettingError);
  });

  it('dequantised float32 weights are exact float32 values m * 2^exp within half a step of w (random layers, seed 11)', () => {
    const seed = 11;
    const rng = new MT19937(seed);
    for (let trial = 0; trial < 20; trial++) {
      const w = Array.from({ length: 6 }, () => Array.from({ length: 9 }, () => Math.fround(3 * rng.gauss())));
      for (const type of ['int8', 'int4'] as const) {
        const q = quantiseLayer(w, type, 100);
        const d = dequantise(q);
        d.flat().forEach((v, i) => {
          expect(v, `seed ${seed} trial ${trial} ${type} entry ${i}`).toBe(Math.fround(v));
          expect(v).toBe(q.mantissas[i] * 2 ** q.exp);
          expect(Math.abs(v - w.flat()[i])).toBeLessThanOrEqual(2 ** q.exp / 2);
        });
        expect(Math.max(...[...q.mantissas].map(Math.abs))).toBeLessThanOrEqual(mantissaMax(type));
      }
    }
  });
});

describe('a model with a quantisation runs its dequantised weights', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  const config = { ...presetConfig('twin'), hidden: [12], seed: 2 };
  const float = initModel(config, 5, 3);
  const quantised: ModelFile = { ...float, quantisation: { type: 'int4', clipPercentile: 95 } };
  const byHand = float.layers.map((l) => dequantise(quantiseLayer(l.weights, 'int4', 95)));

  it('networkFromModel uploads exactly dequantise(quantiseLayer(W, int4, 95)) per layer, not W', async () => {
    const net = networkFromModel(quantised);
    const uploaded = await weightsToArrays(net.weights);
    tf.dispose(net.weights);
    expect(uploaded).toEqual(byHand);
    expect(effectiveWeights(quantised)).toEqual(byHand);
    expect(uploaded).not.toEqual(float.layers.map((l) => l.weights));
  });

  it('without a quantisation the weights are uploaded unchanged (they are float32 already)', async () => {
    const net = networkFromModel(float);
    const uploaded = await weightsToArrays(net.weights);
    tf.dispose(net.weights);
    expect(uploaded).toEqual(float.layers.map((l) => l.weights));
  });

  it('the model file accepts quantisation {type int8|int4, clipPercentile in (0, 100]} and nothing else', () => {
    const text = (q: unknown) => JSON.parse(JSON.stringify({ ...float, quantisation: q })) as unknown;
    expect(parseModel(text({ type: 'int8', clipPercentile: 100 }), 'm.json').quantisation).toEqual({ type: 'int8', clipPercentile: 100 });
    expect(() => parseModel(text({ type: 'int3', clipPercentile: 100 }), 'm.json')).toThrow(/^m\.json: quantisation\.type/);
    expect(() => parseModel(text({ type: 'int8', clipPercentile: 0 }), 'm.json')).toThrow(/^m\.json: quantisation\.clipPercentile/);
    expect(() => parseModel(text({ type: 'int8', clipPercentile: 100.5 }), 'm.json')).toThrow(/^m\.json: quantisation\.clipPercentile/);
    expect(() => parseModel(text({ type: 'int8', clipPercentile: 100, exp: -3 }), 'm.json')).toThrow(/quantisation\.exp: unknown key/);
  });
});
