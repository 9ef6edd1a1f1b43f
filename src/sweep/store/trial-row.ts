import type { ClaimedTrial, Trial, TrialState } from '../types.js';

/**
 * The study store format shared by the SQLite and PostgreSQL stores: its version, and how a row of the
 * `trials` table (JSON held as text, times as milliseconds since the epoch) becomes a `Trial`.
 *
 * Version 1 tables:
 *   s2prop_store (key PRIMARY KEY, value)                 -- ('version', '1')
 *   studies (name PRIMARY KEY, space JSON, created_at)
 *   trials  (study, number, params JSON, state, value, intermediate JSON, worker, heartbeat_at,
 *            started_at, finished_at, attrs JSON, PRIMARY KEY (study, number))
 * `intermediate` is `[{"epoch": e, "value": v}, ...]` in epoch order; a value that is not finite (a loss
 * that diverged) is kept as the string "NaN", "Infinity" or "-Infinity".
 */
export const STORE_VERSION = 1;

export const TRIAL_STATES: readonly TrialState[] = ['running', 'complete', 'pruned', 'failed'];

/** A `trials` row as either driver returns it (pg returns BIGINT as a string). */
export interface TrialRow {
  number: number | string;
  params: string;
  state: string;
  value: number | string | null;
  intermediate: string;
  worker: string | null;
  heartbeat_at: number | string | null;
  started_at: number | string;
  finished_at: number | string | null;
  attrs: string;
}

export function rowToTrial(row: TrialRow): Trial {
  if (!TRIAL_STATES.includes(row.state as TrialState)) throw new Error(`trial ${row.number}: unknown state '${row.state}'`);
  return {
    number: Number(row.number),
    params: JSON.parse(row.params) as Trial['params'],
    state: row.state as TrialState,
    value: row.value === null ? null : Number(row.value),
    intermediate: decodeIntermediate(row.intermediate),
    worker: row.worker,
    heartbeatAt: row.heartbeat_at === null ? null : Number(row.heartbeat_at),
    startedAt: Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    attrs: JSON.parse(row.attrs) as Trial['attrs'],
  };
}

/** The columns of a stale trial read just before a claim takes it over. */
export interface StaleRow {
  number: number | string;
  worker: string | null;
  heartbeat_at: number | string | null;
  intermediate: string;
}

/** What a claim tells about the stale trial it took over. */
export function staleInfo(row: StaleRow): NonNullable<ClaimedTrial['takenOver']> {
  return {
    worker: row.worker,
    heartbeatAt: row.heartbeat_at === null ? null : Number(row.heartbeat_at),
    epochs: decodeIntermediate(row.intermediate).length,
  };
}

type StoredPoint = { epoch: number; value: number | string };

function decodeIntermediate(text: string): Trial['intermediate'] {
  return (JSON.parse(text) as StoredPoint[]).map((p) => ({ epoch: p.epoch, value: Number(p.value) }));
}

/**
 * The intermediate values after reporting `value` for `epoch`: a repeated epoch replaces the earlier
 * report, and the list stays in epoch order.
 */
export function withReport(text: string, epoch: number, value: number): string {
  const points = (JSON.parse(text) as StoredPoint[]).filter((p) => p.epoch !== epoch);
  points.push({ epoch, value: Number.isFinite(value) ? value : String(value) });
  points.sort((a, b) => a.epoch - b.epoch);
  return JSON.stringify(points);
}

/** A finished trial's value as stored: NaN (no objective) becomes null; infinities are kept. */
export function storedValue(value: number | null): number | null {
  return value === null || Number.isNaN(value) ? null : value;
}

/** JSON text for a column; `undefined` (no space given) is stored as null. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** `finish` takes a final state only; anything else is a bug in the caller. */
export function checkFinalState(state: string): void {
  if (!['complete', 'pruned', 'failed'].includes(state)) throw new Error(`finish: state '${state}' is not a final state`);
}
