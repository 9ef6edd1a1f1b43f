import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/engine/backend.js';
import { Optimiser, type OptimiserSettings } from '../../src/train/optimiser.js';

const ADAM: OptimiserSettings = { type: 'adam', lr: 0.01, weightDecay: 0.1, gamma: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, momentum: 0.9 };

/** Adam (PyTorch's formulation) by hand in float64, with L2 decay added to the gradient. */
function adamByHand(w: number, grads: number[], s: OptimiserSettings): number {
  let m = 0;
  let v = 0;
  grads.forEach((g0, i) => {
    const t = i + 1;
    const g = g0 + s.weightDecay * w;
    m = s.beta1 * m + (1 - s.beta1) * g;
    v = s.beta2 * v + (1 - s.beta2) * g * g;
    w -= (s.lr * (m / (1 - s.beta1 ** t))) / (Math.sqrt(v / (1 - s.beta2 ** t)) + s.eps);
  });
  return w;
}

/** One update of a one-trial optimiser of a 1x1 weight. */
function step(opt: Optimiser, weights: tf.Tensor3D[], g: number, lr: number): void {
  const grad = tf.tensor3d([[[g]]]);
  opt.apply(weights, [grad], [lr]);
  grad.dispose();
}

describe('optimisers', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('Adam with weight decay matches a float64 hand calculation, and resumes from its state', async () => {
    const grads = [0.5, -0.2, 0.3, 0.05];
    const weights = [tf.tensor3d([[[1.5]]])];
    const opt = new Optimiser('adam', [[1, 1]], [ADAM]);
    for (const g of grads.slice(0, 2)) step(opt, weights, g, ADAM.lr);
    // Interrupt: carry the state to a new optimiser, as a checkpoint does.
    const resumed = new Optimiser('adam', [[1, 1]]);
    resumed.add([ADAM], await opt.states());
    opt.dispose();
    for (const g of grads.slice(2)) step(resumed, weights, g, ADAM.lr);
    expect(weights[0].dataSync()[0]).toBeCloseTo(adamByHand(1.5, grads, ADAM), 6);
    expect((await resumed.states())[0].step).toBe(4);
    resumed.dispose();
    weights[0].dispose();
  });

  it('SGD with momentum: v = m v + g, W -= lr v (hand calculation)', () => {
    const s: OptimiserSettings = { ...ADAM, type: 'sgd', weightDecay: 0, momentum: 0.5 };
    const weights = [tf.tensor3d([[[1]]])];
    const opt = new Optimiser('sgd', [[1, 1]], [s]);
    step(opt, weights, 2, 0.1); // v = 2, W = 0.8
    step(opt, weights, 2, 0.1); // v = 3, W = 0.5
    expect(weights[0].dataSync()[0]).toBeCloseTo(0.5, 6);
    opt.dispose();
    weights[0].dispose();
  });
});
