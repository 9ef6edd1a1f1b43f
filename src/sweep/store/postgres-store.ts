import { userInfo } from 'node:os';
import pg from 'pg';
import { UserError } from '../../errors.js';
import type { ClaimedTrial, ClaimOptions, StudyStore, Trial, TrialState } from '../types.js';
import { describeDifference } from './canonical-json.js';
import { STORE_VERSION, checkFinalState, jsonText, rowToTrial, staleInfo, storedValue, withReport, type StaleRow, type TrialRow } from './trial-row.js';

/**
 * A study store in a PostgreSQL database, for workers on several machines. The tables are those of the
 * SQLite store (JSON as text, times as BIGINT milliseconds) and are created on first use under an advisory
 * lock, so that workers starting together do not race. A claim locks the study's row (`FOR UPDATE`), which
 * serialises claims per study; times come from the database's clock, so workers' clocks need not agree.
 */
export class PostgresStore implements StudyStore {
  /** The connection URL without its password, for messages. */
  readonly target: string;
  private readonly pool: pg.Pool;
  /** What became of the URL's sslmode, for connection errors (null: nothing to say). */
  private readonly sslNote: string | null;
  private tablesReady: Promise<void> | null = null;
  private study: string | null = null;
  private closed = false;

  constructor(url: string, options: { connectTimeoutMs?: number; poolSize?: number } = {}) {
    this.target = redactUrl(url);
    const ssl = explicitSslMode(url);
    this.sslNote = ssl.note;
    this.pool = new pg.Pool({
      connectionString: withDefaultUser(ssl.url),
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    });
    // A pooled idle connection that drops emits 'error'; without a listener that would end the process.
    // The next query opens a new connection, or fails and says so.
    this.pool.on('error', () => {});
  }

  async open(study: string, space: unknown): Promise<void> {
    if (typeof study !== 'string' || study === '') throw new UserError(`${this.target}: the study needs a name`);
    await this.ensureTables();
    if (space === undefined) {
      // Join an existing study (a worker started elsewhere): it must exist.
      const found = await this.withClient((c) => c.query('SELECT 1 FROM studies WHERE name = $1', [study]));
      if (found.rowCount === 0) throw new UserError(`${this.target}: there is no study '${study}' (start one with s2prop sweep run --space ...)`);
      this.study = study;
      return;
    }
    const stored = await this.withClient(async (c) => {
      await c.query(`INSERT INTO studies (name, space, created_at) VALUES ($1, $2, ${NOW}) ON CONFLICT (name) DO NOTHING`, [
        study,
        jsonText(space),
      ]);
      return (await c.query<{ space: string }>('SELECT space FROM studies WHERE name = $1', [study])).rows[0].space;
    });
    const difference = describeDifference(JSON.parse(stored), space ?? null);
    if (difference) throw new UserError(`${this.target}: study '${study}' was created with another space (${difference})`);
    this.study = study;
  }

  async claim(opts: ClaimOptions): Promise<ClaimedTrial | null> {
    const study = this.requireStudy();
    const staleAfterMs = Math.round(opts.staleAfterMs);
    return this.transaction(async (c) => {
      const locked = await c.query('SELECT name FROM studies WHERE name = $1 FOR UPDATE', [study]);
      if (locked.rowCount === 0) throw new Error(`${this.target}: study '${study}' is no longer in the store`);
      // Take over the lowest-numbered stale trial. The UPDATE checks staleness again on the row's latest
      // version: a heartbeat or finish that commits in between makes it miss, and we look again.
      for (;;) {
        const stale = await c.query<StaleRow>(
          `SELECT number, worker, heartbeat_at, intermediate FROM trials WHERE study = $1 AND ${STALE} ORDER BY number LIMIT 1`,
          [study, staleAfterMs],
        );
        if (stale.rowCount === 0) break;
        const taken = await c.query<TrialRow>(
          `UPDATE trials SET worker = $3, heartbeat_at = ${NOW}, intermediate = '[]'
           WHERE study = $1 AND ${STALE} AND number = $4 RETURNING ${COLUMNS}`,
          [study, staleAfterMs, opts.worker, stale.rows[0].number],
        );
        // The row was stale when read and still is (the UPDATE re-checks it): nobody wrote in between.
        if (taken.rowCount === 1) return { ...rowToTrial(taken.rows[0]), takenOver: staleInfo(stale.rows[0]) };
      }
      const n = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM trials WHERE study = $1', [study])).rows[0].n);
      if (n >= opts.maxTrials) return null;
      const params = opts.propose(await this.readTrials(c, study));
      const created = await c.query<TrialRow>(
        `INSERT INTO trials (study, number, params, state, intermediate, worker, heartbeat_at, started_at, attrs)
         VALUES ($1, $2, $3, 'running', '[]', $4, ${NOW}, ${NOW}, '{}') RETURNING ${COLUMNS}`,
        [study, n, jsonText(params), opts.worker],
      );
      return rowToTrial(created.rows[0]);
    });
  }

  async heartbeat(number: number, worker: string): Promise<boolean> {
    const study = this.requireStudy();
    return this.withClient(async (c) => {
      const r = await c.query(`UPDATE trials SET heartbeat_at = ${NOW} WHERE ${OWNED}`, [study, number, worker]);
      return r.rowCount === 1;
    });
  }

  async report(number: number, worker: string, epoch: number, value: number): Promise<boolean> {
    const study = this.requireStudy();
    return this.transaction(async (c) => {
      const owned = await c.query<{ intermediate: string }>(`SELECT intermediate FROM trials WHERE ${OWNED} FOR UPDATE`, [study, number, worker]);
      if (owned.rowCount === 0) return false;
      await c.query(`UPDATE trials SET intermediate = $4, heartbeat_at = ${NOW} WHERE ${OWNED}`, [
        study,
        number,
        worker,
        withReport(owned.rows[0].intermediate, epoch, value),
      ]);
      return true;
    });
  }

  async finish(
    number: number,
    worker: string,
    state: Exclude<TrialState, 'running'>,
    value: number | null,
    attrs: Record<string, unknown>,
  ): Promise<boolean> {
    checkFinalState(state);
    const study = this.requireStudy();
    return this.withClient(async (c) => {
      const r = await c.query(`UPDATE trials SET state = $4, value = $5, finished_at = ${NOW}, attrs = $6 WHERE ${OWNED}`, [
        study,
        number,
        worker,
        state,
        storedValue(value),
        jsonText(attrs),
      ]);
      return r.rowCount === 1;
    });
  }

  async trials(): Promise<Trial[]> {
    const study = this.requireStudy();
    return this.withClient((c) => this.readTrials(c, study));
  }

  async space(): Promise<unknown> {
    const study = this.requireStudy();
    const r = await this.withClient((c) => c.query<{ space: string }>('SELECT space FROM studies WHERE name = $1', [study]));
    return JSON.parse(r.rows[0].space);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async readTrials(c: pg.PoolClient, study: string): Promise<Trial[]> {
    const r = await c.query<TrialRow>(`SELECT ${COLUMNS} FROM trials WHERE study = $1 ORDER BY number`, [study]);
    return r.rows.map(rowToTrial);
  }

  /** Create the tables once per store; a server that refuses us here is the user's to fix. */
  private ensureTables(): Promise<void> {
    this.tablesReady ??= this.transaction(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`);
      await c.query(SCHEMA);
      const version = (await c.query<{ value: string }>(`SELECT value FROM s2prop_store WHERE key = 'version'`)).rows[0].value;
      if (version !== String(STORE_VERSION)) throw new UserError(`${this.target}: study store version ${version}, expected ${STORE_VERSION}`);
    }).catch((err: unknown) => {
      this.tablesReady = null;
      const code = (err as { code?: string }).code ?? '';
      if (/^(28|3D|3F|42501|08|57P)/.test(code)) throw new UserError(`${this.target}: cannot set up the study store (${this.reason(err)})`);
      throw err;
    });
    return this.tablesReady;
  }

  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw new UserError(`${this.target}: cannot connect to the study store (${this.reason(err)})`);
    }
    try {
      const result = await fn(client);
      client.release();
      return result;
    } catch (err) {
      // A connection that failed mid-query is not returned to the pool.
      client.release(isConnectionError(err) ? (err as Error) : undefined);
      throw err;
    }
  }

  private transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (c) => {
      await c.query('BEGIN');
      try {
        const result = await fn(c);
        await c.query('COMMIT');
        return result;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  /** The driver's error on one line, with what became of the sslmode. */
  private reason(err: unknown): string {
    return this.sslNote ? `${oneLine(err)}; ${this.sslNote}` : oneLine(err);
  }

  private requireStudy(): string {
    if (this.study === null) throw new Error('PostgresStore: open(study, space) must come first');
    return this.study;
  }
}

/**
 * The URL with a user name: when it names none and neither PGUSER nor USER is set (a service, a container),
 * pg would send none; like libpq, fall back to the name of the operating-system user.
 */
export function withDefaultUser(url: string): string {
  if (process.env.PGUSER || process.env.USER) return url;
  try {
    const u = new URL(url);
    if (u.username || u.searchParams.has('user')) return url;
    u.username = encodeURIComponent(userInfo().username);
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * The URL with `sslmode=prefer|require|verify-ca` written as `verify-full`, which is what the pg 8 driver
 * does with them anyway, and the note to give with a connection error. pg says so itself in a ten-line
 * SECURITY WARNING on stderr at every start, around the one-line error; with the mode spelled out it does
 * not. A URL with `uselibpqcompat` (libpq's meanings) is left as it is.
 */
export function explicitSslMode(url: string): { url: string; note: string | null } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url, note: null };
  }
  const mode = u.searchParams.get('sslmode');
  if (mode === null || u.searchParams.has('uselibpqcompat') || !['prefer', 'require', 'verify-ca'].includes(mode)) return { url, note: null };
  u.searchParams.set('sslmode', 'verify-full');
  return { url: u.toString(), note: `sslmode=${mode} is verify-full to the pg driver; add uselibpqcompat=true for libpq's meaning` };
}

/** The URL with its password (in the user part or a `password=` parameter) replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^/@:]*:)[^/@]*@/, '$1***@').replace(/(password=)[^&\s]*/gi, '$1***');
  }
}

function oneLine(err: unknown): string {
  const e = err as Error & { code?: string; errors?: unknown[] };
  // Node reports a host with several addresses (localhost: ::1 and 127.0.0.1) as an AggregateError with no message.
  const text = e.message || (e.errors ?? []).map((x) => (x as Error).message).join('; ') || e.code || String(err);
  return text.replace(/\s+/g, ' ').trim();
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return /^(08|57P)/.test(code) || /^E[A-Z]+$/.test(code) || /Connection terminated/i.test((err as Error).message ?? '');
}

/** Milliseconds since the epoch on the database's clock (the real time, not the transaction's start). */
const NOW = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';
/** With $1 = study, $2 = staleAfterMs. */
const STALE = `state = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < ${NOW} - $2::bigint)`;
/** With $1 = study, $2 = number, $3 = worker. */
const OWNED = `study = $1 AND number = $2 AND state = 'running' AND worker = $3`;
/** An arbitrary constant key ('s2pr' in ASCII) for the advisory lock around table creation. */
const SCHEMA_LOCK = 0x73327072;

const COLUMNS = 'number, params, state, value, intermediate, worker, heartbeat_at, started_at, finished_at, attrs';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS s2prop_store (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO s2prop_store (key, value) VALUES ('version', '${STORE_VERSION}') ON CONFLICT (key) DO NOTHING;
CREATE TABLE IF NOT EXISTS studies (
  name TEXT PRIMARY KEY,
  space TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
  study TEXT NOT NULL REFERENCES studies (name),
  number INTEGER NOT NULL,
  params TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'pruned', 'failed')),
  value DOUBLE PRECISION,
  intermediate TEXT NOT NULL DEFAULT '[]',
  worker TEXT,
  heartbeat_at BIGINT,
  started_at BIGINT NOT NULL,
  finished_at BIGINT,
  attrs TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (study, number)
);
`;
