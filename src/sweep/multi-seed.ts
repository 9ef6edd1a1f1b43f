import { train, type EpochMetrics, type TrainOptions, type TrainResult } from '../train/trainer.js';

export interface SeedsOptions extends Omit<TrainOptions, 'afterEpoch' | 'onProgress'> {
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
 * Train one configuration with several seeds in lockstep (the sweep's multi-seed objective): each seed
 * trains an epoch, waits until all have, and `afterEpoch` decides for all of them on the mean metrics.
 * The trainings run interleaved in this process (an epoch of one, then of the next), so the time is the
 * sum of the seeds' times. With one seed this is `train` with `afterEpoch` on its own metrics.
 */
export async function trainSeeds(opts: SeedsOptions): Promise<SeedsResult> {
  const { seeds, afterEpoch, ...rest } = opts;
  const history: EpochMetrics[] = [];
  // Epoch e (1-based): the seeds' metrics so far, and the decision every seed waits for.
  const pending = new Map<number, { rows: EpochMetrics[]; decide: (stop: boolean) => void; fail: (err: unknown) => void; decision: Promise<boolean> }>();
  let failed = false;
  const slot = (epoch: number) => {
    let s = pending.get(epoch);
    if (!s) {
      let decide!: (stop: boolean) => void;
      let fail!: (err: unknown) => void;
      const decision = new Promise<boolean>((resolve, reject) => ((decide = resolve), (fail = reject)));
      s = { rows: [], decide, fail, decision };
      pending.set(epoch, s);
    }
    return s;
  };
  const runs = seeds.map((seed) =>
    train({
      ...rest,
      config: { ...rest.config, seed },
      afterEpoch: async (m) => {
        // A seed that failed stops the others (they would wait for it forever).
        if (failed) return true;
        const s = slot(m.epoch);
        s.rows.push(m);
        if (s.rows.length === seeds.length) {
          const mean = meanMetrics(s.rows);
          history.push(mean);
          try {
            s.decide(Boolean(await afterEpoch?.(mean, history)));
          } catch (err) {
            s.fail(err);
          }
        }
        return s.decision;
      },
    }).catch((err: unknown) => {
      failed = true;
      for (const s of pending.values()) s.decide(true);
      throw err;
    }),
  );
  const settled = await Promise.allSettled(runs);
  const rejected = settled.find((r) => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return { runs: settled.map((r) => (r as PromiseFulfilledResult<TrainResult>).value), history };
}
