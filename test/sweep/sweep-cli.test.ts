import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parameterImportance } from '../../src/report/svg-plots.js';
import type { Trial } from '../../src/sweep/types.js';
import { ensureBuilt, expectUserError, freshDir, removeTempDirs, runCli, runCliOk } from '../cli/run-cli.js';

vi.setConfig({ testTimeout: 120_000 });
beforeAll(async () => {
  await ensureBuilt();
}, 120_000);
afterAll(removeTempDirs);

const SPACE = `format: s2prop-space
version: 1
base: {preset: twin, settings: {hidden: [16]}}
objective: {metric: validationAccuracy, direction: maximize}
budget: {trials: 4, epochs: 2}
sampler: {type: grid}
parameters:
  optimiser.lr: {type: categorical, choices: [0.001, 0.004]}
  loss.xi: {type: categorical, choices: [1, 1.5]}
`;

describe('sweep through the CLI', () => {
  it('grid sweep of 4 trials: status, best and export (CSV, training config, SVG plots)', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'space.yaml'), SPACE);
    const run = await runCli(['sweep', 'run', '--space', 'space.yaml', '--study', 'study.db', '--workers', '2', '--backend', 'wasm'], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('4/4 trials: 4 complete');
    // Each trial's start and end, by a named worker (host:pid), prefixed with the child's index.
    const starts = run.stderr.match(/^\[worker [01]\] trial [0-3] started by \S+:\d+: optimiser\.lr 0\.00[14]\d*, loss\.xi 1(\.5)?$/gm) ?? [];
    expect(starts, run.stderr).toHaveLength(4);
    expect(run.stderr.match(/^\[worker [01]\] trial [0-3] complete \(\S+:\d+, 2 epochs\): validationAccuracy 0\.\d+$/gm) ?? [], run.stderr).toHaveLength(4);
    await runCliOk(['sweep', 'export', '--study', 'study.db', '--out', 'out'], dir);
    const csv = Papa.parse<Record<string, string>>(readFileSync(join(dir, 'out/trials.csv'), 'utf8'), { header: true, skipEmptyLines: true }).data;
    // the grid: every combination exactly once (hand count: 2 x 2)
    expect(new Set(csv.map((r) => `${r['optimiser.lr']}/${r['loss.xi']}`)).size).toBe(4);
    const best = JSON.parse(readFileSync(join(dir, 'out/best-config.json'), 'utf8'));
    const bestRow = csv.reduce((a, r) => (Number(r.value) > Number(a.value) ? r : a));
    expect(best.optimiser.lr).toBe(Number(bestRow['optimiser.lr']));
    expect(best.epochs).toBe(2);
    for (const f of ['history.svg', 'parallel-coordinates.svg', 'importance.svg']) {
      const svg = readFileSync(join(dir, 'out', f), 'utf8');
      expect(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>')).toBe(true);
    }
    // one dot per trial (the legend's markers are smaller)
    expect(readFileSync(join(dir, 'out/history.svg'), 'utf8').match(/<circle [^>]*r="4"/g)).toHaveLength(4);
    // the exported config trains as it is
    await runCliOk(['train', '--config', 'out/best-config.json', '--epochs', '1', '--quiet', '--out', 'm.json', '--backend', 'wasm'], dir);
  });

  it('a worker joining a study that does not exist, and a bad space file, are one-line errors', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'space.yaml'), SPACE);
    await runCliOk(['sweep', 'create', '--space', 'space.yaml', '--study', 'study.db', '--name', 'a'], dir);
    expectUserError(await runCli(['sweep', 'worker', '--study', 'study.db', '--name', 'x'], dir), "there is no study 'x'");
    writeFileSync(join(dir, 'bad.yaml'), SPACE.replace('high', 'x').replace('type: grid', 'type: annealing'));
    expectUserError(await runCli(['sweep', 'run', '--space', 'bad.yaml', '--study', 's.db'], dir), 'bad.yaml');
  });
});

describe('PostgreSQL URLs', () => {
  it("sslmode=require: pg's ten-line SECURITY WARNING folds into the one error line (no server needed: port 1 refuses)", async () => {
    const r = await runCli(['sweep', 'status', '--study', 'postgres://u:secret@127.0.0.1:1/x?sslmode=require'], freshDir());
    const line = expectUserError(r, 'postgres://u:***@127.0.0.1:1/x?sslmode=require', 'cannot connect', 'sslmode=require is verify-full to the pg driver');
    expect(line).not.toContain('secret');
  });
  it('--study may come from S2PROP_STUDY; neither given is one line naming both', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'space.yaml'), SPACE);
    await runCliOk(['sweep', 'create', '--space', 'space.yaml', '--study', 'env.db'], dir);
    const r = await runCli(['sweep', 'status'], dir, { S2PROP_STUDY: 'env.db' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('0/4 trials');
    expectUserError(await runCli(['sweep', 'status'], dir, { S2PROP_STUDY: '' }), '--study is required', 'S2PROP_STUDY');
  });
});

describe('commands that read a study never create one', () => {
  it.each(['status', 'best', 'export', 'worker'])('sweep %s --study MISTYPED.db: one line, no file left behind', async (action) => {
    const dir = freshDir();
    const args = ['sweep', action, '--study', 'stduy.db', ...(action === 'export' ? ['--out', 'out'] : [])];
    expectUserError(await runCli(args, dir), "study store 'stduy.db': no such file (sweep create and sweep run make a study");
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('parameter importance (hand calculation)', () => {
  const trial = (n: number, a: number, c: string, value: number): Trial => ({
    number: n, params: { a, c }, state: 'complete', value, intermediate: [], worker: null, heartbeatAt: null, startedAt: 0, finishedAt: 0, attrs: {},
  });
  it('a monotone parameter has importance 1, one unrelated to the objective 0', () => {
    const trials = [trial(0, 1, 'x', 0.1), trial(1, 2, 'y', 0.2), trial(2, 3, 'y', 0.3), trial(3, 4, 'x', 0.4)];
    const imp = parameterImportance(trials, { a: { type: 'uniform', low: 0, high: 5 }, c: { type: 'categorical', choices: ['x', 'y'] } });
    expect(imp.a).toBeCloseTo(1, 12);
    expect(imp.c).toBeCloseTo(0, 12); // both choices have mean rank 1.5
  });
});
