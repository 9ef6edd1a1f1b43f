import type { MT19937 } from '../../data/mt19937.js';
import { sampleTruncNormal, truncNormalLogPdf } from './normal.js';

/**
 * The Parzen estimators of TPE, as Optuna's univariate TPE builds them: a mixture of one truncated
 * Gaussian per observation plus a prior component, or smoothed frequencies for categories.
 */

/**
 * Observation weights by age (oldest first): all 1 below 25 observations; beyond, the newest 25 weigh
 * 1 and the older ones ramp up from 1/n (Optuna's `default_weights`).
 */
export function ageWeights(n: number): number[] {
  if (n < 25) return new Array<number>(n).fill(1);
  const ramp = n - 25;
  const out: number[] = [];
  for (let i = 0; i < ramp; i++) out.push(ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1));
  for (let i = 0; i < 25; i++) out.push(1);
  return out;
}

export interface NumericalParzen {
  low: number;
  high: number;
  mus: number[];
  sigmas: number[];
  /** Mixture weights, summing to 1. */
  weights: number[];
}

/**
 * Mixture over `[low, high]` of one Gaussian per observation `xs` (weights `ws`) and a prior N(centre,
 * (high - low)^2) of weight `priorWeight`. Each bandwidth is the larger distance to its neighbours among
 * the sorted observations, the prior's centre and the bounds (the outermost use their inner neighbour
 * only), clipped to [(high - low) / min(100, 2 + n), high - low] (Optuna's "magic clip").
 */
export function numericalParzen(xs: number[], ws: number[], low: number, high: number, priorWeight: number): NumericalParzen {
  const width = high - low;
  const prior = 0.5 * (low + high);
  const withPrior = [...xs, prior];
  const order = withPrior.map((_, i) => i).sort((a, b) => withPrior[a] - withPrior[b] || a - b);
  const sorted = [low, ...order.map((i) => withPrior[i]), high];
  const sortedSigma = order.map((_, k) => Math.max(sorted[k + 1] - sorted[k], sorted[k + 2] - sorted[k + 1]));
  if (sorted.length >= 4) {
    sortedSigma[0] = sorted[2] - sorted[1];
    sortedSigma[sortedSigma.length - 1] = sorted[sorted.length - 2] - sorted[sorted.length - 3];
  }
  const minSigma = width / Math.min(100, 1 + (xs.length + 1));
  const sigmas = new Array<number>(xs.length);
  order.forEach((i, k) => {
    if (i < xs.length) sigmas[i] = Math.min(width, Math.max(minSigma, sortedSigma[k]));
  });
  const raw = [...ws, priorWeight];
  const total = raw.reduce((s, w) => s + w, 0);
  return { low, high, mus: withPrior, sigmas: [...sigmas, width], weights: raw.map((w) => w / total) };
}

function pickComponent(weights: number[], rng: MT19937): number {
  const u = rng.rand();
  let acc = 0;
  for (let k = 0; k < weights.length; k++) {
    acc += weights[k];
    if (u < acc) return k;
  }
  return weights.length - 1;
}

export function sampleNumerical(p: NumericalParzen, rng: MT19937): number {
  const k = pickComponent(p.weights, rng);
  return sampleTruncNormal(rng, p.mus[k], p.sigmas[k], p.low, p.high);
}

export function logPdfNumerical(p: NumericalParzen, x: number): number {
  const terms = p.mus.map((mu, k) => Math.log(p.weights[k]) + truncNormalLogPdf(x, mu, p.sigmas[k], p.low, p.high));
  const m = Math.max(...terms);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(terms.reduce((s, t) => s + Math.exp(t - m), 0));
}

/**
 * Probabilities of `n` categories: the weighted count of each among `indices` plus `priorWeight / n`,
 * normalised.
 */
export function categoricalParzen(indices: number[], ws: number[], n: number, priorWeight: number): number[] {
  const p = new Array<number>(n).fill(priorWeight / n);
  indices.forEach((c, i) => (p[c] += ws[i]));
  const total = p.reduce((s, v) => s + v, 0);
  return p.map((v) => v / total);
}

export function sampleCategorical(p: number[], rng: MT19937): number {
  return pickComponent(p, rng);
}
