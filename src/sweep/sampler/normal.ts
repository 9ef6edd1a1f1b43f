import type { MT19937 } from '../../data/mt19937.js';

/** The normal distribution pieces a truncated-Gaussian Parzen estimator needs. */

/**
 * Complementary error function, Chebyshev fit of Numerical Recipes (`erfcc`): relative error below
 * 1.2e-7 everywhere.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Standard normal CDF. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** log of the density at x of N(mu, sigma^2) truncated to [low, high]. */
export function truncNormalLogPdf(x: number, mu: number, sigma: number, low: number, high: number): number {
  if (x < low || x > high) return -Infinity;
  const mass = normalCdf((high - mu) / sigma) - normalCdf((low - mu) / sigma);
  const z = (x - mu) / sigma;
  return -0.5 * z * z - LOG_SQRT_2PI - Math.log(sigma) - Math.log(mass);
}

/**
 * A draw from N(mu, sigma^2) truncated to [low, high], by rejection. With mu in [low, high] and sigma at
 * most high - low (as the Parzen estimator makes them) a draw is accepted with probability >= 0.34.
 */
export function sampleTruncNormal(rng: MT19937, mu: number, sigma: number, low: number, high: number): number {
  for (let tries = 0; tries < 1000; tries++) {
    const x = mu + sigma * rng.gauss();
    if (x >= low && x <= high) return x;
  }
  return Math.min(high, Math.max(low, mu));
}
