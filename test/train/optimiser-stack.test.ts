import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { MT19937 } from '../../src/data/mt19937.js';
import { useBackend } from '../../src/engine/backend.js';
import { Optimiser, type OptimiserSettings } from '../../src/train/optimiser.js';
import { TensorOpOptimiser } from './tensor-op-optimiser.js';

/**
 * The optimiser (K stacked trials, one update kernel) against the tensor-op witness, one per trial: weights bit for bit equal after every update,
 * with per-trial learning rates, decays (one of them zero), betas and eps, and trials leaving and joining
 * part-way (a joined trial counts its own steps for Adam's bias corrections).
 */

const ADAM: OptimiserSettings = { type: 'adam', lr: 0.0019, weightDecay: 6.5e-7, gamma: 0.95, beta1: 0.9, beta2: 0.999, eps: 1e-8, momentum: 0.9 };
const SHAPES: [number, number][] = [[5, 120], [120, 3]]; // the twin network

function randomMatrix(rng: MT19937, [r, c]: [number, number], scale: number): number[][] {
  return Array.from({ length: r }, () => Array.from({ length: c }, () => Math.fround(scale * rng.gauss())));
}

interface Alone {
  settings: OptimiserSettings;
  opt: TensorOpOptimiser;
  weights: tf.Tensor2D[];
}

describe('optimiser of K trials = the tensor-op witness per trial, bit for bit', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const type of ['adam', 'sgd'] as const) {
      it(`${backend}, ${type}: 3 trials, then one leaves and two join, 8 updates`, async () => {
        await useBackend(backend);
        const rng = new MT19937(21);
        const before = tf.memory().numTensors;
        const settings: OptimiserSettings[] = [
          { ...ADAM, type },
          { ...ADAM, type, lr: 0.004, weightDecay: 0, beta1: 0.8, momentum: 0.5 },
          { ...ADAM, type, lr: 0.0007, weightDecay: 1e-3, beta2: 0.99, eps: 1e-6 },
          { ...ADAM, type, lr: 0.002, weightDecay: 1e-4 },
          { ...ADAM, type, lr: 0.003 },
        ];
        const start = (s: OptimiserSettings): Alone => ({ settings: s, opt: new TensorOpOptimiser(s, SHAPES), weights: SHAPES.map((sh) => tf.tensor2d(randomMatrix(rng, sh, 1))) });
        let alone = settings.slice(0, 3).map(start);
        const stacked = new Optimiser(type, SHAPES, settings.slice(0, 3));
        const stack = (a: Alone[]) => SHAPES.map((_, l) => tf.stack(a.map((x) => x.weights[l])) as tf.Tensor3D);
        let weights = stack(alone);
        for (let update = 0; update < 8; update++) {
          if (update === 3) {
            // trial 1 leaves; two fresh trials join (zero moments, their own step count)
            alone[1].opt.dispose();
            tf.dispose(alone[1].weights);
            alone = [alone[0], alone[2], ...settings.slice(3).map(start)];
            stacked.keep([0, 2]);
            stacked.add(settings.slice(3));
            tf.dispose(weights);
            weights = stack(alone);
          }
          const grads = alone.map(() => SHAPES.map((sh) => randomMatrix(rng, sh, 0.01)));
          const lrs = alone.map((a) => a.settings.lr * 0.95 ** (update / 4));
          alone.forEach((a, k) => {
            const g = grads[k].map((m) => tf.tensor2d(m));
            a.opt.apply(a.weights, g, lrs[k]);
            tf.dispose(g);
          });
          const g = SHAPES.map((_, l) => tf.tensor3d(grads.map((gk) => gk[l])));
          stacked.apply(weights, g, lrs);
          tf.dispose(g);
          const expected = SHAPES.map((_, l) => alone.flatMap((a) => Array.from(a.weights[l].dataSync())));
          expect(weights.map((w) => Array.from(w.dataSync())), `update ${update + 1}`).toEqual(expected);
        }
        stacked.dispose();
        tf.dispose(weights);
        for (const a of alone) {
          a.opt.dispose();
          tf.dispose(a.weights);
        }
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }
});
