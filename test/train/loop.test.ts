import { describe, expect, it } from 'vitest';
import { epochOrder } from '../../src/data/epoch-order.js';
import { improves, runTrials, type BatchSums, type EpochEnd, type Learner, type LoopTrial, type Validation } from '../../src/train/loop.js';

/**
 * The training loop against a scripted learner: what it asks the learner (orders, learning rates), what
 * it selects, when trials stop, and what their checkpoints hold, checked against hand-computed values.
 */

/** A learner whose validation accuracies per trial and epoch are given; it records what the loop asked. */
class Scripted implements Learner<LoopTrial<string>, BatchSums[]> {
  trials: LoopTrial<string>[] = [];
  /** Per trial in the stack at the call: [epoch, batch, orders, lr]. */
  calls: { epoch: number; batch: number; orders: number[][]; lrs: number[] }[] = [];
  private ends = new Map<LoopTrial<string>, number>();

  constructor(private readonly script: (trial: LoopTrial<string>, end: number) => Validation | null) {}

  join(trials: LoopTrial<string>[]): void {
    this.trials.push(...trials);
    for (const t of trials) this.ends.set(t, 0);
  }

  keep(indices: number[]): void {
    this.trials = indices.map((k) => this.trials[k]);
  }

  runBatch(orders: Int32Array[], lrs: number[], at: { epochs: number[]; batch: number }): BatchSums[] {
    this.calls.push({ epoch: at.epochs[0], batch: at.batch, orders: orders.map((o) => [...o]), lrs });
    // Every sample counts CE 1 and R 0.5; even sample indices are classified correctly.
    return orders.map((o) => ({ ceSum: o.length, rSum: 0.5 * o.length, correct: [...o].filter((i) => i % 2 === 0).length }));
  }

  async read(pending: BatchSums[][]): Promise<BatchSums[][]> {
    return pending;
  }

  readsPerBatch(): boolean {
    return false;
  }

  async endEpoch(): Promise<EpochEnd[]> {
    return this.trials.map((t) => {
      const end = this.ends.get(t)!;
      this.ends.set(t, end + 1);
      return { validation: this.script(t, end), candidate: [[[end]]], columns: { marker: end } };
    });
  }

  async state(k: number): Promise<string> {
    return `state of trial ${this.trials[k].seed}`;
  }
}

const trial = (over: Partial<LoopTrial<string>> = {}): LoopTrial<string> => ({ seed: 1, batch: 4, epochs: 3, schedule: { lr: 0.01, gamma: 0.5 }, count: 10, ...over });

describe('the selection rule', () => {
  const best = { epoch: 2, accuracy: 0.9, loss: 0.3, weights: [] };
  it('higher accuracy wins; equal accuracy needs a lower loss; a missing loss keeps the earlier epoch; no validation keeps the latest', () => {
    expect(improves({ accuracy: 0.91, loss: 9 }, best)).toBe(true);
    expect(improves({ accuracy: 0.9, loss: 0.29 }, best)).toBe(true);
    expect(improves({ accuracy: 0.9, loss: 0.3 }, best)).toBe(false);
    expect(improves({ accuracy: 0.9 }, best)).toBe(false);
    expect(improves({ accuracy: 0.89, loss: 0 }, best)).toBe(false);
    expect(improves(null, best)).toBe(true);
    expect(improves({ accuracy: 0 }, null)).toBe(true);
  });
});

describe('the training loop', () => {
  it('orders, learning rates and metrics of one trial (hand values); the best epoch is selected', async () => {
    const learner = new Scripted((_, e) => ({ accuracy: [0.5, 0.8, 0.7][e], loss: 1 }));
    const [r] = await runTrials(learner, [trial()]);
    // 10 samples in batches of 4: 3 batches (4, 4, 2) per epoch; lr = 0.01 * 0.5^(i / 3), i counted over epochs
    expect(learner.calls.map((c) => c.lrs[0])).toEqual(Array.from({ length: 9 }, (_, i) => 0.01 * 0.5 ** (i / 3)));
    for (let e = 0; e < 3; e++) {
      const order = [...epochOrder(10, 1, e)];
      expect(learner.calls.slice(3 * e, 3 * e + 3).map((c) => c.orders[0])).toEqual([order.slice(0, 4), order.slice(4, 8), order.slice(8)]);
    }
    expect(r.best.epoch).toBe(2);
    expect(r.best.weights).toEqual([[[1]]]);
    const m = r.history[0];
    expect(m.epoch).toBe(1);
    expect(m.lr).toBe(0.01 * 0.5 ** (2 / 3));
    expect(m.trainLoss).toBe(1.5);
    expect(m.trainAccuracy).toBe(0.5); // samples 0, 2, 4, 6, 8 of 10
    expect(m.validationAccuracy).toBe(0.5);
    expect(m.marker).toBe(0);
  });

  it('samples per epoch: the first of the epoch order only', async () => {
    const learner = new Scripted(() => null);
    await runTrials(learner, [trial({ samples: 5, epochs: 1 })]);
    const order = [...epochOrder(10, 1, 0)];
    expect(learner.calls.map((c) => c.orders[0])).toEqual([order.slice(0, 4), order.slice(4, 5)]);
  });

  it('without validation the last epoch is kept; a start that is a candidate is kept unless an epoch beats it', async () => {
    const [last] = await runTrials(new Scripted(() => null), [trial()]);
    expect(last.best.epoch).toBe(3);
    const learner = new Scripted((_, e) => ({ accuracy: [0.9, 0.8, 0.9, 0.85][e] }));
    const seen: (Validation | null)[] = [];
    const [start] = await runTrials(learner, [trial({ startIsCandidate: true, onStartCandidate: (v) => seen.push(v) })]);
    expect(seen).toEqual([{ accuracy: 0.9 }]);
    expect(start.best.epoch).toBe(0); // epoch 2 ties at 0.9 without a loss: the earlier one stays
  });

  it('a checkpoint after every epoch with the learner state; a resumed trial continues its history', async () => {
    const saved: unknown[] = [];
    const learner = new Scripted((_, e) => ({ accuracy: 0.1 * e, loss: 1 }));
    const resume = { epochsDone: 2, history: [{ epoch: 1 }, { epoch: 2 }], best: { epoch: 2, accuracy: 0.95, loss: 0.1, weights: [[[7]]] } };
    const [r] = await runTrials(learner, [trial({ seed: 4, epochs: 4, resume, checkpoint: (s) => void saved.push(structuredClone(s)) })]);
    expect(learner.calls[0].lrs[0]).toBe(0.01 * 0.5 ** (6 / 3)); // epoch 3's first batch
    expect(learner.calls[0].orders[0]).toEqual([...epochOrder(10, 4, 2)].slice(0, 4));
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    expect(r.best.weights).toEqual([[[7]]]);
    expect(saved).toHaveLength(2);
    expect(saved[1]).toMatchObject({ epochsDone: 4, state: 'state of trial 4', best: { epoch: 2 } });
    // a run resumed with no epoch left and no best epoch is refused
    await expect(runTrials(learner, [trial({ epochs: 2, resume: { ...resume, best: null } })])).rejects.toThrow('no epoch to train');
  });

  it('a group stops together on one decision over its members\' rows; others go on, and refill takes the free places', async () => {
    const learner = new Scripted((t, e) => ({ accuracy: t.seed / 10 + e / 100 }));
    const decided: number[][] = [];
    const group = { afterEpoch: (rows: Record<string, number>[]) => (decided.push(rows.map((r) => r.validationAccuracy)), rows[0].epoch === 1) };
    const ended: number[] = [];
    const frees: number[] = [];
    const results = await runTrials(learner, [trial({ seed: 1, group }), trial({ seed: 2, group }), trial({ seed: 3, epochs: 2 })], {
      onEnd: (t) => void ended.push(t.seed),
      refill: (free) => (frees.push(free) === 1 ? [trial({ seed: 5, epochs: 1 })] : []),
    });
    expect(decided).toEqual([[0.1, 0.2]]);
    expect(ended).toEqual([1, 2, 3, 5]);
    expect(frees).toEqual([2, 3]);
    expect(results.map((r) => r.history.length)).toEqual([1, 1, 2, 1]);
    expect(results.map((r) => r.stopped)).toEqual([true, true, false, false]);
    // epoch 2 ran trial 3 and trial 5 together
    expect(learner.calls[3].orders).toHaveLength(2);
  });
});
