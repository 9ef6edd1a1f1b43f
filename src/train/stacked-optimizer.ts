import * as tf from '@tensorflow/tfjs-core';
import { runTypedKernel } from '../engine/typed-kernel.js';
import { updateKernel, type UpdateAttrs } from '../engine/update-kernel.js';
import type { OptimizerSettings } from './optimizer.js';

/**
 * The optimiser of `Optimizer` (Adam or SGD with momentum, L2 weight decay added to the gradient) for
 * stacked trials: weights, gradients and moments are [K, inputs, outputs] per layer, and every trial has
 * its own numbers (learning rate, decay, betas, eps, momentum, and the bias corrections of its own step
 * count). One kernel call per layer updates all trials (engine/update-kernel.ts), each with the float32
 * operations `Optimizer` makes for it alone, so a stacked run equals separate runs bit for bit.
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
  }

  /**
   * One update of every layer of every trial, trial k with learning rate `lrs[k]`. Weights are replaced
   * by new tensors (the old ones disposed); gradients are not disposed.
   */
  apply(weights: tf.Tensor3D[], grads: tf.Tensor3D[], lrs: number[]): void {
    const K = this.trials;
    if (lrs.length !== K) throw new Error(`${lrs.length} learning rates for ${K} trials`);
    this.steps = this.steps.map((t) => t + 1);
    // Every per-trial number rounded once to float32, as Optimizer's scalar operands are (1 - beta and
    // the bias corrections 1 - beta^t computed in double first).
    const f32 = (values: number[]) => values.map(Math.fround);
    const s = this.settings;
    const attrs: UpdateAttrs = {
      type: this.type,
      weightDecay: f32(s.map((o) => o.weightDecay)),
      lr: f32(lrs),
      beta1: f32(s.map((o) => o.beta1)),
      oneMinusBeta1: f32(s.map((o) => 1 - o.beta1)),
      beta2: f32(s.map((o) => o.beta2)),
      oneMinusBeta2: f32(s.map((o) => 1 - o.beta2)),
      biasCorrection1: f32(s.map((o, k) => 1 - o.beta1 ** this.steps[k])),
      biasCorrection2: f32(s.map((o, k) => 1 - o.beta2 ** this.steps[k])),
      eps: f32(s.map((o) => o.eps)),
      momentum: f32(s.map((o) => o.momentum)),
    };
    const none = this.type === 'adam' ? null : tf.zeros([0]);
    for (let l = 0; l < weights.length; l++) {
      const [newW, newM, newV] = runTypedKernel(updateKernel, [weights[l], grads[l], this.m[l], this.v[l] ?? none!], attrs) as tf.Tensor3D[];
      weights[l].dispose();
      weights[l] = newW;
      this.m[l].dispose();
      this.m[l] = newM;
      if (this.type === 'adam') {
        this.v[l].dispose();
        this.v[l] = newV;
      } else newV.dispose();
    }
    none?.dispose();
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
