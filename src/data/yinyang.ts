import type { Dataset } from './dataset.js';
import { MT19937 } from './mt19937.js';
import { UserError } from '../errors.js';

/** The Yin-Yang data set, generated bit for bit as the original numpy code does (reference/yinyang.md). */

export interface YinYangOptions {
  size: number;
  seed: number;
  rSmall?: number;
  rBig?: number;
}

export interface YinYangData {
  /** size x 4, row-major: x, y, 1-x, 1-y. */
  features: Float64Array;
  /** 0, 1 or 2 (2 is the "dot" class). */
  labels: Int32Array;
  /** 32-bit generator outputs consumed for the whole split. */
  consumed: number;
}

export const CANONICAL_SPLITS = {
  train: { size: 5000, seed: 42 },
  validation: { size: 1000, seed: 41 },
  test: { size: 1000, seed: 40 },
} as const;

export type SplitName = keyof typeof CANONICAL_SPLITS;

export const YINYANG_FEATURES = ['x', 'y', 'x_inv', 'y_inv'];

/** Class of a point inside the big circle; the dot test comes first, as in the original. */
function whichClass(x: number, y: number, rSmall: number, rBig: number): number {
  const rx = x - 1.5 * rBig, lx = x - 0.5 * rBig, dy = y - rBig;
  const dR = Math.sqrt(rx * rx + dy * dy);
  const dL = Math.sqrt(lx * lx + dy * dy);
  if (dR < rSmall || dL < rSmall) return 2;
  const yin = dR <= rSmall || (dL > rSmall && dL <= 0.5 * rBig) || (y > rBig && dR > 0.5 * rBig);
  return yin ? 1 : 0;
}

export function generateYinYang(opts: YinYangOptions): YinYangData {
  const { size, seed, rSmall = 0.1, rBig = 0.5 } = opts;
  if (!Number.isInteger(size) || size < 1) throw new UserError(`yinyang: size must be a positive integer, got ${size}`);
  const rng = new MT19937(seed);
  const features = new Float64Array(size * 4);
  const labels = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    // The wanted class is drawn once; points are redrawn until one of that class lands in the circle.
    const goal = rng.randint(3);
    let x: number, y: number;
    for (;;) {
      x = rng.rand() * 2 * rBig;
      y = rng.rand() * 2 * rBig;
      const cx = x - rBig, cy = y - rBig;
      if (Math.sqrt(cx * cx + cy * cy) > rBig) continue;
      if (whichClass(x, y, rSmall, rBig) === goal) break;
    }
    features.set([x, y, 1 - x, 1 - y], i * 4);
    labels[i] = goal;
  }
  return { features, labels, consumed: rng.consumed };
}

export function yinyangSplit(name: SplitName): YinYangData {
  if (!Object.hasOwn(CANONICAL_SPLITS, name)) throw new UserError(`unknown Yin-Yang split '${name}', expected train, validation or test`);
  return generateYinYang(CANONICAL_SPLITS[name]);
}

/** A canonical split by name, or a custom one by size and seed, as a Dataset. */
export function yinyangDataset(split: SplitName | { size: number; seed: number }): Dataset {
  const data = typeof split === 'string' ? yinyangSplit(split) : generateYinYang(split);
  const source = typeof split === 'string' ? `yinyang:${split}` : `yinyang:seed=${split.seed},size=${split.size}`;
  return {
    featureNames: [...YINYANG_FEATURES],
    features: data.features,
    labels: data.labels,
    count: data.labels.length,
    source,
  };
}
