import { hostname } from 'node:os';
import { CANONICAL_DATA, type DataSpec } from '../data/sources.js';
import { UserError } from '../errors.js';
import { resolveConfig, type TrainConfig } from '../model/train-config.js';
import { stackKey, trainStack, type EpochMetrics, type TrainResult, type TrialGroup, type TrialRun } from '../train/trainer.js';
import { makePruner } from './pruner/index.js';
import { makeSampler } from './sampler/index.js';
import { paramsToSettings, type SearchSpace } from './space/space-file.js';
import type { ClaimedTrial, StudyStore, Trial } from './types.js';

/**
 * What a worker reports as it goes (the CLI prints it): a trial it claimed (new, or taken over from a
 * worker whose heartbeats stopped: `trial.takenOver`), a trial it finished, and a trial it lost because
 * another worker took it over meanwhile (its own heartbeats were late).
 */
export type WorkerEvent =
  | { type: 'start'; worker: string; trial: ClaimedTrial }
  | { type: 'finish'; worker: string; trial: Trial; state: 'complete' | 'pruned' | 'failed'; value: number | null; epochs: number; error?: string }
  | { type: 'lost'; worker: string; trial: Trial };

export interface WorkerOptions {
  store: StudyStore;
  space: SearchSpace;
  /** This worker's name in the study (host and process by default). */
  worker?: string;
  backend: string;
  data?: DataSpec;
  /** A running trial silent for this long is taken over by another worker (its worker died). */
  staleAfterMs?: number;
  heartbeatMs?: number;
  /** Stop claiming new trials after this time (milliseconds since the epoch). */
  deadline?: number;
  onTrial?: (event: WorkerEvent) => void;
  /** Train up to this many runs of one shape together (default 1; see `runWorker`). */
  stack?: number;
}

export function defaultWorkerName(): string {
  return `${hostname()}:${process.pid}`;
}

/** The training config of a trial: the space's base, then the trial's parameters, then the epoch budget. */
export function trialConfig(space: SearchSpace, params: Record<string, unknown>, label: string): TrainConfig {
  return resolveConfig(space.base.preset, [space.base.settings ?? {}, paramsToSettings(params), { epochs: space.budget.epochs }], label);
}

function better(space: SearchSpace, a: number, b: number): boolean {
  return space.objective.direction === 'maximize' ? a > b : a < b;
}

/** The seeds' values as one: their mean, or with `seedAggregate: worst` the worst of them. */
export function aggregateSeeds(space: SearchSpace, values: number[]): number {
  if (space.objective.seedAggregate === 'worst') return values.reduce((a, v) => (better(space, a, v) ? v : a));
  return values.reduce((a, v) => a + v, 0) / values.length;
}

/** What every worker derives from its options: its name, timing, sampler, pruner and objective metric. */
export function workerSettings(o: WorkerOptions) {
  const staleAfterMs = o.staleAfterMs ?? 60_000;
  return {
    worker: o.worker ?? defaultWorkerName(),
    staleAfterMs,
    heartbeatMs: o.heartbeatMs ?? Math.max(1000, Math.floor(staleAfterMs / 4)),
    propose: makeSampler(o.space),
    shouldPrune: makePruner(o.space),
    metric: o.space.objective.metric,
  };
}

/** The mean of each column over rows with the same columns (a multi-seed trial's epoch). */
export function meanMetrics(rows: EpochMetrics[]): EpochMetrics {
  const out: EpochMetrics = {};
  for (const key of Object.keys(rows[0])) out[key] = rows.reduce((a, r) => a + r[key], 0) / rows.length;
  return out;
}

/** A claimed trial with its training config. */
interface Claimed {
  trial: ClaimedTrial;
  config: TrainConfig;
}

/** A trial in training: its seed runs, how many runs trained when it started, how it ends. */
interface Running {
  claimed: Claimed;
  t0: number;
  stack: number;
  seeds: number[];
  lost: boolean;
  pruned: boolean;
  /** Per epoch, the mean over the seeds of each metric column, and the objective's value (aggregateSeeds). */
  history: EpochMetrics[];
  values: number[];
  results: (TrainResult | undefined)[];
}

/**
 * Claim and run trials until the study has none left. A trial trains its configuration with the
 * objective's seeds (config.seed, config.seed + 1, ...) as runs of one stack (train/trainer.ts), reports
 * the mean of their metrics after every epoch, is pruned when the pruner says so (all its seeds stop
 * there), and is finished once, with the mean over its seeds of each seed's value (best epoch, or last
 * epoch when pruned). Heartbeats go out between epochs; a trial this worker lost (another worker took
 * it over) is dropped silently.
 *
 * With `stack` K the worker trains up to K runs of one shape (`stackKey`: layer sizes, steps, batch
 * size, ...) at once, whole trials only (a trial of S seeds takes S places; with S > K, S places), and
 * whenever a trial finishes or is pruned it claims others to take its places at the next epoch boundary.
 * A claimed trial of another shape waits (with heartbeats) for a stack of its own; at most K trials wait.
 * Every run trains to the very numbers it gives alone; the samplers see up to 2K trials running at once,
 * as with that many workers.
 */
export async function runWorker(o: WorkerOptions): Promise<number> {
  const { store, space } = o;
  const { worker, staleAfterMs, heartbeatMs, propose, shouldPrune, metric } = workerSettings(o);
  const seedsPerTrial = space.objective.seeds ?? 1;
  const stack = o.stack ?? 1;
  const capacity = Math.max(stack, seedsPerTrial);
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

  /** Trials of shape `key` for `free` places: waiting ones first, then new claims (others join the waiting). */
  const take = async (key: string, free: number): Promise<Claimed[]> => {
    const out: Claimed[] = [];
    const fits = () => (out.length + 1) * seedsPerTrial <= free;
    for (let i = 0; i < waiting.length && fits(); ) {
      if (stackKey(waiting[i].config) === key) out.push(...waiting.splice(i, 1));
      else i++;
    }
    while (fits() && waiting.length < stack) {
      const c = await claim();
      if (!c) break;
      if (stackKey(c.config) === key) out.push(c);
      else waiting.push(c);
    }
    return out;
  };

  /** The end of a trial whose seed runs have all ended: its value and attributes, once. */
  const complete = async (r: Running) => {
    const { trial } = r.claimed;
    if (r.lost) {
      release(trial);
      o.onTrial?.({ type: 'lost', worker, trial });
      return;
    }
    const runs = r.results as TrainResult[];
    // Each seed's value as a one-seed trial would have it (best epoch, or last epoch when pruned).
    const seedValues = runs.map((result) => {
      const values = result.history.map((h) => h[metric]);
      return r.pruned ? values[values.length - 1] : values.reduce((a, v) => (better(space, v, a) ? v : a));
    });
    const mean = (f: (result: TrainResult) => number) => runs.reduce((a, result) => a + f(result), 0) / runs.length;
    await finish(trial, r.pruned ? 'pruned' : 'complete', aggregateSeeds(space, seedValues), {
      epochs: r.history.length,
      ...(runs.length === 1 ? { bestEpoch: runs[0].bestEpoch } : { seeds: r.seeds, seedValues, bestEpochs: runs.map((result) => result.bestEpoch) }),
      validationAccuracy: mean((result) => result.validation.accuracy),
      validationLoss: mean((result) => result.validation.loss),
      trainSeconds: runs.reduce((a, result) => a + result.history.reduce((b, h) => b + h.trainSeconds, 0), 0),
      seconds: (performance.now() - r.t0) / 1000,
      spikesPerSample1: r.history[r.history.length - 1].spikesPerSample1,
      ...(r.stack > 1 ? { stacked: r.stack } : {}),
    });
  };

  const running = new Map<TrialRun, Running>();
  /** A trial's seed runs as the trainer runs them: one group that reports, is pruned and ends together. */
  const runsOf = (c: Claimed, stackSize: number): TrialRun[] => {
    const { trial } = c;
    o.onTrial?.({ type: 'start', worker, trial });
    const seeds = Array.from({ length: seedsPerTrial }, (_, k) => c.config.seed + k);
    const r: Running = { claimed: c, t0: performance.now(), stack: stackSize, seeds, lost: false, pruned: false, history: [], values: [], results: seeds.map(() => undefined) };
    const group: TrialGroup = {
      afterEpoch: async (rows) => {
        const m = meanMetrics(rows);
        r.history.push(m);
        r.values.push(aggregateSeeds(space, rows.map((row) => row[metric])));
        if (!(await store.report(trial.number, worker, m.epoch, r.values[r.values.length - 1]))) return (r.lost = true);
        const me: Trial = { ...trial, intermediate: r.history.map((h, e) => ({ epoch: h.epoch, value: r.values[e] })) };
        if (shouldPrune(me, await store.trials())) return (r.pruned = true);
        return false;
      },
    };
    return seeds.map((seed) => {
      const run: TrialRun = { config: { ...c.config, seed }, group };
      running.set(run, r);
      return run;
    });
  };

  for (;;) {
    const first = waiting.shift() ?? (await claim());
    if (!first) {
      // Nothing new to start. A running trial may still belong to a worker that died: wait until it
      // finishes or goes stale (then the next claim takes it over); done when none is running.
      if (!(await store.trials()).some((t) => t.state === 'running')) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, staleAfterMs / 4)));
      continue;
    }
    const key = stackKey(first.config);
    const group = [first, ...(await take(key, capacity - seedsPerTrial))];
    let training = group.length * seedsPerTrial;
    const started = group.flatMap((c) => runsOf(c, training));
    try {
      await trainStack({
        runs: started,
        data: o.data ?? CANONICAL_DATA,
        backend: o.backend,
        capacity,
        refill: async (free) => {
          const more = await take(key, free);
          training = capacity - free + more.length * seedsPerTrial;
          const runs = more.flatMap((c) => runsOf(c, training));
          started.push(...runs);
          return runs;
        },
        onResult: async (run, result) => {
          const r = running.get(run)!;
          running.delete(run);
          r.results[r.seeds.indexOf(run.config.seed)] = result;
          if (r.results.every((x) => x !== undefined)) await complete(r);
        },
      });
    } catch (err) {
      // A data set the training refuses fails the trials of this stack that had not ended.
      if (!(err instanceof UserError)) {
        for (const t of beats.keys()) clearInterval(beats.get(t));
        throw err;
      }
      for (const run of started) {
        const r = running.get(run);
        if (r && beats.has(r.claimed.trial.number)) await finish(r.claimed.trial, 'failed', null, { error: err.message });
      }
    }
  }
  return ran;
}
