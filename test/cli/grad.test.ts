import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureBuilt, expectUserError, folderState, freshDir, removeTempDirs, runCli, writeJson, writeText } from './run-cli.js';

/** `s2prop grad` through the built CLI: a hand-checked tiny network, and rejected batch files. */

vi.setConfig({ testTimeout: 30_000 });

beforeAll(ensureBuilt, 120_000);
afterAll(removeTempDirs);

const T = 10;
const LOSS = { type: 'ttfs-ce', xi: 1.5, alpha: 0.01, tau1: 5 };

/**
 * 2 inputs -> 1 hidden neuron -> 2 outputs, no bias input. The hidden current I never exceeds the sum of
 * its positive weights, 0.5 + 0.25 = 0.75, and V (an exponential average of I) stays below it, under the
 * threshold 1: the hidden neuron never spikes, so neither do the outputs.
 */
const TINY = {
  format: 's2prop-model',
  version: 1,
  steps: T,
  neuron: { dtMs: 1, tauMemMs: 20, tauSynMs: 5, threshold: 1 },
  loss: LOSS,
  encoding: { type: 'latency', tMin: 0, tMax: T - 1, bias: false },
  layers: [{ weights: [[0.5], [0.25]] }, { weights: [[0.5, -0.5]] }],
};

const BATCH = {
  steps: T,
  inputs: 2,
  samples: [
    { spikes: [[0, 1], [1, 3]], label: 0 },
    { spikes: [], label: 1 },
  ],
};

interface Grads {
  loss: number;
  firstSpikes: number[][];
  grads: number[][][];
}

describe('grad on a tiny silent network', () => {
  it('loss is ln 2 + a*(exp(T/tau1) - 1), first spikes are T, gradients are zero with shapes [layer][input][output] (hand calculation)', async () => {
    const dir = freshDir();
    writeJson(dir, 'model.json', TINY);
    writeJson(dir, 'batch.json', BATCH);
    const r = await runCli(['grad', '--model', 'model.json', '--batch', 'batch.json', '--backend', 'wasm'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const g = JSON.parse(r.stdout) as Grads; // without --out, the JSON goes to stdout

    // Both outputs silent: t = T for both, softmax p = 1/2 each, CE = ln 2; R = a (exp(T/tau1) - 1).
    const expected = Math.log(2) + LOSS.alpha * (Math.exp(T / LOSS.tau1) - 1);
    expect(g.loss).toBeCloseTo(expected, 6); // per-sample terms are stored as float32
    expect(g.firstSpikes).toEqual([[T, T], [T, T]]);

    expect(g.grads).toHaveLength(2);
    expect(g.grads[0]).toHaveLength(2); // inputs of layer 0
    for (const row of g.grads[0]) expect(row).toHaveLength(1); // the hidden neuron
    expect(g.grads[1]).toHaveLength(1); // the hidden neuron feeds layer 1
    expect(g.grads[1][0]).toHaveLength(2); // two outputs
    // No output spike before T - 1, so no error is injected and every gradient is exactly zero.
    for (const w of g.grads.flat(2)) expect(Math.abs(w)).toBe(0);
  });
});

describe.concurrent('grad rejects a batch file that does not fit, with one line naming file, field and expectation', () => {
  const sample = { spikes: [[0, 1]], label: 0 };
  const cases: [string, string, (string | RegExp)[]][] = [
    ['steps not matching the model', JSON.stringify({ ...BATCH, steps: T - 1, samples: [sample] }), ['steps is 9, expected 10 (the model\'s steps)']],
    ['inputs not matching the model', JSON.stringify({ ...BATCH, inputs: 3, samples: [sample] }), ['inputs is 3, expected 2 (the model\'s inputs)']],
    ['a spike input index out of range', JSON.stringify({ ...BATCH, samples: [{ spikes: [[2, 1]], label: 0 }] }), ['samples[0].spikes[0][0]', 'input index 2 is out of range, expected 0..1']],
    ['a spike step out of range', JSON.stringify({ ...BATCH, samples: [sample, { spikes: [[0, 0], [1, T]], label: 0 }] }), ['samples[1].spikes[1][1]', 'step 10 is out of range, expected 0..9']],
    ['a label out of range', JSON.stringify({ ...BATCH, samples: [sample, { spikes: [], label: 2 }] }), ['samples[1].label is 2, expected 0..1 (the model\'s outputs)']],
    ['text that is not JSON', '{"steps": 10, "inputs": 2, "samples": [', ['not valid JSON']],
  ];

  it.each(cases)('%s (and grads.json is left as it was)', async (_what, text, mentions) => {
    const dir = freshDir();
    writeJson(dir, 'model.json', TINY);
    writeText(dir, 'batch.json', text);
    writeText(dir, 'grads.json', 'previous contents\n');
    const before = folderState(dir);
    const r = await runCli(['grad', '--model', 'model.json', '--batch', 'batch.json', '--backend', 'wasm', '--out', 'grads.json'], dir);
    expectUserError(r, /^s2prop: batch\.json: /, ...mentions);
    expect(folderState(dir)).toEqual(before);
  });
});
