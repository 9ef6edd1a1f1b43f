import { UserError } from '../errors.js';
import { readDatasetCsv } from './csv.js';
import type { Dataset } from './dataset.js';
import { CANONICAL_SPLITS, yinyangDataset, type SplitName } from './yinyang.js';

export const SPLITS = ['train', 'validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];

/** Where each split comes from: a CSV path, or `yinyang:<split>` for a canonical split. */
export type DataSpec = Record<Split, string>;

export const CANONICAL_DATA: DataSpec = { train: 'yinyang:train', validation: 'yinyang:validation', test: 'yinyang:test' };

/** Load `yinyang:<split>` (canonical) or a CSV file of features in [0, 1] plus a `label` column. */
export function loadDataset(spec: string): Dataset {
  if (spec.startsWith('yinyang:')) {
    const split = spec.slice('yinyang:'.length);
    if (!(split in CANONICAL_SPLITS)) {
      throw new UserError(`${spec}: unknown Yin-Yang split '${split}' (expected ${Object.keys(CANONICAL_SPLITS).join(', ')})`);
    }
    return yinyangDataset(split as SplitName);
  }
  return readDatasetCsv(spec);
}

/** Check a data set against what a network expects: the same feature columns and labels it can output. */
export function checkDatasetFits(ds: Dataset, features: string[] | number, classes: number): void {
  if (typeof features === 'number') {
    if (ds.featureNames.length !== features) {
      throw new UserError(`${ds.source}: has ${ds.featureNames.length} feature columns, expected ${features} (the model's inputs less the bias input)`);
    }
  } else if (ds.featureNames.join(',') !== features.join(',')) {
    throw new UserError(`${ds.source}: feature columns are ${ds.featureNames.join(',')}, expected ${features.join(',')}`);
  }
  for (let i = 0; i < ds.count; i++) {
    if (ds.labels[i] >= classes) {
      throw new UserError(`${ds.source}: row ${i + 1}, column 'label': ${ds.labels[i]} is not a class of this network (expected 0..${classes - 1})`);
    }
  }
}

/**
 * Every class 0..classes-1 should have samples in every split. A training set that skips a class (labels
 * 0 and 2, no 1) trains an output neuron that never sees its class: refused when the classes come from
 * the training set itself (`strict`), a warning when they are fixed by a model trained on from. A
 * validation or test split without some class is legitimate (a small split), but its accuracy does not
 * cover that class: a warning. Returns the warnings.
 */
export function classCoverage(sets: Record<Split, Dataset>, classes: number, strict: boolean): string[] {
  const warnings: string[] = [];
  for (const split of SPLITS) {
    const ds = sets[split];
    const seen = new Set<number>();
    for (let i = 0; i < ds.count; i++) seen.add(ds.labels[i]);
    const missing = Array.from({ length: classes }, (_, c) => c).filter((c) => !seen.has(c));
    if (!missing.length) continue;
    const which = `${missing.length === 1 ? 'class' : 'classes'} ${missing.join(', ')}`;
    if (split === 'train' && strict) {
      throw new UserError(`${ds.source}: column 'label' has no sample of ${which} (labels are ${[...seen].sort((a, b) => a - b).join(', ')}; every class 0..${classes - 1} needs training samples)`);
    }
    const use = split === 'train' ? 'the model trained on from has that output, which this training never trains' : split === 'validation' ? 'the validation accuracy that selects the epoch does not cover it' : 'the test accuracy does not cover it';
    warnings.push(`${ds.source} (${split}) has no sample of ${which}: ${use}`);
  }
  return warnings;
}

/** Number of classes of a training set: the largest label plus one (at least 2). */
export function classCount(ds: Dataset): number {
  let max = 1;
  for (let i = 0; i < ds.count; i++) max = Math.max(max, ds.labels[i]);
  return max + 1;
}
