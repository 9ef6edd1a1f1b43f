import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dequantise, quantiseLayer } from '../../src/quant/quantise.js';
import {
  copyData,
  ensureBuilt,
  expectUserError,
  folderState,
  freshDir,
  initModelText,
  prepareData,
  readJson,
  removeTempDirs,
  runCli,
  runCliOk,
  writeText,
} from '../cli/run-cli.js';

/**
 * `s2prop train --init MODEL.json --quant int8|int4` through the built CLI on 60 training rows, starting
 * from an initialised 5-20-3 model (its sizes become the defaults, so no --hidden): exact resume, the
 * quantisation in the model, the calibrated start (the model written holds the quantised weights, which
 * reproduce themselves at clip percentile 100) as a candidate for selection (epoch 0), and bad input.
 */

vi.setConfig({ testTimeout: 60_000 });

const RUN = ['--init', 'init.json', '--train', 'small.csv', '--validation', 'v.csv', '--test', 't.csv', '--seed', '4', '--backend', 'wasm', '--quiet'];

interface Model {
  layers: { weights: number[][] }[];
  quantisation?: { type: 'int8' | 'int4'; clipPercentile: number };
  metrics: { testAccuracy: number; testLoss: number; bestEpoch: number; validationAccuracy: number };
  provenance: { initModel?: string; config: { quant: unknown; hidden: number[] } };
}

let initText = '';

/** Every weight is a whole mantissa times 2^exp at the model's clip percentile: quantising changes nothing. */
function expectReproducesItself(m: Model): void {
  m.layers.forEach((layer, l) => {
    const q = quantiseLayer(layer.weights, m.quantisation!.type, m.quantisation!.clipPercentile);
    expect(dequantise(q), `layer ${l + 1}`).toEqual(layer.weights);
  });
}

beforeAll(async () => {
  await ensureBuilt();
  prepareData();
  initText = initModelText('twin', 3, [20]);
}, 120_000);
afterAll(removeTempDirs);

/** A fresh folder with the CSVs and init.json (5-20-3). */
function newDir(): string {
  const dir = freshDir();
  copyData(dir);
  writeText(dir, 'init.json', initText);
  return dir;
}

describe.concurrent('train --init --quant', () => {
  it('2 epochs then --resume --epochs 3 with --quant int4 --clip-percentile 99 gives the byte-identical model and log of 3 epochs straight (resume is exact)', async () => {
    const [a, b] = [newDir(), newDir()];
    const flags = ['--quant', 'int4', '--clip-percentile', '99', '--out', 'model.json', '--log', 'metrics.csv'];
    await Promise.all([runCliOk(['train', ...RUN, ...flags, '--epochs', '3'], a), runCliOk(['train', ...RUN, ...flags, '--epochs', '2', '--keep-checkpoint'], b)]);
    await runCliOk(['train', ...RUN, ...flags, '--epochs', '3', '--resume'], b);
    const text = readFileSync(join(a, 'model.json'), 'utf8');
    expect(readFileSync(join(b, 'model.json'), 'utf8')).toBe(text);
    const strip = (csv: string) => csv.split('\n').map((l) => l.split(',').slice(0, -2).join(','));
    expect(strip(readFileSync(join(b, 'metrics.csv'), 'utf8'))).toEqual(strip(readFileSync(join(a, 'metrics.csv'), 'utf8')));

    const m = JSON.parse(text) as Model;
    // A calibrated start: the model holds its quantised weights, with clip percentile 100.
    expect(m.quantisation).toEqual({ type: 'int4', clipPercentile: 100 });
    expectReproducesItself(m);
    expect(m.provenance.initModel).toBe('init.json');
    expect(m.provenance.config.quant).toEqual({ type: 'int4', clipPercentile: 99, rounding: 'calibrated' });
    expect(m.provenance.config.hidden).toEqual([20]);
  });

  it('eval --json of the written int8 model equals its testAccuracy and testLoss (eval runs the quantised network like training did)', async () => {
    const dir = newDir();
    await runCliOk(['train', ...RUN, '--quant', 'int8', '--epochs', '1', '--out', 'model.json'], dir);
    const m = readJson<Model>(dir, 'model.json');
    expect(m.quantisation).toEqual({ type: 'int8', clipPercentile: 100 });
    const out = JSON.parse(await runCliOk(['eval', '--model', 'model.json', '--data', 't.csv', '--backend', 'wasm', '--json'], dir)) as { accuracy: number; loss: number };
    expect([out.accuracy, out.loss]).toEqual([m.metrics.testAccuracy, m.metrics.testLoss]);
  });

  it('--init of a quantised model without --quant continues with its quantisation (int8, calibrated start: percentile 100 written); --quant float32 trains float and writes no quantisation', async () => {
    const dir = newDir();
    const q = { ...(JSON.parse(initText) as object), quantisation: { type: 'int8', clipPercentile: 98 } };
    writeText(dir, 'init.json', JSON.stringify(q));
    await Promise.all([
      runCliOk(['train', ...RUN, '--epochs', '1', '--out', 'cont.json'], dir),
      runCliOk(['train', ...RUN, '--quant', 'float32', '--epochs', '1', '--out', 'float.json'], dir),
    ]);
    expect(readJson<Model>(dir, 'cont.json').quantisation).toEqual({ type: 'int8', clipPercentile: 100 });
    expect(readJson<Model>(dir, 'float.json').quantisation).toBeUndefined();
  });

  it('--quant-rounding nearest trains from the model as it is (the percentile rule each batch, master weights written, epoch 0 no candidate)', async () => {
    const dir = newDir();
    await runCliOk(['train', ...RUN, '--quant', 'int4', '--quant-rounding', 'nearest', '--clip-percentile', '99', '--epochs', '2', '--out', 'model.json'], dir);
    const m = readJson<Model>(dir, 'model.json');
    expect(m.quantisation).toEqual({ type: 'int4', clipPercentile: 99 });
    expect(m.metrics.bestEpoch).toBeGreaterThanOrEqual(1);
  });

  it('calibrated: the start is epoch 0 of the selection, every epoch competes as its calibrated rounding, and the model holds the selected quantised weights', async () => {
    const dir = newDir();
    const run = ['train', ...RUN.filter((f) => f !== '--quiet'), '--quant', 'int4', '--epochs', '2', '--out', 'model.json', '--log', 'log.csv'];
    const r = await runCli(run, dir);
    expect(r.status, r.stderr).toBe(0);
    const start = Number(r.stderr.match(/calibrated start: exponents -?\d+,-?\d+ \(percentile rule -?\d+,-?\d+\), training errors \d+ -> \d+ of 60, validation ([\d.]+) % \(epoch 0\)/)![1]) / 100;
    const m = readJson<Model>(dir, 'model.json');
    const epochs = readFileSync(join(dir, 'log.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[5]));
    expect(m.metrics.validationAccuracy).toBeCloseTo(Math.max(start, ...epochs), 3);
    expect(r.stdout).toContain(`best epoch ${m.metrics.bestEpoch}:`);
    expectReproducesItself(m);
  });

  it('training on from a calibrated int4 model with another calibrated run keeps it a calibrated network at percentile 100', async () => {
    const dir = newDir();
    await runCliOk(['train', ...RUN, '--quant', 'int4', '--epochs', '1', '--out', 'model.json'], dir);
    await runCliOk(['train', ...RUN, '--init', 'model.json', '--epochs', '1', '--out', 'again.json'], dir);
    const again = readJson<Model>(dir, 'again.json');
    expect(again.quantisation).toEqual({ type: 'int4', clipPercentile: 100 });
    expectReproducesItself(again);
  });

  it('--resume with another --init model than the checkpoint was written with is refused', async () => {
    const dir = newDir();
    writeText(dir, 'other.json', initText);
    await runCliOk(['train', ...RUN, '--quant', 'int4', '--epochs', '1', '--out', 'model.json', '--keep-checkpoint'], dir);
    const r = await runCli(['train', ...RUN, '--init', 'other.json', '--quant', 'int4', '--epochs', '2', '--out', 'model.json', '--resume'], dir);
    expectUserError(r, 'model.json.ckpt.json: written by a run with different init model (init.json)');
  });
});

describe.concurrent('train rejects bad quantisation or --init input with one line, exit 1, and writes nothing', () => {
  const cases: [string, string[], (string | RegExp)[]][] = [
    ['--quant int3', ['--quant', 'int3'], ["--quant: unknown quantisation 'int3'", 'expected float32, int8, int4']],
    ['--clip-percentile 0', ['--quant', 'int8', '--clip-percentile', '0'], ['--clip-percentile: expected a number in (0, 100]', "got '0'"]],
    ['--clip-percentile without --quant', ['--clip-percentile', '99'], ['quant.clipPercentile is 99, expected 100 with quant.type float32']],
    ['--init missing.json', ['--init', 'missing.json'], ['missing.json: cannot read the file (it does not exist)']],
    ['--init of a 20-hidden model with --hidden 50', ['--hidden', '50'], ['init.json: the model has hidden layers 20, the settings ask for 50']],
    ['--init with other steps (--steps 30)', ['--steps', '30'], ['init.json: the model has steps 27, the settings ask for 30']],
    ['--quant-rounding later', ['--quant', 'int8', '--quant-rounding', 'later'], ["--quant-rounding: expected calibrated or nearest, got 'later'"]],
  ];

  it.each(cases)('%s', async (_what, flags, mentions) => {
    const dir = newDir();
    writeText(dir, 'out.json', '{"previous": "model"}\n');
    const before = folderState(dir);
    const r = await runCli(['train', ...RUN, '--epochs', '1', '--out', 'out.json', ...flags], dir);
    expectUserError(r, ...mentions);
    expect(folderState(dir)).toEqual(before);
  });
});
