import { CANONICAL_DATA } from '../data/sources.js';
import { UserError } from '../errors.js';
import type { TrainConfig } from '../model/train-config.js';
import { trainStack, type TrainResult } from '../train/trainer.js';
import { bestTrial } from './best-trial.js';
import { parseSpace, type SearchSpace } from './space/space-file.js';
import { openStore } from './store/open-store.js';
import { redactUrl } from './store/postgres-store.js';
import type { StudyStore, Trial } from './types.js';
import { runWorker, trialConfig, type WorkerOptions } from './worker.js';

/**
 * What the sweep actions do with a study (create, open, work on, take the best trial, re-train it with
 * several seeds); the CLI parses their flags and prints. A study is named by its store's target (a
 * SQLite file or a postgres:// URL) and its name within the store.
 */

/** Create the study with this space, or check that an existing one has it. */
export async function createStudy(target: string, name: string, space: SearchSpace): Promise<void> {
  const store = openStore(target);
  await store.open(name, space);
  await store.close();
}

export interface OpenStudy {
  store: StudyStore;
  space: SearchSpace;
  /** The store (without its password) and the study, for messages. */
  where: string;
}

/** An existing study with its space; the caller closes the store. */
export async function openStudy(target: string, name: string): Promise<OpenStudy> {
  const store = openStore(target, { existing: true });
  await store.open(name, undefined);
  return { store, where: `${redactUrl(target)}: study ${name}`, space: parseSpace(await store.space(), `${redactUrl(target)} (study ${name})`) };
}

/** The best complete trial and its training config; an error when no trial is complete yet. */
export function bestConfig(study: Pick<OpenStudy, 'space' | 'where'>, trials: Trial[]): { trial: Trial; config: TrainConfig } {
  const trial = bestTrial(trials, study.space);
  if (!trial) throw new UserError(`${study.where} has no complete trial yet`);
  return { trial, config: trialConfig(study.space, trial.params, `best trial ${trial.number}`) };
}

export interface StudyWork extends Omit<WorkerOptions, 'deadline'> {
  /** Runs trained together (1: one trial at a time, its seeds together). */
  stack: number;
}

/**
 * Run the study's trials until none is left or its time budget (counted from now) is spent, `stack` at a
 * time; the number of trials this worker ran.
 */
export async function workOnStudy(o: StudyWork): Promise<number> {
  const deadline = o.space.budget.seconds ? Date.now() + o.space.budget.seconds * 1000 : undefined;
  return runWorker({ ...o, deadline });
}

/** Test accuracies of one configuration over seeds, with their mean and sample standard deviation. */
export interface SeedSpread {
  accuracies: number[];
  mean: number;
  /** With n - 1 in the denominator; 0 for a single seed. */
  std: number;
}

export function seedSpread(accuracies: number[]): SeedSpread {
  const n = accuracies.length;
  const mean = accuracies.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(accuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { accuracies, mean, std };
}

/**
 * Train `config` with seeds 0..seeds-1 on the canonical data, as one stack (each seed exactly what it
 * gives alone); `onSeed` hears of each run as it ends.
 */
export async function retrainWithSeeds(config: TrainConfig, seeds: number, backend: string, onSeed?: (seed: number, result: TrainResult) => void): Promise<SeedSpread> {
  const runs = Array.from({ length: seeds }, (_, seed) => ({ config: { ...config, seed } }));
  const results = await trainStack({ runs, data: CANONICAL_DATA, backend, onResult: (run, result) => onSeed?.(run.config.seed, result) });
  return seedSpread(results.map((r) => r.test.accuracy));
}
