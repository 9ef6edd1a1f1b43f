import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyData, freshDir, readJson, runCliOk, setUpCliTests } from '../cli/run-cli.js';

/**
 * `s2prop train` and `eval` through the built CLI on 60 training rows, 20 hidden neurons, wasm backend:
 * reproducible to the byte, an exact resume, and the metrics log and evaluation that go with them.
 */

setUpCliTests();

const RUN = ['--hidden', '20', '--train', 'small.csv', '--validation', 'v.csv', '--test', 't.csv', '--seed', '4', '--backend', 'wasm', '--quiet'];

/** A fresh folder with the CSVs; `train` there with RUN plus `flags`. */
async function trainIn(dir: string, flags: string[]): Promise<string> {
  return runCliOk(['train', ...RUN, ...flags], dir);
}

function newDataDir(): string {
  const dir = freshDir();
  copyData(dir);
  return dir;
}

function parseCsv(text: string): { header: string[]; rows: Record<string, string>[] } {
  const [head, ...lines] = text.trimEnd().split('\n');
  const header = head.split(',');
  return { header, rows: lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v]))) };
}

const TIMING = new Set(['trainSeconds', 'evalSeconds']);
const withoutTimings = (row: Record<string, string>) => Object.fromEntries(Object.entries(row).filter(([k]) => !TIMING.has(k)));

interface Model {
  layers: { weights: number[][] }[];
  metrics: { testAccuracy: number; testLoss: number; bestEpoch: number };
  provenance: { epochs: number };
}

describe.concurrent('train', () => {
  it('the same run twice (--epochs 2 --seed 4 --backend wasm) writes byte-identical model files (determinism)', async () => {
    const [a, b] = [newDataDir(), newDataDir()];
    await Promise.all([trainIn(a, ['--epochs', '2', '--out', 'model.json']), trainIn(b, ['--epochs', '2', '--out', 'model.json'])]);
    const textA = readFileSync(join(a, 'model.json'), 'utf8');
    expect(readFileSync(join(b, 'model.json'), 'utf8')).toBe(textA);
    const m = JSON.parse(textA) as Model;
    expect(m.layers.map((l) => [l.weights.length, l.weights[0].length])).toEqual([[5, 20], [20, 3]]);
  });

  it('2 epochs then --resume --epochs 3 gives the byte-identical model and the same metrics rows as 3 epochs straight (resume is exact)', async () => {
    const [a, b] = [newDataDir(), newDataDir()];
    await Promise.all([
      trainIn(a, ['--epochs', '3', '--out', 'model.json', '--log', 'metrics.csv']),
      trainIn(b, ['--epochs', '2', '--out', 'model.json', '--log', 'metrics.csv', '--keep-checkpoint']),
    ]);
    expect(parseCsv(readFileSync(join(b, 'metrics.csv'), 'utf8')).rows).toHaveLength(2);
    await trainIn(b, ['--epochs', '3', '--out', 'model.json', '--log', 'metrics.csv', '--resume']);

    expect(readFileSync(join(b, 'model.json'), 'utf8')).toBe(readFileSync(join(a, 'model.json'), 'utf8'));
    const logA = parseCsv(readFileSync(join(a, 'metrics.csv'), 'utf8'));
    const logB = parseCsv(readFileSync(join(b, 'metrics.csv'), 'utf8'));
    expect(logB.header).toEqual(logA.header);
    expect(logB.rows).toHaveLength(3);
    expect(logB.rows.map(withoutTimings)).toEqual(logA.rows.map(withoutTimings));
    // A finished run removes its checkpoint unless --keep-checkpoint.
    expect(existsSync(join(b, 'model.json.ckpt.json'))).toBe(false);
    expect(existsSync(join(a, 'model.json.ckpt.json'))).toBe(false);
  });

  it('the metrics CSV has one row per epoch with epoch, trainLoss, trainAccuracy, validationLoss, validationAccuracy, spikesPerSample1..2, silentNeurons1..2, trainSeconds', async () => {
    const dir = newDataDir();
    await trainIn(dir, ['--epochs', '2', '--out', 'model.json', '--log', 'metrics.csv']);
    const { header, rows } = parseCsv(readFileSync(join(dir, 'metrics.csv'), 'utf8'));
    const wanted = ['epoch', 'trainLoss', 'trainAccuracy', 'validationLoss', 'validationAccuracy', 'spikesPerSample1', 'spikesPerSample2', 'silentNeurons1', 'silentNeurons2', 'trainSeconds'];
    // In this order, other columns (lr, evalSeconds) allowed in between or after.
    expect(header.filter((c) => wanted.includes(c))).toEqual(wanted);
    expect(header).not.toContain('spikesPerSample3');
    expect(rows.map((r) => r.epoch)).toEqual(['1', '2']);
    for (const row of rows) {
      for (const c of wanted) expect(Number.isFinite(Number(row[c])), `${c} = '${row[c]}'`).toBe(true);
      for (const c of ['trainAccuracy', 'validationAccuracy']) {
        expect(Number(row[c])).toBeGreaterThanOrEqual(0);
        expect(Number(row[c])).toBeLessThanOrEqual(1);
      }
      expect(Number(row.trainLoss)).toBeGreaterThan(0);
      const silentHidden = Number(row.silentNeurons1);
      const silentOut = Number(row.silentNeurons2);
      expect(Number.isInteger(silentHidden) && silentHidden >= 0 && silentHidden <= 20).toBe(true);
      expect(Number.isInteger(silentOut) && silentOut >= 0 && silentOut <= 3).toBe(true);
      expect(Number(row.spikesPerSample1)).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('eval --json', () => {
  it('prints one JSON object whose accuracy (in [0,1]) and loss equal the model file\'s testAccuracy and testLoss on the same test CSV', async () => {
    const dir = newDataDir();
    await trainIn(dir, ['--epochs', '1', '--out', 'model.json']);
    const model = readJson<Model>(dir, 'model.json');
    const out = await runCliOk(['eval', '--model', 'model.json', '--data', 't.csv', '--backend', 'wasm', '--json'], dir);
    expect(out.endsWith('\n')).toBe(true);
    expect(out.trimEnd().split('\n')).toHaveLength(1);
    const result = JSON.parse(out) as { accuracy: number; loss: number; count: number; confusion: number[][] };
    expect(typeof result.accuracy).toBe('number');
    expect(result.accuracy).toBeGreaterThanOrEqual(0);
    expect(result.accuracy).toBeLessThanOrEqual(1);
    expect(Number.isFinite(result.loss)).toBe(true);
    expect(result.count).toBe(30);
    expect(result.confusion.flat().reduce((a, b) => a + b, 0)).toBe(30);
    expect(result.accuracy).toBe(model.metrics.testAccuracy);
    expect(result.loss).toBe(model.metrics.testLoss);
  });
});
