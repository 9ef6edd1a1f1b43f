import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeDatasetCsv } from '../../src/data/csv.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { useBackend } from '../../src/engine/backend.js';
import { parseSpace } from '../../src/sweep/space/space-file.js';
import { SqliteStore } from '../../src/sweep/store/sqlite-store.js';
import type { Trial } from '../../src/sweep/types.js';
import { runWorker } from '../../src/sweep/worker.js';
import { ensureBuilt, expectUserError, freshDir, removeTempDirs, runCli, runCliOk } from '../cli/run-cli.js';

/**
 * The sweep worker with stacked trials, on SQLite studies: every trial finished exactly once (with
 * stacks of two shapes, pruned trials replaced part-way, two worker processes); and since the random
 * sampler's trial n depends on n only and a stacked trial trains to the numbers it gives alone, a
 * stacked sweep without pruning equals the unstacked sweep trial by trial.
 */

vi.setConfig({ testTimeout: 120_000 });

const tmp = mkdtempSync(join(tmpdir(), 's2prop-stacked-worker-'));
const data = { train: join(tmp, 'train.csv'), validation: join(tmp, 'val.csv'), test: join(tmp, 'test.csv') };

beforeAll(async () => {
  writeDatasetCsv(data.train, yinyangDataset({ size: 60, seed: 5 }));
  writeDatasetCsv(data.validation, yinyangDataset({ size: 30, seed: 6 }));
  writeDatasetCsv(data.test, yinyangDataset({ size: 30, seed: 7 }));
  await useBackend('wasm');
  await ensureBuilt();
}, 120_000);
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  removeTempDirs();
});

/** Two shapes (hidden 16 or 12) and a learning rate; optionally median pruning from epoch 2. */
function rawSpace(trials: number, epochs: number, prune: boolean) {
  return {
    format: 's2prop-space',
    version: 1,
    base: { preset: 'twin', settings: { evalBatch: 16, batch: 8 } },
    objective: { metric: 'validationAccuracy', direction: 'maximize' },
    budget: { trials, epochs },
    sampler: { type: 'random', seed: 3 },
    ...(prune ? { pruner: { type: 'median', warmupEpochs: 1, minTrials: 1 } } : {}),
    parameters: {
      'optimiser.lr': { type: 'loguniform', low: 0.0005, high: 0.05 },
      hidden: { type: 'categorical', choices: [[16], [12]] },
    },
  };
}

function expectEachFinishedOnce(trials: Trial[], n: number, epochs: number): void {
  expect(trials.map((t) => t.number)).toEqual(Array.from({ length: n }, (_, i) => i));
  for (const t of trials) {
    expect(['complete', 'pruned'], `trial ${t.number}`).toContain(t.state);
    const ran = t.state === 'complete' ? epochs : t.intermediate.length;
    // one value per epoch, none twice, none missing
    expect(t.intermediate.map((e) => e.epoch), `trial ${t.number}`).toEqual(Array.from({ length: ran }, (_, i) => i + 1));
  }
}

async function sweep(name: string, raw: ReturnType<typeof rawSpace>, stack: number): Promise<{ trials: Trial[]; ran: number }> {
  const store = new SqliteStore(join(tmp, `${name}.db`));
  await store.open(name, raw);
  const space = parseSpace(raw, name);
  const options = { store, space, backend: 'wasm', data, worker: name };
  const ran = await runWorker({ ...options, stack });
  const trials = await store.trials();
  await store.close();
  return { trials, ran };
}

describe('sweep worker with stacked trials', () => {
  it('without pruning: every trial finished once, and each equals the unstacked sweep trial by trial', async () => {
    const raw = rawSpace(7, 2, false);
    const alone = await sweep('alone', raw, 1);
    const stacked = await sweep('stacked', raw, 3);
    expect(stacked.ran).toBe(7);
    expectEachFinishedOnce(stacked.trials, 7, 2);
    // both shapes occur, and shapes were stacked
    expect(new Set(stacked.trials.map((t) => JSON.stringify(t.params.hidden))).size).toBe(2);
    expect(stacked.trials.some((t) => (t.attrs.stacked as number) > 1)).toBe(true);
    const same = (t: Trial) => ({ number: t.number, params: t.params, state: t.state, value: t.value, intermediate: t.intermediate, bestEpoch: t.attrs.bestEpoch, validationLoss: t.attrs.validationLoss });
    expect(stacked.trials.map(same)).toEqual(alone.trials.map(same));
  });

  it('with median pruning: pruned trials leave the stack, new ones take their places, every trial finished once', async () => {
    const { trials, ran } = await sweep('pruned', rawSpace(9, 4, true), 3);
    expect(ran).toBe(9);
    expectEachFinishedOnce(trials, 9, 4);
    expect(trials.some((t) => t.state === 'pruned')).toBe(true);
  });

  it('CLI: sweep run --workers 2 --stack 3 finishes a 6-trial study, each trial once; --stack 0 is a one-line error', async () => {
    const dir = freshDir();
    const raw = rawSpace(6, 2, false);
    writeFileSync(join(dir, 'space.json'), JSON.stringify({ ...raw, base: { ...raw.base, settings: { ...raw.base.settings, hidden: [16] } } }));
    const table = await runCliOk(['sweep', 'run', '--space', 'space.json', '--study', 'study.db', '--workers', '2', '--stack', '3', '--backend', 'wasm'], dir);
    expect(table).toContain('6/6 trials: 6 complete');
    const store = new SqliteStore(join(dir, 'study.db'));
    await store.open('study', undefined);
    expectEachFinishedOnce(await store.trials(), 6, 2);
    await store.close();
    expectUserError(await runCli(['sweep', 'run', '--space', 'space.json', '--study', 'other.db', '--stack', '0'], dir), '--stack');
    // A multi-seed objective stacks too: each trial's seeds train together, whole trials share a stack.
    writeFileSync(join(dir, 'seeds.json'), JSON.stringify({ ...raw, budget: { trials: 3, epochs: 2 }, objective: { ...raw.objective, seeds: 2 } }));
    expect(await runCliOk(['sweep', 'run', '--space', 'seeds.json', '--study', 'seeds.db', '--stack', '4', '--backend', 'wasm'], dir)).toContain('3/3 trials: 3 complete');
  });

  it('multi-seed objective with --stack: trials of two seeds stacked two at a time equal the trials run one by one', async () => {
    const raw = { ...rawSpace(5, 2, false), objective: { metric: 'validationAccuracy', direction: 'maximize', seeds: 2 } };
    const alone = await sweep('seeds-alone', raw, 1);
    const stacked = await sweep('seeds-stacked', raw, 4);
    expect(stacked.ran).toBe(5);
    expectEachFinishedOnce(stacked.trials, 5, 2);
    expect(stacked.trials.some((t) => t.attrs.stacked === 4)).toBe(true);
    const same = (t: Trial) => ({ number: t.number, params: t.params, value: t.value, intermediate: t.intermediate, seeds: t.attrs.seeds, seedValues: t.attrs.seedValues, bestEpochs: t.attrs.bestEpochs, validationLoss: t.attrs.validationLoss });
    expect(stacked.trials.map(same)).toEqual(alone.trials.map(same));
    // the trial's value is the mean of its seeds' values
    for (const t of stacked.trials) expect(t.value).toBeCloseTo((t.attrs.seedValues as number[]).reduce((a, v) => a + v, 0) / 2, 12);
  });
});
