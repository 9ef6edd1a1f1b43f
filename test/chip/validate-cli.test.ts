import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { copyData, ensureBuilt, expectUserError, freshDir, prepareData, readJson, REPO, removeTempDirs, runCli, runCliOk } from '../cli/run-cli.js';

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

  // int8 with calibrated rounding (the default) on a small CSV, int4 with round-to-nearest.
  const cases: [string, string[], string][] = [
    ['int8', ['--calibration', 'small.csv'], 'rounding: calibrated on small.csv (60 samples): '],
    ['int4', ['--rounding', 'nearest'], 'rounding: nearest'],
  ];
  for (const [quant, flags, rounding] of cases) {
    it(`${quant} (${flags.join(' ')}): validate reports 100 % identical spike trains and equal accuracies on a CSV`, async () => {
      const dir = freshDir();
      copyData(dir);
      const summary = await runCliOk(['export', '--model', model, '--quant', quant, ...flags, '--slots', '2', '--out', 'cfg'], dir);
      expect(summary).toMatch(/real time at 150 MHz: worst case \d+ of 150000 cycles per tick: fits/);
      expect(summary).toContain(rounding);
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

  it('an export.json without mantissas (written before they were recorded) is validated with nearest rounding, as then', async () => {
    const dir = freshDir();
    copyData(dir);
    await runCliOk(['export', '--model', model, '--quant', 'int8', '--rounding', 'nearest', '--slots', '2', '--out', 'cfg'], dir);
    const path = join(dir, 'cfg', 'export.json');
    const info = JSON.parse(readFileSync(path, 'utf8')) as { quant: { layers: { mantissas?: string }[] } };
    info.quant.layers.forEach((l) => delete l.mantissas);
    writeFileSync(path, JSON.stringify(info));
    const out = await runCliOk(['validate', '--model', model, '--config', 'cfg', '--data', 't.csv', '--backend', 'wasm'], dir);
    expect(out).toContain('spike trains identical (all layers): 30/30 = 100.00 %');
  });

  it('validate runs the mantissas as exported: calibrated ones differ from nearest, and a damaged mantissa list is one error line', async () => {
    const dir = freshDir();
    copyData(dir);
    await runCliOk(['export', '--model', model, '--quant', 'int8', '--calibration', 'small.csv', '--slots', '2', '--out', 'cfg'], dir);
    const path = join(dir, 'cfg', 'export.json');
    const info = JSON.parse(readFileSync(path, 'utf8')) as { quant: { layers: { mantissas: string }[] } };
    info.quant.layers[1].mantissas = Buffer.from([1, 2, 3]).toString('base64');
    writeFileSync(path, JSON.stringify(info));
    const r = await runCli(['validate', '--model', model, '--config', 'cfg', '--data', 't.csv', '--backend', 'wasm'], dir);
    expectUserError(r, 'export.json: quant.layers[1].mantissas holds 3 mantissas, expected 360 (120 x 3)');
  });

  it('export refuses an unknown --rounding and calibration data it cannot read, with one line', async () => {
    const dir = freshDir();
    copyData(dir);
    expectUserError(await runCli(['export', '--model', model, '--quant', 'int8', '--rounding', 'up', '--out', 'cfg'], dir), "--rounding: unknown rounding 'up'", 'expected nearest, calibrated');
    expectUserError(await runCli(['export', '--model', model, '--quant', 'int8', '--calibration', 'none.csv', '--out', 'cfg'], dir), 'none.csv: cannot read the file');
  });
});
