import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { presetConfig, resolveConfig } from '../../src/model/train-config.js';
import { checkMainJobFiles, fineTuningConfig, mainJobFiles } from '../../src/pipeline/main-job.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the main job', () => {
  it('fine-tunes with the float32 run\'s settings but int8 at clip percentile 99, nearest rounding, lr 0.0005 and 10 epochs', () => {
    const config = resolveConfig('twin', [{ hidden: [30], seed: 4, epochs: 40, optimiser: { beta1: 0.85 }, loss: { xi: 1.2 } }], 'test');
    const expected = { ...config, quant: { type: 'int8', clipPercentile: 99, rounding: 'nearest' }, optimiser: { ...config.optimiser, lr: 0.0005 }, epochs: 10 };
    expect(fineTuningConfig(config)).toEqual(expected);
    // A run that trained int4 weights is fine-tuned for int8 all the same.
    const int4 = resolveConfig('twin', [{ quant: { type: 'int4', clipPercentile: 95, rounding: 'calibrated' } }], 'test');
    expect(fineTuningConfig(int4).quant).toEqual({ type: 'int8', clipPercentile: 99, rounding: 'nearest' });
    expect(fineTuningConfig(presetConfig('exact')).steps).toBe(160);
  });

  it('writes its int8 model, log and summary beside the float32 model, and checks them (the curves too) before any work', () => {
    expect(mainJobFiles('run/main/model.json')).toEqual({ int8Model: 'run/main/model-int8.json', int8Log: 'run/main/metrics-int8.csv', summary: 'run/main/summary.json' });
    const dir = mkdtempSync(join(tmpdir(), 's2prop-main-'));
    dirs.push(dir);
    expect(() => checkMainJobFiles(join(dir, 'model.json'))).not.toThrow();
    mkdirSync(join(dir, 'metrics-int8.svg'));
    expect(() => checkMainJobFiles(join(dir, 'model.json'))).toThrow(`${join(dir, 'metrics-int8.svg')}: is a folder, expected a file path`);
  });
});
