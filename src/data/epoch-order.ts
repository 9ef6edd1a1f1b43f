import { MT19937 } from './mt19937.js';

/** Seeded permutation of 0..n-1 for one epoch (Fisher-Yates on MT19937), so a resumed run reshuffles identically. */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  const rng = new MT19937((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.randint(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
