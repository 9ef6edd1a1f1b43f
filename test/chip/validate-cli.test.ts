import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyData, expectUserError, freshDir, readJson, REPO, runCli, runCliOk, setUpCliTests } from '../cli/run-cli.js';

/**
 * The user's path through the built CLI: export the committed twin model, simulate it, and validate it
 * against the tensor engine; the simulator must agree with the engine on every spike.
 */

setUpCliTests();

describe.concurrent('export, simulate, validate', () => {
  const model = join(REPO, 'test/fixtures/twin-seed0-before-subnormal-rule.json');

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
      expect(out).toContain('model: the export was made from this model (weights hash matches)');
      const acc = out.match(/accuracy on t\.csv: tensor engine ([\d.]+) %.*chip simulator ([\d.]+) %/)!;
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

  it('validate refuses a model the export was not made from (its weights hash differs), with one line', async () => {
    const dir = freshDir();
    copyData(dir);
    await runCliOk(['export', '--model', model, '--quant', 'int8', '--rounding', 'nearest', '--slots', '2', '--out', 'cfg'], dir);
    const other = JSON.parse(readFileSync(model, 'utf8')) as { layers: { weights: number[][] }[] };
    other.layers[0].weights[0][0] += 0.25;
    writeFileSync(join(dir, 'other.json'), JSON.stringify(other));
    const r = await runCli(['validate', '--model', 'other.json', '--config', 'cfg', '--data', 't.csv', '--backend', 'wasm'], dir);
    expectUserError(r, 'cfg/export.json: exported from a model whose weights hash to', "but other.json's hash to");
  });

  it('validate exits 1 below --min-agreement (default 100 %) with the report on stdout, 0 at or above it; --json gives the numbers', async () => {
    const dir = freshDir();
    copyData(dir);
    await runCliOk(['export', '--model', model, '--quant', 'float32', '--slots', '2', '--out', 'cfg'], dir);
    // An export without a model hash (as older versions wrote) validated against a changed model: the
    // hidden neuron 0's weights doubled, so its spikes, and the trains of some samples, differ.
    const path = join(dir, 'cfg', 'export.json');
    const info = JSON.parse(readFileSync(path, 'utf8')) as { model: { weightsSha256?: string } };
    delete info.model.weightsSha256;
    writeFileSync(path, JSON.stringify(info));
    const other = JSON.parse(readFileSync(model, 'utf8')) as { layers: { weights: number[][] }[] };
    for (const row of other.layers[0].weights) row[0] *= 2;
    writeFileSync(join(dir, 'other.json'), JSON.stringify(other));
    const args = ['validate', '--model', 'other.json', '--config', 'cfg', '--data', 't.csv', '--backend', 'wasm'];
    const failed = await runCli(args, dir);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain('model: not checked: this export records no model hash');
    const same = Number(/spike trains identical \(all layers\): (\d+)\/30/.exec(failed.stdout)![1]);
    expect(same).toBeLessThan(30);
    expect(failed.stderr).toBe(`s2prop: validate: spike trains identical on ${same} of 30 samples (${((100 * same) / 30).toFixed(3)} %), below --min-agreement 100 %\n`);
    const json = JSON.parse(await runCliOk([...args, '--min-agreement', '0', '--json'], dir)) as Record<string, unknown>;
    expect(json).toMatchObject({ samples: 30, spikeTrainsIdentical: same, modelChecked: false, passed: true, minAgreement: 0, quant: 'float32' });
    expectUserError(await runCli([...args, '--min-agreement', '150'], dir), "--min-agreement: expected a percentage in [0, 100], got '150'");
  });

  it('export --calibration on the test split (yinyang:test, or the CSV the model was tested on) warns that the test accuracy is then biased', async () => {
    const dir = freshDir();
    copyData(dir);
    const r = await runCli(['export', '--model', model, '--quant', 'int8', '--calibration', 'yinyang:test', '--slots', '2', '--out', 'cfg'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("warning: --calibration yinyang:test is the test split: the export's test accuracy will not be an unbiased estimate");
    const quiet = await runCli(['export', '--model', model, '--quant', 'int8', '--calibration', 'small.csv', '--slots', '2', '--out', 'cfg2'], dir);
    expect(quiet.stderr).not.toContain('warning');
  });

  it('export refuses an unknown --rounding and calibration data it cannot read, with one line', async () => {
    const dir = freshDir();
    copyData(dir);
    expectUserError(await runCli(['export', '--model', model, '--quant', 'int8', '--rounding', 'up', '--out', 'cfg'], dir), "--rounding: unknown rounding 'up'", 'expected nearest, calibrated');
    expectUserError(await runCli(['export', '--model', model, '--quant', 'int8', '--calibration', 'none.csv', '--out', 'cfg'], dir), 'none.csv: cannot read the file');
  });
});
