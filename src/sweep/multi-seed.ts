import { trainStack, type EpochMetrics, type TrainOptions, type TrainResult } from '../train/trainer.js';

export interface SeedsOptions extends Omit<TrainOptions, 'afterEpoch' | 'onProgress' | 'group'> {
  /** The seeds to train `config` with (each replaces `config.seed`). */
  seeds: number[];
  /**
   * Awaited once per epoch, when every seed has finished it, with the per-column mean of their metrics
   * and the history of those means; resolving to true stops every seed (a pruned trial).
   */
  afterEpoch?: (mean: EpochMetrics, history: EpochMetrics[]) => Promise<boolean | void> | boolean | void;
}

export interface SeedsResult {
  /** One training result per seed, in the order of `seeds`. */
  runs: TrainResult[];
  /** Per epoch, the mean over the seeds of each metric column. */
  history: EpochMetrics[];
}

/** The mean of each column over rows with the same columns. */
export function meanMetrics(rows: EpochMetrics[]): EpochMetrics {
  const out: EpochMetrics = {};
  for (const key of Object.keys(rows[0])) out[key] = rows.reduce((a, r) => a + r[key], 0) / rows.length;
  return out;
}

/**
 * Train one configuration with several seeds (the sweep's multi-seed objective) as one stack: every
 * seed trains each epoch, and `afterEpoch` decides for all of them on the mean metrics.
 */
export async function trainSeeds(opts: SeedsOptions): Promise<SeedsResult> {
  const { seeds, afterEpoch, data, backend, ...run } = opts;
  const history: EpochMetrics[] = [];
  const group = {
    afterEpoch: async (rows: EpochMetrics[]) => {
      history.push(meanMetrics(rows));
      return afterEpoch?.(history[history.length - 1], history);
    },
  };
  const runs = await trainStack({ runs: seeds.map((seed) => ({ ...run, config: { ...run.config, seed }, group })), data, backend });
  return { runs, history };
}
