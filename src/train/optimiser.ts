import * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import { runTypedKernel } from '../engine/typed-kernel.js';
import { updateKernel, type UpdateAttrs } from '../engine/update-kernel.js';
import type { OptimiserSchema } from '../model/train-config.js';
import { flushWeights } from '../numerics/flush.js';

export type OptimiserSettings = z.output<typeof OptimiserSchema>;

/** One trial's optimiser state as plain arrays, for checkpoints. */
export interface OptimiserState {
  /** Updates made so far (Adam's t). */
  step: number;
  /** Adam: first and second moments per layer; SGD: momentum buffer in `m`, `v` empty. */
  m: number[][][];
  v: number[][][];
}

/**
 * The optimiser (docs/contract.md "Optimiser"): Adam in PyTorch's formulation, or SGD with momentum, with
 * L2 weight decay added to the gradient first, for K trials at once. Weights, gradients and moments are
 * [K, inputs, outputs] per layer; every trial has its own numbers (learning rate, decay, betas, eps,
 * momentum) and its own step count for the bias corrections. One kernel call per layer updates all trials
 * (engine/update-kernel.ts); the new W, m and v are flushed to +0 where subnormal (numerics/flush.ts).
 * A plain training run is K = 1.
 *
 * Trials may leave (`keep`) and join (`add`, with zero moments or a checkpoint's state) between updates;
 * all trials of one optimiser use the same type.
 */
export class Optimiser {
  private settings: OptimiserSettings[] = [];
  private steps: number[] = [];
  private m: tf.Tensor3D[];
  private v: tf.Tensor3D[];

  constructor(
    readonly type: OptimiserSettings['type'],
    private readonly shapes: [number, number][],
    settings: OptimiserSettings[] = [],
  ) {
    this.m = shapes.map((s) => tf.zeros([0, ...s]) as tf.Tensor3D);
    this.v = type === 'adam' ? shapes.map((s) => tf.zeros([0, ...s]) as tf.Tensor3D) : [];
    this.add(settings);
  }

  get trials(): number {
    return this.settings.length;
  }

  /**
   * Append trials: with zero moments and no steps yet, or where `states[k]` is given, with that state
   * (a checkpoint's; its moments flushed as every stored moment is).
   */
  add(settings: OptimiserSettings[], states: (OptimiserState | undefined)[] = []): void {
    if (!settings.length) return;
    for (const s of settings) {
      if (s.type !== this.type) throw new Error(`a ${s.type} trial cannot join a stack of ${this.type} trials`);
    }
    const initial = (which: 'm' | 'v', l: number): tf.Tensor3D =>
      tf.tidy(() =>
        tf.stack(settings.map((_, k) => {
          const saved = states[k]?.[which][l];
          return saved ? tf.tensor2d(flushWeights([saved])[0], this.shapes[l], 'float32') : tf.zeros(this.shapes[l]);
        })) as tf.Tensor3D,
      );
    const grow = (ts: tf.Tensor3D[], which: 'm' | 'v') =>
      ts.map((t, l) => {
        const fresh = initial(which, l);
        const out = tf.concat([t, fresh], 0) as tf.Tensor3D;
        tf.dispose([t, fresh]);
        return out;
      });
    this.m = grow(this.m, 'm');
    this.v = grow(this.v, 'v');
    this.settings.push(...settings);
    this.steps.push(...settings.map((_, k) => states[k]?.step ?? 0));
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
    // Every per-trial number rounded once to float32, as a scalar operand of a float32 tensor op is
    // (1 - beta and the bias corrections 1 - beta^t computed in double first).
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

  /** The state of every trial, for checkpoints (read asynchronously: a GPU backend cannot read synchronously). */
  async states(): Promise<OptimiserState[]> {
    const [m, v] = await Promise.all([Promise.all(this.m.map((t) => t.array())), Promise.all(this.v.map((t) => t.array()))]);
    return this.steps.map((step, k) => ({ step, m: m.map((layer) => layer[k]), v: v.map((layer) => layer[k]) }));
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

/** The smooth schedule: lr * gamma^(batchIndex / batchesPerEpoch), batchIndex counted from 0. */
export function scheduledLr(settings: Pick<OptimiserSettings, 'lr' | 'gamma'>, batchIndex: number, batchesPerEpoch: number): number {
  return settings.lr * settings.gamma ** (batchIndex / batchesPerEpoch);
}
