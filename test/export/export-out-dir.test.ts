import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureBuilt, expectUserError, freshDir, REPO, removeTempDirs, runCli, runCliOk } from '../cli/run-cli.js';

/**
 * `export --out DIR` (both targets) never deletes what it did not write: an existing folder is replaced
 * only when it holds nothing but an earlier export's files (named in its s2prop-manifest.json), unless
 * --force; and the output path is checked before any work (a missing model is not even read).
 */

vi.setConfig({ testTimeout: 60_000 });

const MODEL = join(REPO, 'test/fixtures/twin-seed0-before-subnormal-rule.json');
const TARGETS = [
  ['config', ['--slots', '1']],
  ['py-spinnaker2', ['--data', 'yinyang:test']],
] as const;

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);
afterAll(removeTempDirs);

function exportArgs(target: string, extra: readonly string[], out: string, model = MODEL): string[] {
  return ['export', '--target', target, '--model', model, '--quant', 'int8', '--rounding', 'nearest', ...extra, '--out', out];
}

/** Relative path -> contents of every file below a folder. */
function tree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, tree(dir, rel));
    else out[rel] = readFileSync(join(dir, rel), 'latin1');
  }
  return out;
}

describe.concurrent('export --out safety', () => {
  for (const [target, extra] of TARGETS) {
    it(`${target}: re-export over its own earlier export replaces it; a file added there is named and kept, and --force replaces it`, async () => {
      const home = freshDir();
      await runCliOk(exportArgs(target, extra, 'out'), home);
      const manifest = JSON.parse(readFileSync(join(home, 'out', 's2prop-manifest.json'), 'utf8'));
      expect(manifest).toMatchObject({ format: 's2prop-export-manifest', version: 1, target });
      expect([...manifest.files, 's2prop-manifest.json'].sort()).toEqual(Object.keys(tree(join(home, 'out'))).sort());
      await runCliOk(exportArgs(target, extra, 'out'), home);

      mkdirSync(join(home, 'out', 'mine'));
      writeFileSync(join(home, 'out', 'mine', 'notes.txt'), 'keep me\n');
      const before = tree(join(home, 'out'));
      const r = await runCli(exportArgs(target, extra, 'out'), home);
      expectUserError(r, '--out out', 'out/mine/notes.txt', 'which s2prop export did not write', '--force');
      expect(tree(join(home, 'out'))).toEqual(before);
      expect(readdirSync(home)).toEqual(['out']); // no temporary folder left

      await runCliOk([...exportArgs(target, extra, 'out'), '--force'], home);
      expect(existsSync(join(home, 'out', 'mine'))).toBe(false);
      expect(existsSync(join(home, 'out', 's2prop-manifest.json'))).toBe(true);
    });

    it(`${target}: a folder of someone else's files is refused with the first of them named, and left as it was`, async () => {
      const home = freshDir();
      mkdirSync(join(home, 'notes'));
      writeFileSync(join(home, 'notes', 'a.txt'), 'a\n');
      writeFileSync(join(home, 'notes', 'b.txt'), 'b\n');
      const r = await runCli(exportArgs(target, extra, 'notes'), home);
      expectUserError(r, '--out notes', 'notes/a.txt and 1 other file', 'did not write', '--force');
      expect(tree(join(home, 'notes'))).toEqual({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    });

    it(`${target}: --out naming a file, or a path below a file, is one line before any work (the missing model is not read)`, async () => {
      const home = freshDir();
      writeFileSync(join(home, 'taken'), 'a file\n');
      expectUserError(await runCli(exportArgs(target, extra, 'taken', 'missing.json'), home), '--out taken', 'is a file, expected a folder');
      expectUserError(await runCli([...exportArgs(target, extra, 'taken', 'missing.json'), '--force'], home), '--out taken', 'is a file');
      expectUserError(await runCli(exportArgs(target, extra, 'taken/sub/out', 'missing.json'), home), '--out taken/sub/out', 'taken is a file, expected a folder');
      expect(readdirSync(home)).toEqual(['taken']);
    });
  }

  it('an empty existing folder is written into; a config directory written before manifests (spec.json and its files only) is replaced', async () => {
    const home = freshDir();
    mkdirSync(join(home, 'empty'));
    await runCliOk(exportArgs('py-spinnaker2', ['--data', 'yinyang:test'], 'empty'), home);
    expect(existsSync(join(home, 'empty', 'run.py'))).toBe(true);
    await runCliOk(exportArgs('config', ['--slots', '1'], 'old'), home);
    rmSync(join(home, 'old', 's2prop-manifest.json'));
    await runCliOk(exportArgs('config', ['--slots', '1'], 'old'), home);
    writeFileSync(join(home, 'old', 'extra.txt'), 'mine\n');
    rmSync(join(home, 'old', 's2prop-manifest.json'));
    expectUserError(await runCli(exportArgs('config', ['--slots', '1'], 'old'), home), '--out old', 'old/extra.txt');
  });

  it.skipIf(process.getuid?.() === 0)('a read-only parent folder is one line before any work', async () => {
    const home = freshDir();
    mkdirSync(join(home, 'ro'), { mode: 0o555 });
    expectUserError(await runCli(exportArgs('config', [], 'ro/out', 'missing.json'), home), '--out ro/out', 'no write permission');
  });
});

describe.concurrent('export --target flags', () => {
  it('config-only flags with py-spinnaker2, --data with config, and an unknown target are one line each', async () => {
    const home = freshDir();
    expectUserError(await runCli(exportArgs('py-spinnaker2', ['--machine', 'board'], 'o'), home), '--machine applies to --target config only');
    expectUserError(await runCli(exportArgs('py-spinnaker2', ['--train'], 'o'), home), '--train applies to --target config only');
    expectUserError(await runCli(exportArgs('config', ['--data', 'yinyang:test'], 'o'), home), '--data applies to --target py-spinnaker2 only');
    expectUserError(await runCli(exportArgs('nir', [], 'o'), home), "--target: unknown target 'nir'", 'config, py-spinnaker2');
    expectUserError(await runCli(exportArgs('py-spinnaker2', ['--data', 'nope.csv'], 'o'), home), 'nope.csv');
    expect(readdirSync(home)).toEqual([]);
  });

  it('py-spinnaker2 with a CSV: its rows become inputs.csv, the summary names the populations and the run command', async () => {
    const home = freshDir();
    writeFileSync(join(home, 'few.csv'), 'x,y,x_inv,y_inv,label\n0.5,0.25,0.5,0.75,1\n1,0,0,1,2\n');
    const out = await runCliOk(exportArgs('py-spinnaker2', ['--data', 'few.csv'], 'pys'), home);
    expect(out).toContain('network 5-120-3, int8 weights');
    expect(out).toContain('hidden1 lif_curr_exp_no_delay, output lif_curr_exp_no_delay');
    expect(out).toContain('2 samples of few.csv written as input spike times');
    expect(out).toContain('pys/run.py --backend chip --ip ADDRESS');
    // round(2 + 24 (1 - v)), half to even: 0.5 -> 14, 0.25 -> 20, 0.75 -> 8, 1 -> 2, 0 -> 26; bias at 0
    expect(readFileSync(join(home, 'pys', 'inputs.csv'), 'utf8')).toBe('label,x,y,x_inv,y_inv,bias\n1,14,20,14,8,0\n2,2,26,26,2,0\n');
    expect(Object.keys(tree(join(home, 'pys'))).sort()).toEqual(['README.md', 'inputs.csv', 'network.json', 'run.py', 's2prop-manifest.json', 'weights/layer1.csv', 'weights/layer2.csv']);
  });
});
