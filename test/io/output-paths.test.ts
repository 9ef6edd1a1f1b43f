import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFileOutput, checkFolderOutput } from '../../src/io/output-paths.js';
import { copyData, expectUserError, folderState, freshDir, runCli, runCliOk, SMALL_TRAIN, setUpCliTests } from '../cli/run-cli.js';

/**
 * Output paths are checked before any work: a folder where a file is expected, a file on the way to a
 * folder, a place that cannot be written; one error line, nothing written. A finished run removes its
 * checkpoint unless --keep-checkpoint.
 */

setUpCliTests();

const message = (f: () => void) => {
  try {
    f();
  } catch (err) {
    return (err as Error).message;
  }
  return null;
};

describe('checkFileOutput / checkFolderOutput', () => {
  it('accept new paths under existing or missing folders, and existing files to replace', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'old.json'), '{}');
    expect(message(() => checkFileOutput('--out', join(dir, 'new.json')))).toBeNull();
    expect(message(() => checkFileOutput('--out', join(dir, 'a/b/new.json')))).toBeNull();
    expect(message(() => checkFileOutput('--out', join(dir, 'old.json')))).toBeNull();
    expect(message(() => checkFolderOutput('--out', join(dir, 'cfg')))).toBeNull();
    expect(message(() => checkFolderOutput('--out', dir))).toBeNull();
    expect(readdirSync(dir)).toEqual(['old.json']); // nothing created by a check
  });

  it('refuse a folder where a file is expected, a file where a folder is expected, and a file on the way', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'f'), 'x');
    expect(message(() => checkFileOutput('--out d', dir))).toBe('--out d: is a folder, expected a file path');
    expect(message(() => checkFolderOutput('--out f', join(dir, 'f')))).toBe('--out f: is a file, expected a folder');
    expect(message(() => checkFileOutput('--log x', join(dir, 'f/sub/x.csv')))).toBe(`--log x: ${join(dir, 'f')} is a file, expected a folder on the way to ${join(dir, 'f/sub/x.csv')}`);
  });

  it.skipIf(process.getuid?.() === 0)('refuse a folder without write permission (skipped as root, who may write anywhere)', () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'ro'));
    chmodSync(join(dir, 'ro'), 0o555);
    expect(message(() => checkFileOutput('--out m', join(dir, 'ro/m.json')))).toBe(`--out m: cannot create it, ${join(dir, 'ro')} is not writable`);
    chmodSync(join(dir, 'ro'), 0o755);
  });
});

describe('commands check their outputs before any work', () => {
  it('train --out FOLDER: one line at once, no checkpoint, nothing written', async () => {
    const dir = freshDir();
    copyData(dir);
    mkdirSync(join(dir, 'taken'));
    const before = folderState(join(dir, 'taken'));
    const started = Date.now();
    expectUserError(await runCli(['train', ...SMALL_TRAIN, '--epochs', '50', '--out', 'taken'], dir), '--out taken: is a folder, expected a file path');
    expect(Date.now() - started).toBeLessThan(20_000); // refused before 50 epochs of training
    expect(folderState(join(dir, 'taken'))).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['small.csv', 't.csv', 'taken', 'v.csv']);
  });

  it('train --log under a file, main --config-dir naming a file: one line each, nothing trained', async () => {
    const dir = freshDir();
    copyData(dir);
    expectUserError(await runCli(['train', ...SMALL_TRAIN, '--out', 'm.json', '--log', 'small.csv/log.csv'], dir), `--log small.csv/log.csv: ${join(dir, 'small.csv')} is a file, expected a folder on the way`);
    expectUserError(await runCli(['main', ...SMALL_TRAIN, '--out', 'run/model.json', '--log', 'run/metrics.csv', '--config-dir', 'small.csv'], dir), '--config-dir small.csv: is a file, expected a folder');
    expect(readdirSync(dir).sort()).toEqual(['small.csv', 't.csv', 'v.csv']);
  });

  it('grad --out FOLDER is refused before the model is read', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'g'));
    expectUserError(await runCli(['grad', '--model', 'none.json', '--batch', 'none.json', '--out', 'g'], dir), '--out g: is a folder, expected a file path');
  });

  it('a finished train removes OUT.ckpt.json; --keep-checkpoint keeps it', async () => {
    const dir = freshDir();
    copyData(dir);
    await runCliOk(['train', ...SMALL_TRAIN, '--epochs', '1', '--out', 'a.json'], dir);
    await runCliOk(['train', ...SMALL_TRAIN, '--epochs', '1', '--out', 'b.json', '--keep-checkpoint'], dir);
    const names = readdirSync(dir);
    expect(names).toContain('a.json');
    expect(names).not.toContain('a.json.ckpt.json');
    expect(names).toContain('b.json.ckpt.json');
  });
});
