import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { copyData, ensureBuilt, expectUserError, folderState, freshDir, initModelText, prepareData, readJson, removeTempDirs, runCli, runCliOk, writeJson, writeText } from './run-cli.js';

/**
 * chip-grad and chip-train from the command line: agreement with s2prop grad, a training log with the
 * cost columns, exact resume, and the bad-input paths (one line, nothing written).
 */

const BATCH = {
  steps: 27,
  inputs: 5,
  samples: [
    { spikes: [[0, 3], [1, 10], [2, 7], [3, 20], [4, 0], [1, 15]], label: 1 },
    { spikes: [[0, 13], [1, 4], [2, 17], [3, 2], [4, 0]], label: 0 },
    { spikes: [[0, 8], [1, 9], [2, 11], [3, 12], [4, 0]], label: 2 },
  ],
};

type Grads = { loss: number; firstSpikes: number[][]; grads: number[][][] };
type Model = { layers: { weights: number[][] }[]; provenance: Record<string, unknown> };

vi.setConfig({ testTimeout: 120_000 });

let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  prepareData();
  dir = freshDir();
  copyData(dir);
  writeText(dir, 'init.json', initModelText('twin', 3, [20]));
  writeJson(dir, 'batch.json', BATCH);
  await runCliOk(['export', '--model', 'init.json', '--train', '--slots', '2', '--batch', '4', '--out', 'cfg'], dir);
}, 120_000);

afterAll(removeTempDirs);

describe.concurrent('chip-grad and chip-train', () => {
  it('chip-grad writes the grad JSON and equals s2prop grad within 1e-5 of the largest entry', async () => {
    await runCliOk(['chip-grad', '--config', 'cfg', '--batch', 'batch.json', '--out', 'chip.json'], dir);
    await runCliOk(['grad', '--model', 'init.json', '--batch', 'batch.json', '--backend', 'wasm', '--out', 'engine.json'], dir);
    const chip = readJson<Grads>(dir, 'chip.json');
    const engine = readJson<Grads>(dir, 'engine.json');
    expect(chip.firstSpikes).toEqual(engine.firstSpikes);
    const scale = Math.max(...engine.grads.flat(2).map(Math.abs));
    expect(scale).toBeGreaterThan(0);
    const diff = Math.max(...engine.grads.flat(2).map((g, i) => Math.abs(g - chip.grads.flat(2)[i])));
    expect(diff / scale).toBeLessThan(1e-5);
    expect(Math.abs(chip.loss - engine.loss) / engine.loss).toBeLessThan(1e-5);
  });

  it('chip-train writes a model with on-chip provenance and a log with cost per sample; --resume continues exactly', async () => {
    const run = (out: string, epochs: number, resume = false, extra: string[] = []) =>
      runCliOk(['chip-train', '--config', 'cfg', '--data', 'small.csv', '--validation', 'v.csv', '--epochs', String(epochs), '--seed', '2', '--quiet', '--out', out, '--log', `${out}.csv`, ...(resume ? ['--resume'] : []), ...extra], dir);
    await run('straight.json', 2);
    await runCliOk(['chip-train', '--config', 'cfg', '--data', 'small.csv', '--epochs', '1', '--quiet', '--out', 'r.json', '--report', 'cost.json'], dir);
    const cost = readJson<{ perPe: { id: string; maxCycles: number[] }[]; realTime: { fits: boolean }[]; busiestCyclesPerTick: number[] }>(dir, 'cost.json');
    expect(cost.perPe.length).toBeGreaterThan(4); // 2 slots of input, layer 1, layer 2, loss; an optimiser
    expect(cost.busiestCyclesPerTick.length).toBeGreaterThan(2 * 27);
    expect(cost.realTime.map((r) => r.fits)).toEqual([true, true]);
    await run('resumed.json', 1, false, ['--keep-checkpoint']);
    await run('resumed.json', 2, true);
    const straight = readJson<Model>(dir, 'straight.json');
    const resumed = readJson<Model>(dir, 'resumed.json');
    expect(resumed.layers).toEqual(straight.layers);
    // A finished run removes its checkpoint unless --keep-checkpoint.
    expect(existsSync(join(dir, 'resumed.json.chip-ckpt.json'))).toBe(false);
    expect(existsSync(join(dir, 'straight.json.chip-ckpt.json'))).toBe(false);
    expect(straight.provenance.backend).toBe('chip-simulator');
    expect(straight.provenance.trainedOn).toMatch(/on-chip/);
    const init = readJson<Model>(dir, 'init.json');
    expect(straight.layers[0].weights).not.toEqual(init.layers[0].weights);
    const csv = readFileSync(join(dir, 'straight.json.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/ticksPerSample.*cyclesPerSample.*packetsPerSample/);
    expect(csv[0]).toMatch(/realTimeFactor150MHz/);
    expect(csv).toHaveLength(3);
    // The chip-trained model runs anywhere a model runs.
    expect(await runCliOk(['eval', '--model', 'straight.json', '--data', 't.csv', '--backend', 'wasm'], dir)).toMatch(/accuracy/);
  });

  it('chip-loop on a float32 export trains exactly as s2prop train (same init, data order and Adam), with no spike mismatch', async () => {
    const d = freshDir();
    copyData(d);
    writeText(d, 'init.json', initModelText('twin', 3, [20]));
    await runCliOk(['export', '--model', 'init.json', '--quant', 'float32', '--slots', '3', '--out', 'f32'], d);
    // Selected on the training data itself, so that a trained epoch beats the untrained start
    // (chip-loop also considers epoch 0, the weights as given; train does not).
    const data = ['--train', 'small.csv', '--validation', 'small.csv', '--test', 't.csv'];
    const r = await runCli(['chip-loop', '--config', 'f32', '--model', 'init.json', ...data, '--epochs', '2', '--seed', '3', '--batch', '22', '--out', 'loop.json', '--backend', 'wasm'], d);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/spike mismatches 0\n.*spike mismatches 0/s);
    await runCliOk(['train', '--preset', 'twin', '--hidden', '20', '--seed', '3', '--epochs', '2', ...data, '--backend', 'wasm', '--quiet', '--out', 'off.json'], d);
    expect(readJson<Model>(d, 'loop.json').layers).toEqual(readJson<Model>(d, 'off.json').layers);
  });

  it('chip-loop applies the silent-label nudge off-chip exactly as s2prop train does', async () => {
    const d = freshDir();
    copyData(d);
    // Output neuron 0 never fires at the start: its samples have a silent label neuron for the nudge.
    const model = JSON.parse(initModelText('twin', 3, [20]));
    for (const row of model.layers[1].weights) row[0] = -1;
    writeJson(d, 'init.json', { ...model, loss: { ...model.loss, nudge: 0.5 } });
    await runCliOk(['export', '--model', 'init.json', '--quant', 'float32', '--slots', '3', '--out', 'f32'], d);
    const data = ['--train', 'small.csv', '--validation', 'small.csv', '--test', 't.csv', '--seed', '3', '--batch', '22', '--backend', 'wasm'];
    const r = await runCli(['chip-loop', '--config', 'f32', '--model', 'init.json', ...data, '--epochs', '2', '--out', 'loop.json'], d);
    expect(r.status, r.stderr).toBe(0);
    const train = (out: string, more: string[] = []) => runCliOk(['train', '--init', 'init.json', ...data, '--epochs', '2', '--quiet', '--out', out, ...more], d);
    await train('off.json');
    expect(readJson<Model>(d, 'loop.json').layers).toEqual(readJson<Model>(d, 'off.json').layers);
    // Not vacuous: without weight decay, the weights into the silent neuron move only by the nudge.
    await train('nudged.json', ['--optimiser.weightDecay', '0']);
    await train('plain.json', ['--optimiser.weightDecay', '0', '--loss.nudge', '0']);
    const column0 = (name: string) => readJson<Model>(d, name).layers[1].weights.map((row) => row[0]);
    expect(column0('plain.json').every((w) => w === -1)).toBe(true);
    expect(Math.max(...column0('nudged.json'))).toBeGreaterThan(-1);
  });

  it('chip-grad on an inference export says it needs a training export', async () => {
    const d = freshDir();
    writeText(d, 'init.json', initModelText('twin', 1, [10]));
    writeJson(d, 'batch.json', BATCH);
    await runCliOk(['export', '--model', 'init.json', '--quant', 'int8', '--out', 'inf'], d);
    expectUserError(await runCli(['chip-grad', '--config', 'inf', '--batch', 'batch.json', '--out', 'g.json'], d), 'inf', 'inference export', '--train');
    expect(existsSync(join(d, 'g.json'))).toBe(false);
  });

  it('chip-grad with a batch of other steps names the batch file and the field', async () => {
    const d = freshDir();
    writeJson(d, 'bad.json', { ...BATCH, steps: 30 });
    expectUserError(await runCli(['chip-grad', '--config', `${dir}/cfg`, '--batch', 'bad.json'], d), 'bad.json', 'steps', '27');
  });

  it('chip-train --resume with another seed names the checkpoint and the setting, and keeps the checkpoint', async () => {
    const d = freshDir();
    copyData(d);
    const args = ['chip-train', '--config', `${dir}/cfg`, '--data', 'small.csv', '--epochs', '1', '--quiet', '--out', 'm.json'];
    await runCliOk([...args, '--seed', '1', '--keep-checkpoint'], d);
    const before = folderState(d);
    expectUserError(await runCli([...args, '--epochs', '2', '--seed', '4', '--resume'], d), 'm.json.chip-ckpt.json', 'seed');
    expect(folderState(d)).toEqual(before);
  });

  it('the silent-label nudge is off-chip only: export --train refuses it, --without-nudge drops it, chip-train refuses an export with it', async () => {
    const d = freshDir();
    copyData(d);
    const model = JSON.parse(readFileSync(join(dir, 'init.json'), 'utf8'));
    writeJson(d, 'nudged.json', { ...model, loss: { ...model.loss, nudge: 0.01 } });
    const exportArgs = ['export', '--model', 'nudged.json', '--train', '--slots', '2', '--batch', '4', '--out', 'cfg'];
    expectUserError(await runCli(exportArgs, d), 'nudged.json: loss.nudge is 0.01', 'off-chip only', '--without-nudge');
    expect(existsSync(join(d, 'cfg'))).toBe(false);
    expectUserError(await runCli(['export', '--model', 'nudged.json', '--without-nudge', '--out', 'x'], d), '--without-nudge', '--train');
    await runCliOk([...exportArgs, '--without-nudge'], d);
    const exported = readJson<{ model: { loss: Record<string, unknown> } }>(d, 'cfg/export.json');
    expect(exported.model.loss).toEqual(model.loss);
    for (const image of ['spec.json', 'placement.json', 'routing.json']) expect(readFileSync(join(d, 'cfg', image), 'utf8')).toEqual(readFileSync(join(dir, 'cfg', image), 'utf8'));
    // An export.json edited by hand to carry the nudge: chip-train refuses it and writes nothing.
    writeJson(d, 'cfg/export.json', { ...exported, model: { ...exported.model, loss: { ...exported.model.loss, nudge: 0.5 } } });
    const before = readdirSync(d).sort();
    expectUserError(await runCli(['chip-train', '--config', 'cfg', '--data', 'small.csv', '--epochs', '1', '--quiet', '--out', 'm.json'], d), 'export.json: model.loss.nudge is 0.5', 'off-chip only');
    expect(readdirSync(d).sort()).toEqual(before);
  });

  it('bad flags: more slots than the config has; --train with int8; --batch without --train', async () => {
    const d = freshDir();
    copyData(d);
    expectUserError(await runCli(['chip-train', '--config', `${dir}/cfg`, '--data', 'small.csv', '--epochs', '1', '--slots', '5', '--out', 'm.json'], d), '--slots', '2');
    expectUserError(await runCli(['export', '--model', `${dir}/init.json`, '--train', '--quant', 'int8', '--out', 'x'], d), '--quant int8: on-chip training runs float32 weights');
    expectUserError(await runCli(['export', '--model', `${dir}/init.json`, '--batch', '4', '--out', 'x'], d), '--batch', '--train');
    expect(Object.keys(folderState(d)).sort()).toEqual(['small.csv', 't.csv', 'v.csv']);
  });
});
