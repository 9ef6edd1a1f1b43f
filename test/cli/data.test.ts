import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureBuilt, folderState, freshDir, removeTempDirs, runCli } from './run-cli.js';

/** `s2prop data` through the built CLI. */

vi.setConfig({ testTimeout: 30_000 });

beforeAll(ensureBuilt, 120_000);
afterAll(removeTempDirs);

describe('data yinyang --split test', () => {
  it('writes 1000 rows whose first is the published first test sample x=0.23409664559563403, y=0.4017249751828972, label 2', async () => {
    const dir = freshDir();
    const r = await runCli(['data', 'yinyang', '--split', 'test', '--out', 'f.csv'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(Object.keys(folderState(dir))).toEqual(['f.csv']); // no temporary file left behind

    const [header, ...rows] = readFileSync(join(dir, 'f.csv'), 'utf8').trimEnd().split('\n');
    expect(header).toBe('x,y,x_inv,y_inv,label');
    expect(rows).toHaveLength(1000);
    const first = rows[0].split(',').map(Number);
    expect(first[0]).toBe(0.23409664559563403);
    expect(first[1]).toBe(0.4017249751828972);
    expect(first[2]).toBe(1 - 0.23409664559563403);
    expect(first[3]).toBe(1 - 0.4017249751828972);
    expect(first[4]).toBe(2);
    for (const row of rows) {
      const v = row.split(',').map(Number);
      expect(v).toHaveLength(5);
      expect([0, 1, 2]).toContain(v[4]);
    }
  });
});
