import { CANONICAL_DATA } from '../data/sources.js';
import { UserError } from '../errors.js';
import type { TrainConfig } from '../model/train-config.js';
import { train, type TrainResult } from '../train/trainer.js';
import { bestTrial } from './best-trial.js';
import { parseSpace, type SearchSpace } from './space/space-file.js';
import { runStackedWorker } from './stacked-worker.js';
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

/** Why a worker cannot stack `stack` trials of this study (null: it can). */
export function stackRefusal(stack: number, space: SearchSpace): string | null {
  const seeds = space.objective.seeds ?? 1;
  return stack > 1 && seeds > 1 ? `stacked workers train one seed per trial, but the study's objective has seeds: ${seeds}` : null;
}

export interface StudyWork extends Omit<WorkerOptions, 'deadline'> {
  /** Trials trained together (1: one at a time). */
  stack: number;
}

/**
 * Run the study's trials until none is left or its time budget (counted from now) is spent, `stack` at a
 * time; the number of trials this worker ran.
 */
export async function workOnStudy(o: StudyWork): Promise<number> {
  const refusal = stackRefusal(o.stack, o.space);
  if (refusal) throw new UserError(`a stack of ${o.stack}: ${refusal}`);
  const { stack, ...options } = o;
  const deadline = o.space.budget.seconds ? Date.now() + o.space.budget.seconds * 1000 : undefined;
  return stack > 1 ? runStackedWorker({ ...options, deadline, stack }) : runWorker({ ...options, deadline });
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

/** Train `config` with seeds 0..seeds-1 on the canonical data, one after another; `onSeed` hears of each run. */
export async function retrainWithSeeds(config: TrainConfig, seeds: number, backend: string, onSeed?: (seed: number, result: TrainResult) => void): Promise<SeedSpread> {
  const accuracies: number[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    const result = await train({ config: { ...config, seed }, data: CANONICAL_DATA, backend });
    accuracies.push(result.test.accuracy);
    onSeed?.(seed, result);
  }
  return seedSpread(accuracies);
}
