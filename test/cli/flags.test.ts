import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  copyData,
  ensureBuilt,
  expectUserError,
  folderState,
  freshDir,
  prepareData,
  REPO,
  removeTempDirs,
  runCli,
  runCliOk,
  SMALL_TRAIN,
  writeText,
} from './run-cli.js';

/**
 * Bad flags through the built CLI: exit code 1, one stderr line naming the flag and what was expected,
 * and no output file created or changed.
 */

vi.setConfig({ testTimeout: 30_000 });

beforeAll(async () => {
  await ensureBuilt();
  prepareData();
}, 120_000);
afterAll(removeTempDirs);

/** Whether a native TensorFlow binding resolves here (it does not in this repository's environment). */
function nativeInstalled(): boolean {
  const require = createRequire(`${REPO}/package.json`);
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(pkg);
      return true;
    } catch {
      // absent
    }
  }
  return false;
}

const OLD_MODEL = '{"previous": "model"}\n';
const OLD_LOG = 'epoch,trainLoss\n1,0.5\n';

/** A folder with the small CSVs and an existing out.json and log.csv whose contents must survive. */
function dirWithOutputs(): string {
  const dir = freshDir();
  copyData(dir);
  writeText(dir, 'out.json', OLD_MODEL);
  writeText(dir, 'log.csv', OLD_LOG);
  return dir;
}

describe.concurrent('train rejects a bad flag with one line naming it, and leaves out.json and log.csv as they were', () => {
  const cases: [string, string[], (string | RegExp)[]][] = [
    ['an unknown preset', ['--preset', 'fast'], ["--preset: unknown preset 'fast'", 'expected one of twin, exact']],
    ['an unknown flag', ['--epoch', '1'], ['--epoch: unknown flag', 'epochs']],
    ['--steps 2 (T >= 3)', ['--steps', '2'], ['steps', 'expected at least 3 steps']],
    ['a negative time constant --neuron.tauMemMs -3', ['--neuron.tauMemMs', '-3'], ['neuron.tauMemMs', 'expected number to be >0']],
    ['--hidden 0', ['--hidden', '0'], ['--hidden: expected layer sizes like 120 or 100,50', "got '0'"]],
    ['an unknown backend', ['--backend', 'gpu'], ["--backend: unknown backend 'gpu'", 'expected one of auto, wasm, cpu, webgpu, tensorflow']],
    ['--log with no path', ['--log', ''], ['--log: expected a file path']],
    ['--resume with no checkpoint', ['--resume'], ['--resume: no checkpoint at out.json.ckpt.json']],
  ];

  it.each(cases)('%s', async (_what, flags, mentions) => {
    const dir = dirWithOutputs();
    const before = folderState(dir);
    const r = await runCli(['train', ...SMALL_TRAIN, '--epochs', '1', '--out', 'out.json', '--log', 'log.csv', ...flags], dir);
    expectUserError(r, ...mentions);
    expect(folderState(dir)).toEqual(before);
  });

  it.skipIf(nativeInstalled())('--backend tensorflow without @tensorflow/tfjs-node[-gpu] installed says what to install or use instead', async () => {
    const dir = dirWithOutputs();
    const before = folderState(dir);
    const r = await runCli(['train', ...SMALL_TRAIN, '--epochs', '1', '--out', 'out.json', '--backend', 'tensorflow'], dir);
    expectUserError(r, '--backend tensorflow:', '@tensorflow/tfjs-node-gpu', 'could be loaded', 'use the wasm, cpu or webgpu backend');
    expect(folderState(dir)).toEqual(before);
  });

  it('a malformed training CSV after the flags parsed leaves the existing out.json and log.csv unchanged (without --quiet too)', async () => {
    const dir = dirWithOutputs();
    writeText(dir, 'bad.csv', 'x,y,x_inv,y_inv,label\n0.5,0.5,0.5,0.5,1\n0.5,0.5,0.5,0.5\n');
    const before = folderState(dir);
    const loud = SMALL_TRAIN.filter((f) => f !== '--quiet');
    const r = await runCli(['train', ...loud, '--train', 'bad.csv', '--epochs', '1', '--out', 'out.json', '--log', 'log.csv'], dir);
    expectUserError(r, 'bad.csv: row 2 (line 3) has 4 fields, expected 5');
    expect(folderState(dir)).toEqual(before);
  });
});

describe('train --resume from a checkpoint of another setting', () => {
  it('is refused naming the checkpoint and what differs, and leaves the model, log and checkpoint as they were', async () => {
    const dir = freshDir();
    copyData(dir);
    await runCliOk(['train', ...SMALL_TRAIN, '--epochs', '1', '--seed', '2', '--out', 'out.json', '--log', 'log.csv', '--keep-checkpoint'], dir);
    const before = folderState(dir);
    expect(Object.keys(before)).toContain('out.json.ckpt.json');
    const r = await runCli(['train', ...SMALL_TRAIN, '--hidden', '10', '--epochs', '2', '--seed', '2', '--out', 'out.json', '--log', 'log.csv', '--resume'], dir);
    expectUserError(r, /^s2prop: out\.json\.ckpt\.json: /, 'different settings');
    expect(folderState(dir)).toEqual(before);
  });
});

describe.concurrent('data and eval reject unknown names', () => {
  it('data --split with an unknown split names the flag and the three splits, and writes nothing', async () => {
    const dir = freshDir();
    writeText(dir, 'out.csv', 'old\n');
    const r = await runCli(['data', 'yinyang', '--split', 'training', '--out', 'out.csv'], dir);
    expectUserError(r, "--split: unknown split 'training'", 'expected train, validation, test');
    expect(folderState(dir)).toEqual({ 'out.csv': 'old\n' });
  });

  it('data with an unknown generator names it and the one expected', async () => {
    const dir = freshDir();
    const r = await runCli(['data', 'moons', '--out', 'out.csv'], dir);
    expectUserError(r, "unknown generator 'moons'", 'expected yinyang');
    expect(folderState(dir)).toEqual({});
  });

  it('data --out naming a folder is refused naming it, and leaves the folder as it was', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'sub'));
    writeText(join(dir, 'sub'), 'keep.txt', 'x');
    const r = await runCli(['data', 'yinyang', '--split', 'test', '--out', 'sub'], dir);
    expectUserError(r, '--out sub: is a folder, expected a file path');
    expect(readdirSync(dir)).toEqual(['sub']);
    expect(folderState(join(dir, 'sub'))).toEqual({ 'keep.txt': 'x' });
  });

  it('data with a misspelt flag is refused instead of silently writing the default split', async () => {
    const dir = freshDir();
    const r = await runCli(['data', 'yinyang', '--out', 'out.csv', '--sede', '3'], dir);
    expectUserError(r, 'Unknown argument: sede');
    expect(folderState(dir)).toEqual({});
  });

  it('eval --split with an unknown split names the flag and the three splits', async () => {
    const dir = freshDir();
    const r = await runCli(['eval', '--model', 'model.json', '--split', 'valid'], dir);
    expectUserError(r, "--split: unknown split 'valid'", 'expected train, validation, test');
  });

  it('eval with a misspelt flag is refused', async () => {
    const dir = freshDir();
    const r = await runCli(['eval', '--model', 'model.json', '--jsno'], dir);
    expectUserError(r, 'Unknown argument: jsno');
  });

  it('an unknown command is named', async () => {
    const dir = freshDir();
    const r = await runCli(['trian'], dir);
    expectUserError(r, 'Unknown command: trian');
  });
});
