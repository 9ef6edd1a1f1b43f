import Database from 'better-sqlite3';
import { UserError } from '../../errors.js';
import type { ClaimedTrial, ClaimOptions, StudyStore, Trial, TrialState } from '../types.js';
import { describeDifference } from './canonical-json.js';
import { STORE_VERSION, checkFinalState, jsonText, rowToTrial, staleInfo, storedValue, withReport, type StaleRow, type TrialRow } from './trial-row.js';

/**
 * A study store in one SQLite file, shared by the processes of one machine: WAL mode, a busy timeout so
 * that writers wait for each other, and every read-then-write in one `BEGIN IMMEDIATE` transaction, which
 * holds the file's write lock from its start. Times come from this machine's clock. (SQLite over a
 * network file system is not safe; use PostgreSQL for workers on several machines.)
 */
export class SqliteStore implements StudyStore {
  private readonly db: Database.Database;
  private study: string | null = null;
  private readonly sql: ReturnType<typeof prepare>;

  constructor(
    readonly path: string,
    options: { busyTimeoutMs?: number } = {},
  ) {
    try {
      this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    } catch (err) {
      throw new UserError(`${path}: cannot open the study store (${(err as Error).message})`);
    }
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.transaction(() => this.db.exec(SCHEMA)).immediate();
      const row = this.db.prepare(`SELECT value FROM s2prop_store WHERE key = 'version'`).get() as { value: string };
      if (row.value !== String(STORE_VERSION)) {
        throw new UserError(`${path}: study store version ${row.value}, expected ${STORE_VERSION}`);
      }
    } catch (err) {
      this.db.close();
      if (err instanceof Database.SqliteError && /^SQLITE_(NOTADB|CANTOPEN|READONLY|PERM|CORRUPT|IOERR|FULL|BUSY)/.test(err.code)) {
        throw new UserError(`${path}: cannot open the study store (${err.message})`);
      }
      throw err;
    }
    this.sql = prepare(this.db);
  }

  async open(study: string, space: unknown): Promise<void> {
    if (typeof study !== 'string' || study === '') throw new UserError(`${this.path}: the study needs a name`);
    if (space === undefined) {
      // Join an existing study (a worker started elsewhere): it must exist.
      if (!this.sql.getSpace.get(study)) throw new UserError(`${this.path}: there is no study '${study}' (start one with s2prop sweep run --space ...)`);
      this.study = study;
      return;
    }
    const stored = this.db
      .transaction(() => {
        this.sql.insertStudy.run(study, jsonText(space), Date.now());
        return (this.sql.getSpace.get(study) as { space: string }).space;
      })
      .immediate();
    const difference = describeDifference(JSON.parse(stored), space ?? null);
    if (difference) throw new UserError(`${this.path}: study '${study}' was created with another space (${difference})`);
    this.study = study;
  }

  async claim(opts: ClaimOptions): Promise<ClaimedTrial | null> {
    const study = this.requireStudy();
    const claimOnce = (): ClaimedTrial | null => {
      const now = Date.now();
      // Inside one write transaction: the stale trial found is the one taken over.
      const stale = this.sql.findStale.get(study, now - opts.staleAfterMs) as StaleRow | undefined;
      if (stale) {
        const taken = this.sql.takeOver.get(opts.worker, now, study, stale.number) as TrialRow;
        return { ...rowToTrial(taken), takenOver: staleInfo(stale) };
      }
      const { n } = this.sql.count.get(study) as { n: number };
      if (n >= opts.maxTrials) return null;
      const params = opts.propose(this.readTrials(study));
      const created = this.sql.insertTrial.get(study, n, jsonText(params), opts.worker, now, now) as TrialRow;
      return rowToTrial(created);
    };
    return this.db.transaction(claimOnce).immediate();
  }

  async heartbeat(number: number, worker: string): Promise<boolean> {
    return this.sql.heartbeat.run(Date.now(), this.requireStudy(), number, worker).changes === 1;
  }

  async report(number: number, worker: string, epoch: number, value: number): Promise<boolean> {
    const study = this.requireStudy();
    const reportOnce = (): boolean => {
      const row = this.sql.getOwned.get(study, number, worker) as { intermediate: string } | undefined;
      if (!row) return false;
      this.sql.setIntermediate.run(withReport(row.intermediate, epoch, value), Date.now(), study, number);
      return true;
    };
    return this.db.transaction(reportOnce).immediate();
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
    return this.sql.finish.run(state, storedValue(value), Date.now(), jsonText(attrs), study, number, worker).changes === 1;
  }

  async trials(): Promise<Trial[]> {
    return this.readTrials(this.requireStudy());
  }

  async space(): Promise<unknown> {
    return JSON.parse((this.sql.getSpace.get(this.requireStudy()) as { space: string }).space);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private readTrials(study: string): Trial[] {
    return (this.sql.allTrials.all(study) as TrialRow[]).map(rowToTrial);
  }

  private requireStudy(): string {
    if (this.study === null) throw new Error('SqliteStore: open(study, space) must come first');
    return this.study;
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS s2prop_store (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO s2prop_store (key, value) VALUES ('version', '${STORE_VERSION}');
CREATE TABLE IF NOT EXISTS studies (
  name TEXT PRIMARY KEY,
  space TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
  study TEXT NOT NULL REFERENCES studies (name),
  number INTEGER NOT NULL,
  params TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'pruned', 'failed')),
  value REAL,
  intermediate TEXT NOT NULL DEFAULT '[]',
  worker TEXT,
  heartbeat_at INTEGER,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  attrs TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (study, number)
);
`;

const COLUMNS = 'number, params, state, value, intermediate, worker, heartbeat_at, started_at, finished_at, attrs';

function prepare(db: Database.Database) {
  return {
    insertStudy: db.prepare('INSERT OR IGNORE INTO studies (name, space, created_at) VALUES (?, ?, ?)'),
    getSpace: db.prepare('SELECT space FROM studies WHERE name = ?'),
    count: db.prepare('SELECT count(*) AS n FROM trials WHERE study = ?'),
    allTrials: db.prepare(`SELECT ${COLUMNS} FROM trials WHERE study = ? ORDER BY number`),
    // The lowest-numbered running trial whose heartbeat is older than the cutoff restarts from epoch 1.
    findStale: db.prepare(
      `SELECT number, worker, heartbeat_at, intermediate FROM trials
       WHERE study = ? AND state = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < ?)
       ORDER BY number LIMIT 1`,
    ),
    takeOver: db.prepare(`UPDATE trials SET worker = ?, heartbeat_at = ?, intermediate = '[]' WHERE study = ? AND number = ? RETURNING ${COLUMNS}`),
    insertTrial: db.prepare(
      `INSERT INTO trials (study, number, params, state, intermediate, worker, heartbeat_at, started_at, attrs)
       VALUES (?, ?, ?, 'running', '[]', ?, ?, ?, '{}') RETURNING ${COLUMNS}`,
    ),
    heartbeat: db.prepare(`UPDATE trials SET heartbeat_at = ? WHERE study = ? AND number = ? AND state = 'running' AND worker = ?`),
    getOwned: db.prepare(`SELECT intermediate FROM trials WHERE study = ? AND number = ? AND state = 'running' AND worker = ?`),
    setIntermediate: db.prepare('UPDATE trials SET intermediate = ?, heartbeat_at = ? WHERE study = ? AND number = ?'),
    finish: db.prepare(
      `UPDATE trials SET state = ?, value = ?, finished_at = ?, attrs = ?
       WHERE study = ? AND number = ? AND state = 'running' AND worker = ?`,
    ),
  };
}
