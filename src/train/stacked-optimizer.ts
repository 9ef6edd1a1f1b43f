import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerSettings } from './optimizer.js';

/**
 * The optimiser of `Optimizer` (Adam or SGD with momentum, L2 weight decay added to the gradient) for
 * stacked trials: weights, gradients and moments are [K, inputs, outputs] per layer, and every per-trial
 * number (learning rate, decay, betas, eps, momentum, the bias corrections of its own step count) is a
 * [K, 1, 1] tensor broadcast over that trial's weights. Each trial's update is, operation by operation,
 * the float32 update `Optimizer` makes for it alone, so a stacked run equals separate runs bit for bit.
 *
 * Trials may leave (`keep`) and join with fresh moments (`add`) between updates; all trials of one
 * stack use the same optimiser type.
 */
export class StackedOptimizer {
  private settings: OptimizerSettings[] = [];
  /** Updates made so far, per trial (Adam's t). */
  private steps: number[] = [];
  private m: tf.Tensor3D[];
  private v: tf.Tensor3D[];
  /** Per-trial constants as [K, 1, 1] tensors, rebuilt when the trials change. */
  private constants: Record<string, tf.Tensor3D> = {};

  constructor(
    readonly type: OptimizerSettings['type'],
    private readonly shapes: [number, number][],
    settings: OptimizerSettings[] = [],
  ) {
    this.m = shapes.map((s) => tf.zeros([0, ...s]) as tf.Tensor3D);
    this.v = type === 'adam' ? shapes.map((s) => tf.zeros([0, ...s]) as tf.Tensor3D) : [];
    this.add(settings);
  }

  get trials(): number {
    return this.settings.length;
  }

  /** Append trials with zero moments and no steps yet. */
  add(settings: OptimizerSettings[]): void {
    if (!settings.length) return;
    for (const s of settings) {
      if (s.type !== this.type) throw new Error(`a ${s.type} trial cannot join a stack of ${this.type} trials`);
    }
    const grow = (ts: tf.Tensor3D[]) =>
      ts.map((t, l) => {
        const out = tf.tidy(() => tf.concat([t, tf.zeros([settings.length, ...this.shapes[l]])], 0) as tf.Tensor3D);
        t.dispose();
        return out;
      });
    this.m = grow(this.m);
    this.v = grow(this.v);
    this.settings.push(...settings);
    this.steps.push(...settings.map(() => 0));
    this.rebuildConstants();
  }

  /** Keep only the trials at `indices` (ascending), in that order. */
  keep(indices: number[]): void {
    const pick = (ts: tf.Tensor3D[]) =>
      ts.map((t) => {
        const out = tf.tidy(() => (indices.length ? tf.gather(t, indices, 0) : tf.zeros([0, t.shape[1], t.shape[2]])) as tf.Tensor3D);
        t.dispose();
        return out;
      });
    this.m = pick(this.m);
    this.v = pick(this.v);
    this.settings = indices.map((i) => this.settings[i]);
    this.steps = indices.map((i) => this.steps[i]);
    this.rebuildConstants();
  }

  private perTrial(values: number[]): tf.Tensor3D {
    return tf.tensor3d(Float32Array.from(values), [values.length, 1, 1]);
  }

  private rebuildConstants(): void {
    tf.dispose(Object.values(this.constants));
    const s = this.settings;
    this.constants = {
      weightDecay: this.perTrial(s.map((o) => o.weightDecay)),
      beta1: this.perTrial(s.map((o) => o.beta1)),
      oneMinusBeta1: this.perTrial(s.map((o) => 1 - o.beta1)),
      beta2: this.perTrial(s.map((o) => o.beta2)),
      oneMinusBeta2: this.perTrial(s.map((o) => 1 - o.beta2)),
      eps: this.perTrial(s.map((o) => o.eps)),
      momentum: this.perTrial(s.map((o) => o.momentum)),
    };
  }

  /**
   * One update of every layer of every trial, trial k with learning rate `lrs[k]`. Weights are replaced
   * by new tensors (the old ones disposed); gradients are not disposed.
   */
  apply(weights: tf.Tensor3D[], grads: tf.Tensor3D[], lrs: number[]): void {
    const K = this.trials;
    if (lrs.length !== K) throw new Error(`${lrs.length} learning rates for ${K} trials`);
    this.steps = this.steps.map((t) => t + 1);
    const c = this.constants;
    const anyDecay = this.settings.some((o) => o.weightDecay > 0);
    const lr = this.perTrial(lrs);
    // Adam's bias corrections, each 1 - beta^t computed in double and rounded once, as Optimizer does.
    const bc1 = this.type === 'adam' ? this.perTrial(this.settings.map((o, k) => 1 - o.beta1 ** this.steps[k])) : null;
    const bc2 = this.type === 'adam' ? this.perTrial(this.settings.map((o, k) => 1 - o.beta2 ** this.steps[k])) : null;
    for (let l = 0; l < weights.length; l++) {
      const W = weights[l];
      const { newW, newM, newV } = tf.tidy((): { newW: tf.Tensor3D; newM: tf.Tensor3D; newV?: tf.Tensor3D } => {
        // A trial without decay adds W * 0 = ±0, which leaves every gradient value unchanged.
        const g = anyDecay ? tf.add(grads[l], tf.mul(W, c.weightDecay)) : grads[l];
        if (this.type === 'sgd') {
          const buf = tf.add(tf.mul(this.m[l], c.momentum), g) as tf.Tensor3D;
          return { newW: tf.sub(W, tf.mul(buf, lr)) as tf.Tensor3D, newM: buf };
        }
        const m = tf.add(tf.mul(this.m[l], c.beta1), tf.mul(g, c.oneMinusBeta1)) as tf.Tensor3D;
        const v = tf.add(tf.mul(this.v[l], c.beta2), tf.mul(tf.square(g), c.oneMinusBeta2)) as tf.Tensor3D;
        const mHat = tf.div(m, bc1!);
        const vHat = tf.div(v, bc2!);
        return { newW: tf.sub(W, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), c.eps)), lr)) as tf.Tensor3D, newM: m, newV: v };
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
    tf.dispose([lr, ...(bc1 ? [bc1, bc2!] : [])]);
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v, ...Object.values(this.constants)]);
  }
}
