import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { copyData, ensureBuilt, freshDir, prepareData, readJson, REPO, removeTempDirs, runCliOk } from '../cli/run-cli.js';

/**
 * The user's path through the built CLI: export the committed twin model, simulate it, and validate it
 * against the tensor engine; the simulator must agree with the engine on every spike.
 */

vi.setConfig({ testTimeout: 60_000 });

beforeAll(async () => {
  await ensureBuilt();
  prepareData();
}, 120_000);
afterAll(removeTempDirs);

describe.concurrent('export, simulate, validate', () => {
  const model = join(REPO, 'results/main/model.json');

  for (const quant of ['int8', 'int4']) {
    it(`${quant}: validate reports 100 % identical spike trains and equal accuracies on a CSV`, async () => {
      const dir = freshDir();
      copyData(dir);
      const summary = await runCliOk(['export', '--model', model, '--quant', quant, '--slots', '2', '--out', 'cfg'], dir);
      expect(summary).toMatch(/real time at 150 MHz: worst case \d+ of 150000 cycles per tick: fits/);
      const out = await runCliOk(['validate', '--model', model, '--config', 'cfg', '--data', 't.csv', '--backend', 'wasm'], dir);
      expect(out).toContain('spike trains identical (all layers): 30/30 = 100.00 %');
      const acc = out.match(/accuracy: tensor engine ([\d.]+) %.*chip simulator ([\d.]+) %/)!;
      expect(acc[1]).toBe(acc[2]);
      await runCliOk(['simulate', '--config', 'cfg', '--data', 't.csv', '--out', 'r.json', '--record', 'spikes'], dir);
      const r = readJson<{ samples: { prediction: number; label: number; spikes: unknown[] }[]; accuracy: number }>(dir, 'r.json');
      expect(r.samples).toHaveLength(30);
      expect(r.samples[0].spikes).toHaveLength(2);
      expect(r.accuracy * 100).toBeCloseTo(Number(acc[2]), 2);
    });
  }
});
