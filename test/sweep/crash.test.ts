import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../src/sweep/store/open-store.js';
import { withDefaultUser, redactUrl } from '../../src/sweep/store/postgres-store.js';
import type { StudyStore, Trial } from '../../src/sweep/types.js';
import { CLI, ensureBuilt, freshDir, removeTempDirs, runCli } from '../cli/run-cli.js';

/**
 * The promise of a study store, end to end through the CLI: a worker killed with SIGKILL in the middle
 * of a trial is replaced by a restarted worker that completes the study, every trial finished exactly
 * once; two worker processes share one study without conflicts.
 */

vi.setConfig({ testTimeout: 120_000 });

const PG_URL = process.env.S2PROP_TEST_POSTGRES ?? 'postgres://127.0.0.1:5432/test';

async function postgresProblem(): Promise<string | null> {
  const client = new pg.Client({ connectionString: withDefaultUser(PG_URL), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}
const pgProblem = await postgresProblem();
if (pgProblem) console.warn(`sweep PostgreSQL tests skipped: ${redactUrl(PG_URL)} is not reachable (${pgProblem}); set S2PROP_TEST_POSTGRES to run them`);

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);
afterAll(removeTempDirs);

/** A small, fast space: twin preset with a 16-neuron hidden layer, a few epochs per trial. */
function space(trials: number, epochs: number) {
  return {
    format: 's2prop-space',
    version: 1,
    base: { preset: 'twin', settings: { hidden: [16], evalBatch: 500 } },
    objective: { metric: 'validationAccuracy', direction: 'maximize' },
    budget: { trials, epochs },
    sampler: { type: 'random', seed: 3 },
    parameters: { 'optimiser.lr': { type: 'loguniform', low: 0.001, high: 0.01 } },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectAllFinishedOnce(trials: Trial[], n: number, epochs: number): void {
  expect(trials.map((t) => t.number)).toEqual(Array.from({ length: n }, (_, i) => i));
  for (const t of trials) {
    expect(t.state, `trial ${t.number}`).toBe('complete');
    // a restarted trial starts again from epoch 1: one value per epoch, none twice
    expect(t.intermediate.map((e) => e.epoch), `trial ${t.number}`).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));
  }
}

async function killMidTrialThenRestart(target: string, name: string): Promise<void> {
  const dir = freshDir();
  const [trials, epochs] = [3, 6];
  const setup = openStore(target);
  await setup.open(name, space(trials, epochs));
  const worker = ['--no-wasm-dynamic-tiering', CLI, 'sweep', 'worker', '--study', target, '--name', name, '--backend', 'wasm', '--stale-after', '2'];
  const victim = spawn(process.execPath, worker, { cwd: dir, stdio: 'ignore' });
  // Wait until the first trial is part-way (some epochs reported), then kill the worker outright.
  let killedIn: Trial | undefined;
  for (let i = 0; i < 400 && !killedIn; i++) {
    await sleep(50);
    killedIn = (await setup.trials()).find((t) => t.state === 'running' && t.intermediate.length >= 2);
  }
  expect(killedIn, 'a trial was running when the worker was killed').toBeDefined();
  victim.kill('SIGKILL');
  await new Promise((r) => victim.on('close', r));
  expect((await setup.trials()).find((t) => t.number === killedIn!.number)?.state).toBe('running');
  // A new worker finishes the study, taking over the dead worker's trial once its heartbeat is stale.
  const r = await runCli(['sweep', 'worker', '--study', target, '--name', name, '--backend', 'wasm', '--stale-after', '2'], dir);
  expect(r.status, r.stderr).toBe(0);
  // It says so: which trial, from which worker (the victim's host:pid), and what is discarded.
  expect(r.stderr).toMatch(new RegExp(`^trial ${killedIn!.number} taken over by \\S+:\\d+ from \\S+:${victim.pid} \\(no heartbeat for \\d+ s; its \\d+ epochs? (is|are) discarded, it restarts at epoch 1\\)`, 'm'));
  expectAllFinishedOnce(await setup.trials(), trials, epochs);
  await setup.close();
}

describe('sweep workers and crashes', () => {
  it('SQLite: a worker killed with SIGKILL mid-trial, then a restarted worker: every trial finished exactly once', async () => {
    await killMidTrialThenRestart(join(freshDir(), 'study.db'), 'crash');
  });

  describe.skipIf(pgProblem !== null)('PostgreSQL', () => {
    const names: string[] = [];
    afterAll(async () => {
      const client = new pg.Client({ connectionString: withDefaultUser(PG_URL) });
      await client.connect();
      await client.query('DELETE FROM trials WHERE study = ANY($1)', [names]).catch(() => {});
      await client.query('DELETE FROM studies WHERE name = ANY($1)', [names]).catch(() => {});
      await client.end();
    });

    it('a worker killed with SIGKILL mid-trial, then a restarted worker: every trial finished exactly once', async () => {
      const name = `crash-${randomUUID()}`;
      names.push(name);
      await killMidTrialThenRestart(PG_URL, name);
    });

    it('two worker processes share one 20-trial study without conflicts', async () => {
      const name = `pair-${randomUUID()}`;
      names.push(name);
      const dir = freshDir();
      const spaceFile = join(dir, 'space.json');
      await import('node:fs').then((fs) => fs.writeFileSync(spaceFile, JSON.stringify(space(20, 1))));
      const r = await runCli(['sweep', 'run', '--space', spaceFile, '--study', PG_URL, '--name', name, '--workers', '2', '--backend', 'wasm'], dir);
      expect(r.status, r.stderr).toBe(0);
      const store: StudyStore = openStore(PG_URL);
      await store.open(name, undefined);
      const trials = await store.trials();
      await store.close();
      expectAllFinishedOnce(trials, 20, 1);
      expect(new Set(trials.map((t) => t.worker)).size, 'both workers ran trials').toBe(2);
    });
  });
});
