import * as tf from '@tensorflow/tfjs-core';
import { flushKernel } from '../../src/engine/flush-kernel.js';
import { runTypedKernel } from '../../src/engine/typed-kernel.js';
import { flushTensor } from '../../src/engine/op-path/flush.js';
import { FLT_MIN, flushWeights } from '../../src/numerics/flush.js';

import type { OptimiserSettings, OptimiserState } from '../../src/train/optimiser.js';

/**
 * The witness the optimiser's update kernel is checked against (test only): one trial's update written
 * as plain tf ops, each rounded to float32 by the backend, in the contract's order (the optimiser the
 * trainer used before training ran as a stack of trials, kept as an independent implementation).
 *
 * Adam (PyTorch's formulation, docs/contract.md "Optimiser") or SGD with momentum, with L2 weight decay
 * added to the gradient before the update. Weights are replaced by new tensors (the old ones disposed),
 * so the caller's array of weights always holds the current ones. The new weights and moments are flushed
 * to +0 where subnormal (numerics/flush.ts), and so are moments restored from a checkpoint.
 */
export class TensorOpOptimiser {
  private m: tf.Tensor2D[];
  private v: tf.Tensor2D[];
  /** FLT_MIN and zeros per layer, kept for the flush of every update. */
  private readonly flushMin: tf.Scalar;
  private readonly flushZeros: tf.Tensor2D[];
  step = 0;

  constructor(
    readonly settings: OptimiserSettings,
    shapes: [number, number][],
    state?: OptimiserState,
  ) {
    const zeros = () => shapes.map((s) => tf.zeros(s) as tf.Tensor2D);
    const restore = (a: number[][][]) => flushWeights(a).map((x) => tf.tensor2d(x, undefined, 'float32'));
    this.m = state ? restore(state.m) : zeros();
    this.v = state && settings.type === 'adam' ? restore(state.v) : settings.type === 'adam' ? zeros() : [];
    this.step = state?.step ?? 0;
    this.flushMin = tf.scalar(FLT_MIN, 'float32');
    this.flushZeros = shapes.map((s) => tf.zeros(s) as tf.Tensor2D);
  }

  /** One update of every layer with learning rate `lr`. Gradients are not disposed. */
  apply(weights: tf.Tensor2D[], grads: tf.Tensor2D[], lr: number): void {
    const { type, weightDecay, beta1, beta2, eps, momentum } = this.settings;
    this.step += 1;
    const t = this.step;
    for (let l = 0; l < weights.length; l++) {
      const W = weights[l];
      const inPlace = tf.getBackend() === 'cpu' || tf.getBackend() === 'wasm';
      // The subnormal rule on the new W, m (and v): one typed kernel where it runs in place, else tensor ops.
      const flushAll = (ts: tf.Tensor2D[]): tf.Tensor2D[] => {
        if (!inPlace) return ts.map((x) => flushTensor(x, this.flushMin, this.flushZeros[l]));
        const out = runTypedKernel(flushKernel, [...ts, ...Array.from({ length: 3 - ts.length }, () => tf.zeros([0]))], {}) as tf.Tensor2D[];
        return out.slice(0, ts.length);
      };
      const { newW, newM, newV } = tf.tidy((): { newW: tf.Tensor2D; newM: tf.Tensor2D; newV?: tf.Tensor2D } => {
        const g = weightDecay > 0 ? tf.add(grads[l], tf.mul(W, weightDecay)) : grads[l];
        if (type === 'sgd') {
          const buf = tf.add(tf.mul(this.m[l], momentum), g) as tf.Tensor2D;
          const [newW, newM] = flushAll([tf.sub(W, tf.mul(buf, lr)) as tf.Tensor2D, buf]);
          return { newW, newM };
        }
        const m = tf.add(tf.mul(this.m[l], beta1), tf.mul(g, 1 - beta1)) as tf.Tensor2D;
        const v = tf.add(tf.mul(this.v[l], beta2), tf.mul(tf.square(g), 1 - beta2)) as tf.Tensor2D;
        const mHat = tf.div(m, 1 - beta1 ** t);
        const vHat = tf.div(v, 1 - beta2 ** t);
        const newW = tf.sub(W, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), eps)), lr)) as tf.Tensor2D;
        const [fW, fM, fV] = flushAll([newW, m, v]);
        return { newW: fW, newM: fM, newV: fV };
      });
      W.dispose();
      weights[l] = newW;
      this.m[l].dispose();
      this.m[l] = newM;
      if (newV) {
        this.v[l].dispose();
        this.v[l] = newV;
      }
    }
  }

  /** The moments for a checkpoint (read asynchronously: a GPU backend cannot read synchronously). */
  async state(): Promise<OptimiserState> {
    const read = (ts: tf.Tensor2D[]) => Promise.all(ts.map((t) => t.array()));
    return { step: this.step, m: await read(this.m), v: await read(this.v) };
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v, ...this.flushZeros, this.flushMin]) t.dispose();
  }
}
