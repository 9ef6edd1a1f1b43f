import { existsSync } from 'node:fs';
import { UserError } from '../../errors.js';
import type { StudyStore } from '../types.js';
import { PostgresStore, redactUrl } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';

/**
 * The study store a `--storage` target names: a `postgres://` or `postgresql://` URL is a PostgreSQL
 * database; anything else is a SQLite file (`sqlite:` in front is optional, and `sqlite:///abs/path`
 * works too). A SQLite file opens here; PostgreSQL connects on the store's first call. Either way a store
 * that cannot be reached is a UserError naming the target, without its password.
 */
/**
 * The study store a `--study` value names. `existing`: the commands that read a study (status, best,
 * export, worker) must not create an SQLite file for a mistyped path, so its absence is an error.
 */
export function openStore(target: string, opts: { existing?: boolean } = {}): StudyStore {
  if (/^postgres(ql)?:\/\//i.test(target)) return new PostgresStore(target);
  let path = target.replace(/^sqlite:/i, '');
  if (path !== target && path.startsWith('//')) path = path.slice(2);
  if (path === '') throw new UserError(`study store '${target}': expected a SQLite file path or a postgres:// URL`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(path);
  if (scheme) throw new UserError(`study store '${redactUrl(target)}': unknown scheme '${scheme[1]}:', expected a SQLite file path or a postgres:// URL`);
  if (opts.existing && !existsSync(path)) {
    throw new UserError(`study store '${path}': no such file (sweep create and sweep run make a study; status, best, export and worker read one)`);
  }
  return new SqliteStore(path);
}
