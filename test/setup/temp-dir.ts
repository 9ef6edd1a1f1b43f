import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * vitest globalSetup: every test (and every CLI child it starts) makes its temporary folders under one
 * folder of this run (TMPDIR, which os.tmpdir() reads and children inherit), removed when the run ends,
 * so no test leaves anything in /tmp, whether it cleans up after itself or fails half-way.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 's2prop-tests-'));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
