import { hostname } from 'node:os';
import { CANONICAL_DATA, type DataSpec } from '../data/sources.js';
import { UserError } from '../errors.js';
import { resolveConfig, type TrainConfig } from '../model/train-config.js';
import type { EpochMetrics } from '../train/trainer.js';
import { trainSeeds } from './multi-seed.js';
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

/**
 * Claim and run trials until the study has none left: each trial trains with its parameters, reports
 * the objective after every epoch, is pruned when the pruner says so, and is finished once. Heartbeats
 * go out between epochs; a trial this worker lost (another worker took it over) is dropped silently.
 */
export async function runWorker(o: WorkerOptions): Promise<number> {
  const { store, space } = o;
  const { worker, staleAfterMs, heartbeatMs, propose, shouldPrune, metric } = workerSettings(o);
  let ran = 0;
  for (;;) {
    if (o.deadline !== undefined && Date.now() >= o.deadline) break;
    const trial = await store.claim({ worker, staleAfterMs, maxTrials: space.budget.trials, propose });
    if (!trial) {
      // Nothing new to start. A running trial may still belong to a worker that died: wait until it
      // finishes or goes stale (then the next claim takes it over); done when none is running.
      if (!(await store.trials()).some((t) => t.state === 'running')) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, staleAfterMs / 4)));
      continue;
    }
    o.onTrial?.({ type: 'start', worker, trial });
    const beat = setInterval(() => void store.heartbeat(trial.number, worker).catch(() => {}), heartbeatMs);
    const t0 = performance.now();
    try {
      const config = trialConfig(space, trial.params, `trial ${trial.number}`);
      // The multi-seed objective: seeds config.seed, config.seed + 1, ...; the objective is their mean.
      const seeds = Array.from({ length: space.objective.seeds ?? 1 }, (_, k) => config.seed + k);
      let pruned = false;
      let lost = false;
      const { runs, history } = await trainSeeds({
        config,
        seeds,
        data: o.data ?? CANONICAL_DATA,
        backend: o.backend,
        afterEpoch: async (m: EpochMetrics, history: EpochMetrics[]) => {
          if (!(await store.report(trial.number, worker, m.epoch, m[metric]))) return (lost = true);
          const me: Trial = { ...trial, intermediate: history.map((h) => ({ epoch: h.epoch, value: h[metric] })) };
          if (shouldPrune(me, await store.trials())) return (pruned = true);
          return false;
        },
      });
      if (lost) {
        o.onTrial?.({ type: 'lost', worker, trial });
        continue;
      }
      // Each seed's value as a one-seed trial would have it (best epoch, or last epoch when pruned).
      const seedValues = runs.map((r) => {
        const values = r.history.map((h) => h[metric]);
        return pruned ? values[values.length - 1] : values.reduce((a, v) => (better(space, v, a) ? v : a));
      });
      const value = seedValues.reduce((a, v) => a + v, 0) / seedValues.length;
      const mean = (f: (r: (typeof runs)[number]) => number) => runs.reduce((a, r) => a + f(r), 0) / runs.length;
      const attrs = {
        epochs: history.length,
        ...(runs.length === 1 ? { bestEpoch: runs[0].bestEpoch } : { seeds, seedValues, bestEpochs: runs.map((r) => r.bestEpoch) }),
        validationAccuracy: mean((r) => r.validation.accuracy),
        validationLoss: mean((r) => r.validation.loss),
        trainSeconds: runs.reduce((a, r) => a + r.history.reduce((b, h) => b + h.trainSeconds, 0), 0),
        seconds: (performance.now() - t0) / 1000,
        spikesPerSample1: history[history.length - 1].spikesPerSample1,
      };
      if (await store.finish(trial.number, worker, pruned ? 'pruned' : 'complete', value, attrs)) {
        ran++;
        o.onTrial?.({ type: 'finish', worker, trial, state: pruned ? 'pruned' : 'complete', value, epochs: history.length });
      }
    } catch (err) {
      // A parameter combination the training refuses (an impossible setting) fails that trial only.
      if (!(err instanceof UserError)) throw err;
      if (await store.finish(trial.number, worker, 'failed', null, { error: err.message })) {
        o.onTrial?.({ type: 'finish', worker, trial, state: 'failed', value: null, epochs: 0, error: err.message });
      }
    } finally {
      clearInterval(beat);
    }
  }
  return ran;
}
