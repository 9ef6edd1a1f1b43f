import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../errors.js';

/**
 * Checks of an output path made before any work, so that a run that could never write its result
 * fails at once with one line instead of after hours of training. A later write can still fail (a full
 * disk); the atomic writers then keep the previous file.
 */

/** The path's nearest existing ancestor (itself when it exists). */
function nearestExisting(path: string): { path: string; isDirectory: boolean } {
  let p = resolve(path);
  for (;;) {
    try {
      return { path: p, isDirectory: statSync(p).isDirectory() };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const up = dirname(p);
      if (up === p) return { path: p, isDirectory: true };
      p = up;
    }
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** `what` (e.g. "--out model.json") can be created or replaced as a file. */
export function checkFileOutput(what: string, path: string): void {
  const found = nearestExisting(path);
  if (found.path === resolve(path)) {
    if (found.isDirectory) throw new UserError(`${what}: is a folder, expected a file path`);
    if (!writable(found.path)) throw new UserError(`${what}: the file is not writable`);
    if (!writable(dirname(found.path))) throw new UserError(`${what}: its folder ${dirname(found.path)} is not writable`);
    return;
  }
  if (!found.isDirectory) throw new UserError(`${what}: ${found.path} is a file, expected a folder on the way to ${path}`);
  if (!writable(found.path)) throw new UserError(`${what}: cannot create it, ${found.path} is not writable`);
}

/** `what` (e.g. "--out chip/") can be created as a folder or written into. */
export function checkFolderOutput(what: string, path: string): void {
  const found = nearestExisting(path);
  if (!found.isDirectory) {
    throw new UserError(found.path === resolve(path) ? `${what}: is a file, expected a folder` : `${what}: ${found.path} is a file, expected a folder on the way to ${path}`);
  }
  if (!writable(found.path)) throw new UserError(`${what}: ${found.path} is not writable`);
  // An existing folder is replaced by renaming a new one over it: its parent must take that.
  if (found.path === resolve(path) && !writable(dirname(found.path))) throw new UserError(`${what}: its parent folder ${dirname(found.path)} is not writable`);
}
