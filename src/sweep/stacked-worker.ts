import { CANONICAL_DATA } from '../data/sources.js';
import { UserError } from '../errors.js';
import type { TrainConfig } from '../model/train-config.js';
import { stackKey, trainStacked, type StackedTrial } from '../train/stacked-trainer.js';
import type { EpochMetrics, TrainResult } from '../train/trainer.js';
import type { ClaimedTrial, Trial } from './types.js';
import { trialConfig, workerSettings, type WorkerOptions } from './worker.js';

export interface StackedWorkerOptions extends WorkerOptions {
  /** Train up to this many trials of one shape together (train/stacked-trainer.ts). */
  stack: number;
}

/** A claimed trial with its training config. */
interface Claimed {
  trial: ClaimedTrial;
  config: TrainConfig;
}

/** A trial in a stack: when it started, how many trials trained at that time, how it ended. */
interface Running {
  claimed: Claimed;
  t0: number;
  stack: number;
  lost: boolean;
  pruned: boolean;
}

/**
 * `runWorker` with stacked trials (`sweep worker --stack K`): the worker claims up to K trials, trains
 * those of the same shape (`stackKey`: layer sizes, steps, batch size, ...) together as one tensor
 * program, and whenever a trial of the stack finishes or is pruned, claims another to take its place at
 * the next epoch boundary. A claimed trial of another shape waits (with heartbeats) for a stack of its
 * own; at most K trials wait. Each trial reports, is pruned and is finished exactly as `runWorker` does
 * it, and trains to the very numbers it would give alone; the samplers see up to 2K trials running at
 * once, as with that many workers.
 */
export async function runStackedWorker(o: StackedWorkerOptions): Promise<number> {
  const { store, space, stack } = o;
  const { worker, staleAfterMs, heartbeatMs, propose, shouldPrune, metric } = workerSettings(o);
  const better = (a: number, b: number) => (space.objective.direction === 'maximize' ? a > b : a < b);
  const beats = new Map<number, NodeJS.Timeout>();
  const release = (trial: Trial) => {
    clearInterval(beats.get(trial.number));
    beats.delete(trial.number);
  };
  /** Claimed trials of another shape than the stack that claimed them, oldest first. */
  const waiting: Claimed[] = [];
  let ran = 0;

  const finish = async (trial: Trial, state: 'complete' | 'pruned' | 'failed', value: number | null, attrs: Record<string, unknown>) => {
    release(trial);
    if (await store.finish(trial.number, worker, state, value, attrs)) {
      if (state !== 'failed') ran++;
      const epochs = typeof attrs.epochs === 'number' ? attrs.epochs : 0;
      const error = typeof attrs.error === 'string' ? { error: attrs.error } : {};
      o.onTrial?.({ type: 'finish', worker, trial, state, value, epochs, ...error });
    }
  };

  /** Claim a new trial with its config (a refused parameter combination fails that trial and the next is claimed). */
  const claim = async (): Promise<Claimed | null> => {
    for (;;) {
      if (o.deadline !== undefined && Date.now() >= o.deadline) return null;
      const trial = await store.claim({ worker, staleAfterMs, maxTrials: space.budget.trials, propose });
      if (!trial) return null;
      beats.set(trial.number, setInterval(() => void store.heartbeat(trial.number, worker).catch(() => {}), heartbeatMs));
      try {
        return { trial, config: trialConfig(space, trial.params, `trial ${trial.number}`) };
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        await finish(trial, 'failed', null, { error: err.message });
      }
    }
  };

  /** Up to `free` trials of shape `key`: waiting ones first, then new claims (others join the waiting). */
  const take = async (key: string, free: number): Promise<Claimed[]> => {
    const out: Claimed[] = [];
    for (let i = 0; i < waiting.length && out.length < free; ) {
      if (stackKey(waiting[i].config) === key) out.push(...waiting.splice(i, 1));
      else i++;
    }
    while (out.length < free && waiting.length < stack) {
      const c = await claim();
      if (!c) break;
      if (stackKey(c.config) === key) out.push(c);
      else waiting.push(c);
    }
    return out;
  };

  /** A trial as the stacked trainer runs it: reports, pruning, and its end. */
  const stacked = (c: Claimed, started: Map<StackedTrial, Running>, stackSize: number): StackedTrial => {
    const { trial } = c;
    o.onTrial?.({ type: 'start', worker, trial });
    const st: StackedTrial = {
      config: c.config,
      afterEpoch: async (m: EpochMetrics, history: EpochMetrics[]) => {
        const s = started.get(st)!;
        if (!(await store.report(trial.number, worker, m.epoch, m[metric]))) return (s.lost = true);
        const me: Trial = { ...trial, intermediate: history.map((h) => ({ epoch: h.epoch, value: h[metric] })) };
        if (shouldPrune(me, await store.trials())) return (s.pruned = true);
        return false;
      },
    };
    started.set(st, { claimed: c, t0: performance.now(), stack: stackSize, lost: false, pruned: false });
    return st;
  };

  for (;;) {
    const first = waiting.shift() ?? (await claim());
    if (!first) {
      // As runWorker: wait while a running trial may still belong to a worker that died.
      if (!(await store.trials()).some((t) => t.state === 'running')) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, staleAfterMs / 4)));
      continue;
    }
    const key = stackKey(first.config);
    const started = new Map<StackedTrial, Running>();
    const group = [first, ...(await take(key, stack - 1))];
    let training = group.length;
    const onResult = async (st: StackedTrial, result: TrainResult) => {
      const s = started.get(st)!;
      training--;
      if (s.lost) {
        release(s.claimed.trial);
        o.onTrial?.({ type: 'lost', worker, trial: s.claimed.trial });
        return;
      }
      const values = result.history.map((h) => h[metric]);
      const best = values.reduce((a, v) => (better(v, a) ? v : a));
      const last = result.history[result.history.length - 1];
      await finish(s.claimed.trial, s.pruned ? 'pruned' : 'complete', s.pruned ? values[values.length - 1] : best, {
        epochs: result.history.length,
        bestEpoch: result.bestEpoch,
        validationAccuracy: result.validation.accuracy,
        validationLoss: result.validation.loss,
        trainSeconds: result.history.reduce((a, h) => a + h.trainSeconds, 0),
        seconds: (performance.now() - s.t0) / 1000,
        spikesPerSample1: last.spikesPerSample1,
        stacked: s.stack,
      });
    };
    try {
      await trainStacked({
        trials: group.map((c) => stacked(c, started, training)),
        data: o.data ?? CANONICAL_DATA,
        backend: o.backend,
        capacity: stack,
        refill: async (free) => {
          const more = await take(key, free);
          training += more.length;
          return more.map((c) => stacked(c, started, training));
        },
        onResult,
      });
    } catch (err) {
      // A data set the training refuses fails the trials of this stack that had not ended.
      if (!(err instanceof UserError)) {
        for (const t of beats.keys()) clearInterval(beats.get(t));
        throw err;
      }
      for (const { claimed } of started.values()) {
        if (beats.has(claimed.trial.number)) await finish(claimed.trial, 'failed', null, { error: err.message });
      }
    }
  }
  return ran;
}
