import type { MT19937 } from '../../data/mt19937.js';
import type { Objective, ParamSpec, Params, Trial } from '../types.js';
import { intCount, randomParams } from './random.js';
import { trialRng } from './trial-rng.js';
import {
  ageWeights,
  categoricalParzen,
  logPdfNumerical,
  numericalParzen,
  sampleCategorical,
  sampleNumerical,
} from './parzen.js';

/**
 * Tree-structured Parzen estimator, like Optuna's default (univariate) TPE: the finished trials are split
 * by objective into a good few and the rest; per parameter, a Parzen estimator l(x) of the good values
 * and g(x) of the rest; the next value is the one of `nCandidates` draws from l that maximises
 * l(x) / g(x). Before `startupTrials` trials have finished, parameters are random (the random sampler's
 * draws for the same seed and trial number). Deterministic given the seed, the trial number and the
 * trials' states, values and parameters.
 */

export interface TpeOptions {
  seed: number;
  startupTrials: number;
  nCandidates: number;
  /** Weight of the prior component in every estimator (Optuna: 1). */
  priorWeight?: number;
}

/** How many of `n` complete trials count as good: 10 %, rounded up, at most 25 (Optuna's default gamma). */
export function goodCount(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Bigger is better, whatever the direction; NaN and infinities (a diverged run) are worst. */
function score(value: number | null, objective: Objective): number {
  if (value === null || !Number.isFinite(value)) return -Infinity;
  return objective.direction === 'maximize' ? value : -value;
}

/**
 * Good: the best `goodCount` complete trials. Bad: the other complete trials and the pruned ones (their
 * last value came before the end, so it does not compare with a complete trial's). Running and failed
 * trials say nothing. Both sets come back in trial-number order (oldest first, for the age weights).
 */
export function splitTrials(trials: Trial[], objective: Objective): { good: Trial[]; bad: Trial[] } {
  const complete = trials.filter((t) => t.state === 'complete');
  const ranked = [...complete].sort((a, b) => score(b.value, objective) - score(a.value, objective) || a.number - b.number);
  const nGood = goodCount(complete.length);
  const goodSet = new Set(ranked.slice(0, nGood));
  const byNumber = (a: Trial, b: Trial) => a.number - b.number;
  const good = ranked.slice(0, nGood).sort(byNumber);
  const bad = trials.filter((t) => (t.state === 'complete' && !goodSet.has(t)) || t.state === 'pruned').sort(byNumber);
  return { good, bad };
}

type Numerical = Extract<ParamSpec, { type: 'uniform' | 'loguniform' | 'int' }>;

/** The space an estimator works in: log for loguniform; for int, half a step past each end. */
function internalBounds(p: Numerical): [number, number] {
  if (p.type === 'loguniform') return [Math.log(p.low), Math.log(p.high)];
  if (p.type === 'int') {
    const half = (p.step ?? 1) / 2;
    return [p.low - half, p.high + half];
  }
  return [p.low, p.high];
}

/** An observed value in the estimator's space, or null when it is not a value of this parameter. */
function toInternal(p: Numerical, v: unknown): number | null {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < p.low || v > p.high) return null;
  if (p.type === 'int') return Number.isInteger((v - p.low) / (p.step ?? 1)) ? v : null;
  return p.type === 'loguniform' ? Math.log(v) : v;
}

/** An estimator draw back in the parameter's own terms: exp for loguniform, the nearest step for int. */
function fromInternal(p: Numerical, x: number): number {
  if (p.type === 'loguniform') return Math.min(p.high, Math.max(p.low, Math.exp(x)));
  if (p.type === 'int') {
    const step = p.step ?? 1;
    const k = Math.min(intCount(p) - 1, Math.max(0, Math.round((x - p.low) / step)));
    return p.low + k * step;
  }
  return x;
}

function observations<T>(trials: Trial[], name: string, convert: (v: unknown) => T | null): T[] {
  const out: T[] = [];
  for (const t of trials) {
    if (!Object.hasOwn(t.params, name)) continue;
    const x = convert(t.params[name]);
    if (x !== null) out.push(x);
  }
  return out;
}

function argmax(xs: number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

function proposeNumerical(p: Numerical, name: string, good: Trial[], bad: Trial[], opts: Required<TpeOptions>, rng: MT19937): number {
  const [low, high] = internalBounds(p);
  const convert = (v: unknown) => toInternal(p, v);
  const xg = observations(good, name, convert);
  const xb = observations(bad, name, convert);
  const l = numericalParzen(xg, ageWeights(xg.length), low, high, opts.priorWeight);
  const g = numericalParzen(xb, ageWeights(xb.length), low, high, opts.priorWeight);
  const candidates = Array.from({ length: opts.nCandidates }, () => fromInternal(p, sampleNumerical(l, rng)));
  // Score each candidate where it lands (an int at its step, a loguniform value in log space).
  const at = (v: number) => (p.type === 'loguniform' ? Math.log(v) : v);
  const ratio = candidates.map((v) => logPdfNumerical(l, at(v)) - logPdfNumerical(g, at(v)));
  return candidates[argmax(ratio)];
}

function proposeCategorical(p: Extract<ParamSpec, { type: 'categorical' }>, name: string, good: Trial[], bad: Trial[], opts: Required<TpeOptions>, rng: MT19937): unknown {
  const keys = p.choices.map((c) => JSON.stringify(c));
  const convert = (v: unknown) => {
    const i = keys.indexOf(JSON.stringify(v));
    return i < 0 ? null : i;
  };
  const ig = observations(good, name, convert);
  const ib = observations(bad, name, convert);
  const l = categoricalParzen(ig, ageWeights(ig.length), p.choices.length, opts.priorWeight);
  const g = categoricalParzen(ib, ageWeights(ib.length), p.choices.length, opts.priorWeight);
  const candidates = Array.from({ length: opts.nCandidates }, () => sampleCategorical(l, rng));
  const ratio = candidates.map((c) => Math.log(l[c]) - Math.log(g[c]));
  return structuredClone(p.choices[candidates[argmax(ratio)]]);
}

/** The parameters of trial number `trials.length`, given the study's trials so far. */
export function tpeParams(parameters: Record<string, ParamSpec>, objective: Objective, options: TpeOptions, trials: Trial[]): Params {
  const opts: Required<TpeOptions> = { priorWeight: 1, ...options };
  const trial = trials.length;
  const finished = trials.filter((t) => t.state === 'complete' || t.state === 'pruned').length;
  const anyComplete = trials.some((t) => t.state === 'complete');
  if (finished < opts.startupTrials || !anyComplete) return randomParams(parameters, opts.seed, trial);

  const { good, bad } = splitTrials(trials, objective);
  const rng = trialRng(opts.seed, trial);
  const out: Params = {};
  for (const [name, p] of Object.entries(parameters)) {
    if (p.type === 'fixed') out[name] = structuredClone(p.value);
    else if (p.type === 'categorical') out[name] = proposeCategorical(p, name, good, bad, opts, rng);
    else out[name] = proposeNumerical(p, name, good, bad, opts, rng);
  }
  return out;
}
