import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../errors.js';

/**
 * Write a file atomically: into a temporary file in the same folder, then rename over the target,
 * so a crash or an interrupt never leaves half a file and never destroys the previous version.
 * A target that cannot be written (a folder, no permission) is the user's to fix: one clear error.
 */
export function writeFileAtomic(path: string, contents: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path) || '.', { recursive: true });
    writeFileSync(tmp, contents);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code && ['EISDIR', 'EACCES', 'EPERM', 'ENOTDIR', 'EROFS', 'ENOSPC', 'EEXIST'].includes(code)) {
      throw new UserError(`${path}: cannot write the file (${code === 'EISDIR' ? 'it is a folder' : code})`);
    }
    throw err;
  }
}
