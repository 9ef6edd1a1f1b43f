import * as tf from '@tensorflow/tfjs-core';
import type { StackedNetwork } from '../engine/network.js';
import { neuronConstants } from '../model/neuron.js';
import type { TrainConfig } from '../model/train-config.js';
import { flushWeights } from '../numerics/flush.js';
import { disposePending, readOutcomes, runBatchPending, type EncodedSet, type PendingOutcome } from './batch-runner.js';
import { evaluateSets } from './evaluate.js';
import type { BatchSums, EpochEnd, Learner, LoopTrial } from './loop.js';
import { Optimiser, type OptimiserState } from './optimiser.js';
import { readsPerBatch } from './readback.js';

/** What an engine trial's checkpoint holds besides the loop's: its master weights and optimiser state. */
export interface EngineState {
  weights: number[][][];
  optimiser: OptimiserState;
}

/** A trial as the tensor engine trains it. */
export interface EngineTrial extends LoopTrial<EngineState> {
  config: TrainConfig;
  trainSet: EncodedSet;
  validationSet: EncodedSet;
  /** The master weights it starts from, and where it resumes, its optimiser state. */
  weights: number[][][];
  optimiser?: OptimiserState;
  /**
   * The weights the trial runs for its master weights in training (straight-through fake quantisation:
   * the gradient they give updates the master weights unchanged); absent: the master weights.
   */
  runAs?: (master: number[][][]) => number[][][];
  /**
   * An epoch's candidate for selection, validated as it is (the calibrated rounding of the master
   * weights); absent: the master weights, validated as the trial runs them.
   */
  candidate?: (master: number[][][]) => number[][][];
  /** Each batch's gradients per layer after the update (disposed after the call: read them synchronously). */
  onGradients?: (epoch: number, batch: number, grads: readonly tf.Tensor2D[]) => void;
}

/** Weights [K, ...] of the trials at `indices`, then `extra` stacked after them (old tensors disposed). */
function restack(weights: tf.Tensor3D[], indices: number[], extra: number[][][][]): tf.Tensor3D[] {
  return weights.map((W, l) => {
    const out = tf.tidy((): tf.Tensor3D => {
      const parts: tf.Tensor3D[] = [];
      if (indices.length) parts.push(indices.length === W.shape[0] ? W : tf.gather(W, indices, 0));
      if (extra.length) parts.push(tf.tensor3d(extra.map((w) => w[l])));
      if (!parts.length) return tf.zeros([0, W.shape[1], W.shape[2]]);
      return parts.length === 1 ? parts[0].clone() : tf.concat(parts, 0);
    });
    W.dispose();
    return out;
  });
}

/**
 * The tensor engine as the loop's learner: the trials' master weights stacked [K, inputs, outputs] per
 * layer (engine/trial-axis.ts), one forward, loss and backward pass and one optimiser update per batch
 * for all of them. Each trial keeps its own settings (learning rate and schedule, decay, betas, loss
 * settings, seed, encoding times, quantisation) and computes exactly what it computes alone. What the
 * trials of one stack share is `stackKey` (trainer.ts).
 */
export class EngineLearner implements Learner<EngineTrial, PendingOutcome> {
  private trials: EngineTrial[] = [];
  private net: StackedNetwork | null = null;
  private optimiser: Optimiser | null = null;
  /** The master weights read at the last epoch end, per trial (for checkpoints). */
  private masters: number[][][][] = [];

  join(trials: EngineTrial[]): void {
    const extra = trials.map((t) => flushWeights(t.weights));
    if (!this.net || !this.optimiser) {
      const first = trials[0].config;
      this.net = { weights: extra[0].map((_, l) => tf.tensor3d(extra.map((w) => w[l]))), constants: neuronConstants(first.neuron), losses: [] };
      this.optimiser = new Optimiser(first.optimiser.type, extra[0].map((w) => [w.length, w[0].length] as [number, number]));
    } else {
      this.net.weights = restack(this.net.weights, this.trials.map((_, k) => k), extra);
    }
    this.optimiser.add(
      trials.map((t) => t.config.optimiser),
      trials.map((t) => t.optimiser),
    );
    this.trials = [...this.trials, ...trials];
    this.net.losses = this.trials.map((t) => t.config.loss);
  }

  keep(indices: number[]): void {
    const net = this.net!;
    if (indices.length === this.trials.length) return;
    net.weights = restack(net.weights, indices, []);
    this.optimiser!.keep(indices);
    this.trials = indices.map((k) => this.trials[k]);
    net.losses = indices.map((k) => net.losses[k]);
  }

  /**
   * Run `fn` with the weights the trials run: the master weights, or where a trial runs others (fake
   * quantisation; an epoch's candidate), those (computed on the host, uploaded flushed).
   */
  private async withWeights<R>(perTrial: ((master: number[][][], k: number) => number[][][]) | null, fn: (run: StackedNetwork) => R | Promise<R>): Promise<R> {
    const net = this.net!;
    if (!perTrial) return fn(net);
    const arrays = await Promise.all(net.weights.map((w) => w.array()));
    const weights = this.trials.map((_, k) => flushWeights(perTrial(arrays.map((a) => a[k]), k)));
    const run: StackedNetwork = { ...net, weights: arrays.map((_, l) => tf.tensor3d(weights.map((w) => w[l]))) };
    try {
      return await fn(run);
    } finally {
      tf.dispose(run.weights);
    }
  }

  async runBatch(orders: Int32Array[], lrs: number[], at: { epochs: number[]; batch: number }): Promise<PendingOutcome> {
    const runAs = this.trials.some((t) => t.runAs) ? (master: number[][][], k: number) => this.trials[k].runAs?.(master) ?? master : null;
    const { grads, pending } = await this.withWeights(runAs, (run) =>
      runBatchPending(
        run,
        this.trials.map((t) => t.trainSet),
        orders,
        true,
      ),
    );
    try {
      this.optimiser!.apply(this.net!.weights, grads as tf.Tensor3D[], lrs);
      this.trials.forEach((t, k) => {
        if (!t.onGradients) return;
        const own = grads.map((g) => tf.tidy(() => tf.reshape(tf.slice(g, [k, 0, 0], [1, -1, -1]), [g.shape[1]!, g.shape[2]!]) as tf.Tensor2D));
        try {
          t.onGradients(at.epochs[k], at.batch, own);
        } finally {
          tf.dispose(own);
        }
      });
    } finally {
      tf.dispose(grads);
    }
    return pending;
  }

  async read(pending: PendingOutcome[]): Promise<BatchSums[][]> {
    return readOutcomes(pending);
  }

  discard(pending: PendingOutcome[]): void {
    disposePending(pending);
  }

  readsPerBatch(): boolean {
    return readsPerBatch();
  }

  async endEpoch(): Promise<EpochEnd[]> {
    const net = this.net!;
    const current = await Promise.all(net.weights.map((w) => w.array()));
    this.masters = this.trials.map((_, k) => current.map((w) => w[k]));
    const candidates = this.trials.map((t, k) => t.candidate?.(this.masters[k]) ?? this.masters[k]);
    const evaluated = this.trials.some((t) => t.candidate || t.runAs)
      ? (_: number[][][], k: number) => (this.trials[k].candidate ? candidates[k] : (this.trials[k].runAs?.(this.masters[k]) ?? this.masters[k]))
      : null;
    const vals = await this.withWeights(evaluated, (run) =>
      evaluateSets(
        run,
        this.trials.map((t) => t.validationSet),
        this.trials[0].config.evalBatch,
      ),
    );
    return vals.map((validation, k) => ({ validation, candidate: candidates[k] }));
  }

  async state(k: number): Promise<EngineState> {
    const states = await this.optimiser!.states();
    return { weights: this.masters[k], optimiser: states[k] };
  }

  dispose(): void {
    if (this.net) tf.dispose(this.net.weights);
    this.optimiser?.dispose();
  }
}
