import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { UserError, inFile } from '../errors.js';

/** `layers[1].weights[3][2]` from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(top level)';
}

/**
 * Validate `data` against a schema; on failure throw one UserError line naming the file, the field and
 * what was expected (the first problem found; fixing it reveals the next).
 */
export function parseWith<S extends z.ZodType>(schema: S, data: unknown, fileName: string): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${formatPath(issue.path)}.` : '';
    throw inFile(fileName, `${where}${issue.keys[0]}: unknown key (a typo, or a key of another format version?)`);
  }
  const message = missing ? 'is missing' : issue.message.replace(/^Invalid input: /, '');
  // A message that reads on from the field (`is 27, ...`, `has 119 rows, ...`) follows it without a colon.
  const sep = /^(is|has|names) /.test(message) ? ' ' : ': ';
  throw inFile(fileName, `${formatPath(issue.path)}${sep}${message}`);
}

/** Read a text file, with one clear line when it cannot be read. */
export function readTextFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: cannot read the file (${code === 'ENOENT' ? 'it does not exist' : code})`);
  }
}

/** Read and parse a JSON file, with one clear line for a missing or malformed file. */
export function readJsonFile(path: string): unknown {
  const text = readTextFile(path);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw inFile(path, `not valid JSON (${(err as Error).message})`);
  }
}
