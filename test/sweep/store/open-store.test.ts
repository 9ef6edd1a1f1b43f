import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { openStore } from '../../../src/sweep/store/open-store.js';
import { PostgresStore, redactUrl } from '../../../src/sweep/store/postgres-store.js';
import { SqliteStore } from '../../../src/sweep/store/sqlite-store.js';

const tmp = mkdtempSync(join(tmpdir(), 's2prop-open-store-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function caught(f: () => unknown): Promise<Error> {
  try {
    await f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('openStore', () => {
  it('a path, sqlite:path and sqlite:///abs/path are SQLite files', async () => {
    for (const [target, file] of [
      [join(tmp, 'a.db'), join(tmp, 'a.db')],
      [`sqlite:${join(tmp, 'b.db')}`, join(tmp, 'b.db')],
      [`sqlite://${join(tmp, 'c.db')}`, join(tmp, 'c.db')],
    ]) {
      const store = openStore(target);
      expect(store).toBeInstanceOf(SqliteStore);
      await store.open('s', { x: { type: 'fixed', value: 1 } });
      expect((await store.claim({ worker: 'w', staleAfterMs: 1000, maxTrials: 1, propose: () => ({ x: 1 }) }))?.number).toBe(0);
      await store.close();
      expect(existsSync(file)).toBe(true);
    }
  });

  it('postgres:// and postgresql:// URLs are PostgreSQL stores (connecting on first use)', async () => {
    for (const url of ['postgres://u@127.0.0.1:1/db', 'postgresql://u@127.0.0.1:1/db']) {
      const store = openStore(url);
      expect(store).toBeInstanceOf(PostgresStore);
      await store.close();
    }
  });

  it('an unreachable PostgreSQL server is a one-line UserError naming the URL without its password', async () => {
    const store = openStore('postgres://alice:s3cret@127.0.0.1:1/db');
    const err = await caught(() => store.open('s', {}));
    await store.close();
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain('postgres://alice:***@127.0.0.1:1/db');
    expect(err.message).not.toContain('s3cret');
    expect(err.message).not.toContain('\n');
  });

  it('another scheme is refused, without its password', async () => {
    const err = await caught(() => openStore('mysql://bob:hunter2@host/db'));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain("unknown scheme 'mysql:'");
    expect(err.message).not.toContain('hunter2');
  });

  it('a SQLite file in a missing folder, or a file that is not a database, is a UserError naming the path', async () => {
    const missing = join(tmp, 'no-such-folder', 'x.db');
    const err = await caught(() => openStore(missing));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(missing);
    const text = join(tmp, 'notes.txt');
    writeFileSync(text, 'this is not a database, just some text that is long enough to have a header'.repeat(20));
    const err2 = await caught(() => openStore(text));
    expect(err2).toBeInstanceOf(UserError);
    expect(err2.message).toContain(text);
  });

  it('an empty target is refused', async () => {
    expect(await caught(() => openStore(''))).toBeInstanceOf(UserError);
  });
});

describe('redactUrl', () => {
  it('hides a password in the user part or in a password= parameter (hand-written expectations)', () => {
    expect(redactUrl('postgres://u:p@h:5432/d')).toBe('postgres://u:***@h:5432/d');
    expect(redactUrl('postgresql://h/d?user=u&password=p')).toBe('postgresql://h/d?user=u&password=***');
    expect(redactUrl('postgres://h/d')).toBe('postgres://h/d');
  });
});
