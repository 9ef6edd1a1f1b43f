import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { PostgresStore, redactUrl, withDefaultUser } from '../../../src/sweep/store/postgres-store.js';
import { SqliteStore } from '../../../src/sweep/store/sqlite-store.js';
import type { Params, StudyStore, Trial } from '../../../src/sweep/types.js';

/**
 * One suite, run against the SQLite store (a temporary file) and, where a server answers, the PostgreSQL
 * store (`postgres://127.0.0.1:5432/test`, or the URL in S2PROP_TEST_POSTGRES). The database may be shared:
 * every test uses its own study name, and only those studies' rows are deleted afterwards.
 */

const PG_URL = process.env.S2PROP_TEST_POSTGRES ?? 'postgres://127.0.0.1:5432/test';
const pgProblem = await probePostgres(PG_URL);
if (pgProblem !== null) {
  console.warn(
    `PostgresStore tests skipped: ${redactUrl(PG_URL)} is not reachable (${pgProblem}). ` +
      'Start PostgreSQL there or set S2PROP_TEST_POSTGRES to a database URL to run them.',
  );
}

async function probePostgres(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: withDefaultUser(url), connectionTimeoutMillis: 1500 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    const e = err as Error & { errors?: Error[]; code?: string };
    return e.message || e.errors?.map((x) => x.message).join('; ') || e.code || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

const tmp = mkdtempSync(join(tmpdir(), 's2prop-store-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SPACE = {
  'optimiser.lr': { type: 'loguniform', low: 1e-4, high: 1e-1 },
  'model.hidden': { type: 'int', low: 50, high: 400, step: 50 },
  'neuron.tauMem': { type: 'categorical', choices: [10, 20, [5, 10]] },
};

interface Backend {
  /** What openStore would be given; the child processes open it. */
  target: string;
  make(): StudyStore;
  /** Delete the rows of these studies (and nothing else). */
  cleanup(studies: string[]): Promise<void>;
}

const sqliteBackend: Backend = {
  target: join(tmp, 'study.db'),
  make: () => new SqliteStore(join(tmp, 'study.db')),
  cleanup: async () => {},
};

const pgBackend: Backend = {
  target: PG_URL,
  make: () => new PostgresStore(PG_URL),
  cleanup: async (studies) => {
    if (studies.length === 0) return;
    const client = new pg.Client({ connectionString: withDefaultUser(PG_URL) });
    await client.connect();
    try {
      await client.query('DELETE FROM trials WHERE study = ANY($1)', [studies]);
      await client.query('DELETE FROM studies WHERE name = ANY($1)', [studies]);
    } finally {
      await client.end();
    }
  },
};

describe('SqliteStore', () => storeSuite(sqliteBackend));
describe.skipIf(pgProblem !== null)('PostgresStore', () => storeSuite(pgBackend));

describe.skipIf(pgProblem !== null)('PostgresStore on a fresh database', () => {
  it('several stores (separate connections) creating the tables at once all succeed (advisory lock)', async () => {
    // A schema of our own, first on the search path, stands in for a fresh database; dropped afterwards.
    const schema = `s2prop_test_${randomUUID().slice(0, 8)}`;
    const admin = new pg.Client({ connectionString: withDefaultUser(PG_URL) });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const stores = Array.from({ length: 4 }, () => new PostgresStore(url.toString()));
    try {
      await Promise.all(stores.map((s) => s.open('fresh', SPACE)));
      const tables = await admin.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema]);
      expect(tables.rows.map((r: { table_name: string }) => r.table_name)).toEqual(['s2prop_store', 'studies', 'trials']);
      const claims = await Promise.all(stores.map((s, i) => s.claim({ worker: `w${i}`, staleAfterMs: 60_000, maxTrials: 3, propose: () => ({}) })));
      expect(claims.map((t) => t?.number ?? null).sort()).toEqual([0, 1, 2, null]);
    } finally {
      for (const s of stores) await s.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    }
  });
});

function storeSuite(backend: Backend): void {
  const studies: string[] = [];
  const stores: StudyStore[] = [];
  const newStudy = (label: string): string => {
    const name = `s2prop-test-${label}-${randomUUID().slice(0, 8)}`;
    studies.push(name);
    return name;
  };
  const openNew = async (study: string, space: unknown = SPACE): Promise<StudyStore> => {
    const store = backend.make();
    stores.push(store);
    await store.open(study, space);
    return store;
  };
  afterAll(async () => {
    for (const s of stores) await s.close();
    await backend.cleanup(studies);
  });

  it('claim creates trials 0..n-1 with what propose returns, then null at maxTrials', async () => {
    const store = await openNew(newStudy('claim'));
    const seen: number[][] = [];
    const propose = (trials: Trial[]): Params => {
      seen.push(trials.map((t) => t.number));
      return { 'optimiser.lr': 0.01 * (trials.length + 1) };
    };
    const opts = { worker: 'w1', staleAfterMs: 60_000, maxTrials: 3, propose };
    const t0 = await store.claim(opts);
    expect(t0).toMatchObject({ number: 0, state: 'running', worker: 'w1', params: { 'optimiser.lr': 0.01 }, value: null, intermediate: [], attrs: {} });
    expect(await store.finish(0, 'w1', 'complete', 0.9, {})).toBe(true);
    const t1 = await store.claim(opts);
    const t2 = await store.claim(opts);
    expect([t1?.number, t2?.number]).toEqual([1, 2]);
    expect(await store.claim(opts)).toBeNull();
    // propose saw the trials so far, including their state: trial 0 was complete when trial 1 was proposed.
    expect(seen).toEqual([[], [0], [0, 1]]);
    const trials = await store.trials();
    expect(trials.map((t) => [t.number, t.state, t.params['optimiser.lr']])).toEqual([
      [0, 'complete', 0.01],
      [1, 'running', 0.02],
      [2, 'running', 0.03],
    ]);
  });

  it('propose receives the trials so far with their values and intermediate values', async () => {
    const store = await openNew(newStudy('propose'));
    let received: Trial[] = [];
    const propose = (trials: Trial[]): Params => {
      received = trials;
      return { n: trials.length };
    };
    const opts = { worker: 'w', staleAfterMs: 60_000, maxTrials: 5, propose };
    await store.claim(opts);
    expect(await store.report(0, 'w', 1, 0.5)).toBe(true);
    expect(await store.finish(0, 'w', 'pruned', 0.5, { reason: 'median' })).toBe(true);
    await store.claim(opts);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ number: 0, state: 'pruned', value: 0.5, intermediate: [{ epoch: 1, value: 0.5 }], attrs: { reason: 'median' } });
  });

  it('a propose that throws creates no trial', async () => {
    const store = await openNew(newStudy('throw'));
    const propose = (): Params => {
      throw new Error('sampler broke');
    };
    await expect(store.claim({ worker: 'w', staleAfterMs: 60_000, maxTrials: 5, propose })).rejects.toThrow('sampler broke');
    expect(await store.trials()).toEqual([]);
  });

  it('a running trial whose heartbeat is older than staleAfterMs is taken over and restarts; the old worker loses it', async () => {
    const study = newStudy('stale');
    const a = await openNew(study);
    const b = await openNew(study);
    const propose = (trials: Trial[]): Params => ({ n: trials.length });
    const t = await a.claim({ worker: 'a', staleAfterMs: 60_000, maxTrials: 5, propose });
    expect(t?.number).toBe(0);
    expect(await a.report(0, 'a', 1, 0.3)).toBe(true);
    expect(await a.heartbeat(0, 'a')).toBe(true);
    await sleep(40);
    // A fresh enough heartbeat is not taken over: b gets a new trial.
    const fresh = await b.claim({ worker: 'b', staleAfterMs: 60_000, maxTrials: 5, propose });
    expect(fresh?.number).toBe(1);
    expect(fresh?.takenOver).toBeUndefined();
    // With staleAfterMs below the 40 ms since a's heartbeat, b takes trial 0 over (the lowest stale one).
    const taken = await b.claim({ worker: 'b', staleAfterMs: 10, maxTrials: 5, propose });
    expect(taken).toMatchObject({ number: 0, worker: 'b', state: 'running', params: { n: 0 }, intermediate: [] });
    // ... and says from whom, with the epochs it discards
    expect(taken!.takenOver).toEqual({ worker: 'a', heartbeatAt: expect.any(Number), epochs: 1 });
    expect(taken!.takenOver!.heartbeatAt).toBeLessThan(taken!.heartbeatAt!);
    expect(taken!.heartbeatAt).toBeGreaterThanOrEqual(t!.heartbeatAt!);
    expect(await a.heartbeat(0, 'a')).toBe(false);
    expect(await a.report(0, 'a', 2, 0.4)).toBe(false);
    expect(await a.finish(0, 'a', 'complete', 0.4, {})).toBe(false);
    expect(await b.report(0, 'b', 1, 0.35)).toBe(true);
    expect(await b.finish(0, 'b', 'complete', 0.35, { by: 'b' })).toBe(true);
    const [t0] = await a.trials();
    expect(t0).toMatchObject({ number: 0, state: 'complete', worker: 'b', value: 0.35, intermediate: [{ epoch: 1, value: 0.35 }], attrs: { by: 'b' } });
  });

  it('finish acts once, only for the owning worker', async () => {
    const store = await openNew(newStudy('finish'));
    await store.claim({ worker: 'w', staleAfterMs: 60_000, maxTrials: 5, propose: () => ({}) });
    expect(await store.finish(0, 'other', 'complete', 1, {})).toBe(false);
    expect(await store.finish(0, 'w', 'failed', null, { error: 'out of memory' })).toBe(true);
    expect(await store.finish(0, 'w', 'complete', 1, { again: true })).toBe(false);
    expect(await store.heartbeat(0, 'w')).toBe(false);
    expect(await store.report(0, 'w', 1, 1)).toBe(false);
    expect(await store.finish(7, 'w', 'complete', 1, {})).toBe(false);
    const [t] = await store.trials();
    expect(t).toMatchObject({ state: 'failed', value: null, attrs: { error: 'out of memory' } });
    // A finished trial is never stale.
    await sleep(5);
    const next = await store.claim({ worker: 'x', staleAfterMs: 0, maxTrials: 5, propose: () => ({}) });
    expect(next?.number).toBe(1);
  });

  it('reopening with the same space (any key order) works; another space is refused with one line naming the study', async () => {
    const study = newStudy('space');
    const first = await openNew(study);
    expect(await first.space()).toEqual(SPACE);
    const reordered = Object.fromEntries(Object.entries(SPACE).reverse());
    await openNew(study, reordered);
    const changed = { ...SPACE, 'optimiser.lr': { type: 'loguniform', low: 1e-4, high: 0.5 } };
    const refused = openNew(study, changed);
    await expect(refused).rejects.toBeInstanceOf(UserError);
    const message = (await refused.catch((e: Error) => e)) as Error;
    expect(message.message).toContain(study);
    expect(message.message).toContain('space["optimiser.lr"].high is 0.1 in the store, 0.5 here');
    expect(message.message).not.toContain('\n');
  });

  it('two stores opening the same new study at once both succeed', async () => {
    const study = newStudy('race');
    await Promise.all([openNew(study), openNew(study), openNew(study)]);
  });

  it('trials() round-trips params, intermediate values, attrs and times', async () => {
    const store = await openNew(newStudy('roundtrip'));
    const params = { 'optimiser.lr': 0.1 + 0.2, 'model.hidden': 150, 'neuron.tauMem': [5, 10], flag: true, name: 'élan "quoted"', nested: { a: [1, { b: null }] } };
    const before = Date.now();
    await store.claim({ worker: 'w', staleAfterMs: 60_000, maxTrials: 5, propose: () => params });
    expect(await store.report(0, 'w', 1, 1 / 3)).toBe(true);
    expect(await store.report(0, 'w', 2, Number.NaN)).toBe(true);
    expect(await store.report(0, 'w', 3, 5e-324)).toBe(true);
    expect(await store.report(0, 'w', 2, 0.25)).toBe(true); // a repeated epoch replaces the earlier report
    const attrs = { metrics: { validationAccuracy: 0.953, validationLoss: 0.12 }, seconds: 12.5, note: 'ok', list: [1, 'two', false] };
    expect(await store.finish(0, 'w', 'complete', Math.PI, attrs)).toBe(true);
    const [t] = await store.trials();
    expect(t.params).toEqual(params);
    expect(t.intermediate).toEqual([
      { epoch: 1, value: 1 / 3 },
      { epoch: 2, value: 0.25 },
      { epoch: 3, value: 5e-324 },
    ]);
    expect(t.attrs).toEqual(attrs);
    expect(t.value).toBe(Math.PI);
    expect(t.state).toBe('complete');
    expect(t.worker).toBe('w');
    // Clocks: the database's (PostgreSQL) may differ a little from ours.
    expect(Math.abs(t.startedAt - before)).toBeLessThan(60_000);
    expect(t.finishedAt!).toBeGreaterThanOrEqual(t.startedAt);
    expect(t.heartbeatAt!).toBeGreaterThanOrEqual(t.startedAt);

    await store.claim({ worker: 'w', staleAfterMs: 60_000, maxTrials: 5, propose: () => ({}) });
    expect(await store.report(1, 'w', 1, Number.POSITIVE_INFINITY)).toBe(true);
    expect(await store.report(1, 'w', 2, Number.NaN)).toBe(true);
    expect(await store.finish(1, 'w', 'pruned', Number.NaN, {})).toBe(true);
    const t1 = (await store.trials())[1];
    expect(t1.intermediate).toEqual([
      { epoch: 1, value: Number.POSITIVE_INFINITY },
      { epoch: 2, value: Number.NaN },
    ]);
    expect(t1.value).toBeNull();
  });

  it(
    'two processes claiming until null create exactly maxTrials trials, each finished exactly once',
    async () => {
      const study = newStudy('procs');
      const maxTrials = 40;
      const init = await openNew(study);
      const module = await compiledStoreModule();
      const script = join(tmp, 'claim-loop.mjs');
      writeFileSync(script, CLAIM_LOOP);
      // Both children open the store and say 'ready'; then both are told 'go' at once.
      const children = ['p1', 'p2'].map((worker) =>
        spawn(process.execPath, [script, module, backend.target, study, JSON.stringify(SPACE), worker, String(maxTrials)], {
          stdio: ['pipe', 'pipe', 'pipe'],
          timeout: 15_000,
        }),
      );
      const outputs = children.map(collect);
      await Promise.all(outputs.map((o) => o.ready));
      for (const c of children) c.stdin.write('go\n');
      const results = (await Promise.all(outputs.map((o) => o.done))).map((text) => JSON.parse(text) as { claimed: number[]; finished: number[] });
      const claimed = results.flatMap((r) => r.claimed).sort((x, y) => x - y);
      const finished = results.flatMap((r) => r.finished).sort((x, y) => x - y);
      const all = Array.from({ length: maxTrials }, (_, i) => i);
      expect(claimed).toEqual(all);
      expect(finished).toEqual(all);
      const trials = await init.trials();
      expect(trials.map((t) => t.number)).toEqual(all);
      for (const t of trials) {
        expect(t.state).toBe('complete');
        // propose ran under the lock: it saw exactly the trials before this one.
        expect(t.params).toEqual({ seen: t.number });
        expect(t.attrs).toEqual({ finishedBy: t.worker });
        expect(t.intermediate).toEqual([{ epoch: 1, value: t.number }]);
      }
      // Each child works 2 ms per trial, so both get some: the claims really did interleave.
      for (const r of results) expect(r.claimed.length).toBeGreaterThan(0);
    },
    20_000,
  );
}

/** A child's stdout: 'ready' once it has opened the store, then its result as one JSON line. */
function collect(child: ChildProcessWithoutNullStreams): { ready: Promise<void>; done: Promise<string> } {
  let out = '';
  let err = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) onReady();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<string>((resolveDone, reject) =>
    child.on('close', (code) => {
      if (code === 0) resolveDone(out.slice('ready\n'.length));
      else reject(new Error(`claim loop exited with ${code}: ${err}`));
    }),
  );
  done.catch(() => onReady());
  return { ready, done };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The child: open the store, wait for the common start, claim/report/finish until claim returns null. */
const CLAIM_LOOP = `
const [moduleUrl, target, study, space, worker, maxTrials] = process.argv.slice(2);
const { openStore } = await import(moduleUrl);
const store = openStore(target);
await store.open(study, JSON.parse(space));
process.stdout.write('ready\\n');
await new Promise((r) => process.stdin.once('data', r));
process.stdin.destroy();
const claimed = [];
const finished = [];
for (;;) {
  const t = await store.claim({ worker, staleAfterMs: 600000, maxTrials: Number(maxTrials), propose: (trials) => ({ seen: trials.length }) });
  if (!t) break;
  claimed.push(t.number);
  await new Promise((r) => setTimeout(r, 2));
  if (!(await store.report(t.number, worker, 1, t.number))) throw new Error('report refused');
  if (await store.finish(t.number, worker, 'complete', t.number, { finishedBy: worker })) finished.push(t.number);
}
await store.close();
process.stdout.write(JSON.stringify({ claimed, finished }));
`;

/**
 * The stores compiled to JavaScript for the child processes (transpiled only: tsc checks the types).
 * They go under node_modules/.cache so that their imports of pg and better-sqlite3 resolve; removed afterwards.
 */
let compiled: Promise<string> | null = null;
let compiledDir: string | null = null;
afterAll(() => {
  if (compiledDir) rmSync(compiledDir, { recursive: true, force: true });
});
function compiledStoreModule(): Promise<string> {
  compiled ??= (async () => {
    const root = resolve(import.meta.dirname, '../../..');
    const out = join(root, 'node_modules', '.cache', `s2prop-store-test-${process.pid}-${randomUUID().slice(0, 8)}`);
    compiledDir = out;
    const files = ['errors.ts', 'sweep/types.ts', ...readdirSync(join(root, 'src/sweep/store')).filter((f) => f.endsWith('.ts')).map((f) => `sweep/store/${f}`)];
    for (const file of files) {
      const source = readFileSync(join(root, 'src', file), 'utf8');
      const js = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        fileName: file,
      }).outputText;
      mkdirSync(join(out, file, '..'), { recursive: true });
      writeFileSync(join(out, file.replace(/\.ts$/, '.js')), js);
    }
    writeFileSync(join(out, 'package.json'), '{"type": "module"}\n');
    return pathToFileURL(join(out, 'sweep/store/open-store.js')).href;
  })();
  return compiled;
}
