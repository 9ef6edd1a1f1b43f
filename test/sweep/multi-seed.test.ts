import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDatasetCsv } from '../../src/data/csv.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { useBackend } from '../../src/engine/backend.js';
import { UserError } from '../../src/errors.js';
import { parseSpace } from '../../src/sweep/space/space-file.js';
import { SqliteStore } from '../../src/sweep/store/sqlite-store.js';
import { meanMetrics, runWorker, trialConfig } from '../../src/sweep/worker.js';
import { train, trainStack } from '../../src/train/trainer.js';

const dir = mkdtempSync(join(tmpdir(), 's2prop-multi-seed-'));
const data = { train: join(dir, 'train.csv'), validation: join(dir, 'val.csv'), test: join(dir, 'test.csv') };
beforeAll(async () => {
  await useBackend('wasm');
  writeDatasetCsv(data.train, yinyangDataset({ size: 150, seed: 5 }));
  writeDatasetCsv(data.validation, yinyangDataset({ size: 101, seed: 6 }));
  writeDatasetCsv(data.test, yinyangDataset({ size: 50, seed: 7 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function space(seeds: number | undefined, epochs = 3, seedAggregate?: 'worst') {
  return parseSpace(
    {
      format: 's2prop-space',
      version: 1,
      base: { preset: 'twin', settings: { hidden: [16], batch: 10, seed: 7 } },
      objective: { metric: 'validationAccuracy', direction: 'maximize', ...(seeds === undefined ? {} : { seeds }), ...(seedAggregate ? { seedAggregate } : {}) },
      budget: { trials: 1, epochs },
      sampler: { type: 'random', seed: 0 },
      parameters: { 'optimiser.lr': { type: 'fixed', value: 0.004 } },
    },
    'space.yaml',
  );
}

describe('multi-seed objective', () => {
  it('a study with seeds: 2 reports the mean of two direct train runs (seeds 7 and 8): value and every epoch', async () => {
    const s = space(2);
    const store = new SqliteStore(join(dir, 'two.db'));
    await store.open('two', s);
    expect(await runWorker({ store, space: s, backend: 'wasm', data })).toBe(1);
    const [trial] = await store.trials();
    await store.close();

    // The independent expectation: two plain training runs of the trial's config, one per seed.
    const config = trialConfig(s, trial.params, 'direct');
    const direct = [await train({ config: { ...config, seed: 7 }, data, backend: 'wasm' }), await train({ config: { ...config, seed: 8 }, data, backend: 'wasm' })];
    const best = direct.map((r) => Math.max(...r.history.map((h) => h.validationAccuracy)));
    expect(best[0]).not.toBe(best[1]); // otherwise a mean could not tell the seeds apart from one seed twice
    expect(trial.state).toBe('complete');
    expect(trial.value).toBe((best[0] + best[1]) / 2);
    expect(trial.attrs.seeds).toEqual([7, 8]);
    expect(trial.attrs.seedValues).toEqual(best);
    expect(trial.intermediate).toEqual(direct[0].history.map((h, e) => ({ epoch: e + 1, value: (h.validationAccuracy + direct[1].history[e].validationAccuracy) / 2 })));
  });

  it('seedAggregate worst: the value is the worse seed\'s best epoch, every epoch the worse seed\'s (direct runs of seeds 7 and 8)', async () => {
    const s = space(2, 3, 'worst');
    const store = new SqliteStore(join(dir, 'worst.db'));
    await store.open('worst', s);
    await runWorker({ store, space: s, backend: 'wasm', data });
    const [trial] = await store.trials();
    await store.close();
    const config = trialConfig(s, trial.params, 'direct');
    const direct = [await train({ config: { ...config, seed: 7 }, data, backend: 'wasm' }), await train({ config: { ...config, seed: 8 }, data, backend: 'wasm' })];
    const best = direct.map((r) => Math.max(...r.history.map((h) => h.validationAccuracy)));
    expect(trial.value).toBe(Math.min(...best));
    expect(trial.attrs.seedValues).toEqual(best);
    expect(trial.intermediate).toEqual(direct[0].history.map((h, e) => ({ epoch: e + 1, value: Math.min(h.validationAccuracy, direct[1].history[e].validationAccuracy) })));
  });

  it('without seeds a trial is the plain training run of the base seed, as before', async () => {
    const s = space(undefined);
    const store = new SqliteStore(join(dir, 'one.db'));
    await store.open('one', s);
    await runWorker({ store, space: s, backend: 'wasm', data });
    const [trial] = await store.trials();
    await store.close();
    const r = await train({ config: trialConfig(s, trial.params, 'direct'), data, backend: 'wasm' });
    expect(trial.value).toBe(r.validation.accuracy);
    expect(trial.attrs.bestEpoch).toBe(r.bestEpoch);
    expect(trial.intermediate.map((i) => i.value)).toEqual(r.history.map((h) => h.validationAccuracy));
  });

  it('stopping after an epoch stops every seed there, and the mean history has that epoch only', async () => {
    const config = trialConfig(space(3), {}, 'stop');
    const seen: number[] = [];
    const group = { afterEpoch: (rows: Record<string, number>[]) => (seen.push(rows[0].epoch), history.push(meanMetrics(rows)), true) };
    const history: Record<string, number>[] = [];
    const runs = await trainStack({ runs: [1, 2, 3].map((seed) => ({ config: { ...config, seed }, group })), data, backend: 'wasm' });
    expect(seen).toEqual([1]);
    expect(runs.map((r) => r.history.length)).toEqual([1, 1, 1]);
    expect(history).toEqual([meanMetrics(runs.map((r) => r.history[0]))]);
  });

  it('a setting every seed refuses is the trainer\'s error, not a hang', async () => {
    const config = trialConfig(space(2), {}, 'bad');
    const group = { afterEpoch: () => false };
    await expect(trainStack({ runs: [0, 1].map((seed) => ({ config: { ...config, seed }, group })), data: { ...data, test: join(dir, 'missing.csv') }, backend: 'wasm' })).rejects.toBeInstanceOf(UserError);
  });

  it('meanMetrics averages each column (hand calculation)', () => {
    expect(meanMetrics([{ epoch: 2, a: 1, b: 0.5 }, { epoch: 2, a: 3, b: 0.25 }])).toEqual({ epoch: 2, a: 2, b: 0.375 });
  });
});
