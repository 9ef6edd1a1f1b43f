import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI, copyData, ensureBuilt, freshDir, prepareData, removeTempDirs, runCli } from '../cli/run-cli.js';

/** `train --log` writes the training curves beside the CSV; `train --resume` says where it resumes. */

vi.setConfig({ testTimeout: 120_000 });
beforeAll(async () => {
  await ensureBuilt();
  prepareData();
}, 120_000);
afterAll(removeTempDirs);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TRAIN = ['--hidden', '20', '--train', 'small.csv', '--validation', 'v.csv', '--test', 't.csv', '--backend', 'wasm', '--quiet'];

describe('train --log and --resume', () => {
  it('a run killed after its first checkpoint resumes with a line naming the epochs done; m.svg has a point per epoch of m.csv', async () => {
    const dir = freshDir();
    copyData(dir);
    const ckpt = join(dir, 'm.json.ckpt.json');
    const victim = spawn(process.execPath, ['--no-wasm-dynamic-tiering', CLI, 'train', ...TRAIN, '--epochs', '200', '--out', 'm.json', '--log', 'm.csv'], { cwd: dir, stdio: 'ignore' });
    for (let i = 0; i < 1200 && !existsSync(ckpt); i++) await sleep(25);
    victim.kill('SIGKILL');
    await new Promise((r) => victim.on('close', r));
    const done = (JSON.parse(readFileSync(ckpt, 'utf8')) as { epochsDone: number }).epochsDone;
    expect(done).toBeGreaterThanOrEqual(1);
    const r = await runCli(['train', ...TRAIN, '--epochs', String(done + 1), '--out', 'm.json', '--log', 'm.csv', '--resume'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`resuming from m.json.ckpt.json: ${done} of ${done + 1} epochs done, continuing with epoch ${done + 1}\n`);
    const rows = Papa.parse<Record<string, string>>(readFileSync(join(dir, 'm.csv'), 'utf8'), { header: true, skipEmptyLines: true }).data;
    expect(rows.map((x) => Number(x.epoch))).toEqual(Array.from({ length: done + 1 }, (_, i) => i + 1));
    const svg = readFileSync(join(dir, 'm.svg'), 'utf8');
    const lines = [...svg.matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1].split(' ').length);
    expect(lines).toEqual([done + 1, done + 1, done + 1, done + 1]);
  });

  it('--log named .svg is refused before any training: one line, nothing written', async () => {
    const dir = freshDir();
    copyData(dir);
    const r = await runCli(['train', ...TRAIN, '--epochs', '1', '--out', 'm.json', '--log', 'm.svg'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--log m.svg: the metrics log is CSV');
    expect(existsSync(join(dir, 'm.json')) || existsSync(join(dir, 'm.json.ckpt.json'))).toBe(false);
  });
});
