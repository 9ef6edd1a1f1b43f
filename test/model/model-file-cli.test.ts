import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { copyData, ensureBuilt, expectUserError, folderState, freshDir, initModelText, prepareData, removeTempDirs, runCli, runCliOk, writeText } from '../cli/run-cli.js';

/**
 * Bad model files through the built CLI (`eval --model`): each is rejected with exit code 1 and one
 * stderr line that names the file, the field and what was expected.
 */

vi.setConfig({ testTimeout: 30_000 });

interface Model {
  format: string;
  version: number;
  steps: number;
  neuron: Record<string, number>;
  constants: Record<string, number>;
  encoding: Record<string, unknown>;
  layers: { weights: number[][] }[];
  [key: string]: unknown;
}

/** What `init --preset twin --seed 3` writes: a valid 5-120-3 model to spoil one field at a time. */
let baseText = '';

beforeAll(async () => {
  await ensureBuilt();
  prepareData();
  baseText = initModelText('twin', 3);
}, 120_000);
afterAll(removeTempDirs);

function spoiled(edit: (m: Model) => void): string {
  const m = JSON.parse(baseText) as Model;
  edit(m);
  return JSON.stringify(m);
}

describe.concurrent('eval rejects a bad model file with one line naming file, field and expectation', () => {
  const cases: [string, () => string, (string | RegExp)[]][] = [
    ['text that is not JSON', () => '{"format": "s2prop-model", ', ['not valid JSON']],
    ['another format', () => spoiled((m) => (m.format = 'keras')), ['format', '"s2prop-model"']],
    ['another version', () => spoiled((m) => (m.version = 2)), ['version', 'expected 1']],
    ['a missing key (neuron)', () => spoiled((m) => delete (m as Partial<Model>).neuron), ['neuron is missing']],
    ['steps < 3', () => spoiled((m) => { m.steps = 2; m.encoding.tMax = 1; m.encoding.tMin = 0; }), ['steps', '>=3']],
    ['a negative membrane time constant', () => spoiled((m) => (m.neuron.tauMemMs = -20)), ['neuron.tauMemMs', '>0']],
    ['zero layers', () => spoiled((m) => (m.layers = [])), ['layers', '>=1']],
    ['a layer with a row missing', () => spoiled((m) => m.layers[1].weights.pop()), ['layers[1].weights has 119 rows, expected 120 (the outputs of layers[0])']],
    ['ragged rows', () => spoiled((m) => m.layers[0].weights[2].pop()), ['layers[0].weights[2] has 119 entries, expected 120']],
    ['a non-finite weight (1e999 reads as Infinity)', () => baseText.replace(/\[\s*\[(-?[\d.e-]+)/, '[[1e999'), ['layers[0].weights[0][0]', 'expected number', 'Infinity']],
    ['edited float32 constants', () => spoiled((m) => (m.constants.alpha = 0.8)), ['constants.alpha is 0.8, expected 0.8187307715415955']],
    ['encoding.tMax beyond steps - 1', () => spoiled((m) => (m.encoding.tMax = 27)), ['encoding.tMax is 27, expected at most steps - 1 = 26']],
    ['an unknown top-level key', () => spoiled((m) => (m.colour = 'red')), ['colour: unknown key']],
    ['an unknown nested key', () => spoiled((m) => (m.neuron.tauMem = 20)), ['neuron.tauMem: unknown key']],
    ['an unknown quantisation type', () => spoiled((m) => (m.quantisation = { type: 'int3', clipPercentile: 100 })), ['quantisation.type', '"int8"', '"int4"']],
    ['a clip percentile of 0', () => spoiled((m) => (m.quantisation = { type: 'int4', clipPercentile: 0 })), ['quantisation.clipPercentile', '>0']],
  ];

  it.each(cases)('%s', async (_what, text, mentions) => {
    const dir = freshDir();
    copyData(dir);
    writeText(dir, 'bad.json', text());
    const r = await runCli(['eval', '--model', 'bad.json', '--data', 't.csv', '--backend', 'wasm'], dir);
    expectUserError(r, /^s2prop: bad\.json: /, ...mentions);
  });

  it('grad reads models through the same checks (row count), and writes no --out file', async () => {
    const dir = freshDir();
    writeText(dir, 'bad.json', spoiled((m) => m.layers[1].weights.pop()));
    writeText(dir, 'batch.json', JSON.stringify({ steps: 27, inputs: 5, samples: [{ spikes: [[0, 3]], label: 0 }] }));
    const before = folderState(dir);
    const r = await runCli(['grad', '--model', 'bad.json', '--batch', 'batch.json', '--out', 'grads.json', '--backend', 'wasm'], dir);
    expectUserError(r, 'bad.json: layers[1].weights has 119 rows, expected 120');
    expect(folderState(dir)).toEqual(before);
  });
});

describe.concurrent('the model file written by init reads back', () => {
  it('eval accepts an untouched init model (the spoiled cases above differ only in the spoiled field)', async () => {
    const dir = freshDir();
    copyData(dir);
    writeText(dir, 'model.json', baseText);
    const out = await runCliOk(['eval', '--model', 'model.json', '--data', 't.csv', '--backend', 'wasm', '--json'], dir);
    expect(JSON.parse(out).count).toBe(30);
  });
});
