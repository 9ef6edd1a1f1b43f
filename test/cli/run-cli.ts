import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import { datasetToCsv } from '../../src/data/csv.js';
import { YINYANG_FEATURES, yinyangDataset } from '../../src/data/yinyang.js';
import { initModel } from '../../src/model/init.js';
import { saveModel } from '../../src/model/model-file.js';
import { resolveConfig } from '../../src/model/train-config.js';

/**
 * Helpers for tests that run the built CLI (`dist/cli/main.js`) as a child process, the way a user does.
 *
 * `ensureBuilt()` (call it in `beforeAll`) compiles with tsc at most once per test process, and only when
 * a source file is newer than its output. The build runs under a lock shared by all test processes, so
 * suites running in parallel never read dist/ while another one rewrites it.
 */

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO, 'dist', 'cli', 'main.js');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const LOCK = join(tmpdir(), `s2prop-test-build-${createHash('sha1').update(REPO).digest('hex').slice(0, 12)}.lock`);

/** Every src/**\/*.ts has a dist/**\/*.js at least as new (and tsconfig.json is not newer than the build). */
function distIsFresh(): boolean {
  if (!existsSync(CLI)) return false;
  const oldestOutput = { t: Infinity };
  const newestInput = { t: statSync(join(REPO, 'tsconfig.json')).mtimeMs };
  const walk = (dir: string): boolean => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!walk(path)) return false;
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const out = join(REPO, 'dist', relative(join(REPO, 'src'), path)).replace(/\.ts$/, '.js');
        if (!existsSync(out)) return false;
        newestInput.t = Math.max(newestInput.t, statSync(path).mtimeMs);
        oldestOutput.t = Math.min(oldestOutput.t, statSync(out).mtimeMs);
      }
    }
    return true;
  };
  return walk(join(REPO, 'src')) && newestInput.t <= oldestOutput.t;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function build(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock left by a killed run is cleared after two minutes (a build takes seconds).
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // Released meanwhile.
      }
      await sleep(200);
    }
  }
  try {
    if (distIsFresh()) return;
    const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: REPO, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tsc -p tsconfig.json failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

const state = globalThis as { __s2propBuild?: Promise<void> };

/** Build dist/ once per process (when stale); every suite's `beforeAll` awaits it. */
/**
 * The usual set-up of a file of CLI tests: a per-test time limit, the CLI built and the data CSVs
 * prepared once before its tests, its temporary folders removed after them.
 */
export function setUpCliTests(testTimeout = 60_000): void {
  vi.setConfig({ testTimeout });
  beforeAll(async () => {
    await ensureBuilt();
    prepareData();
  }, 120_000);
  afterAll(removeTempDirs);
}

export function ensureBuilt(): Promise<void> {
  state.__s2propBuild ??= build();
  return state.__s2propBuild;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `node dist/cli/main.js ...args` in `cwd`. Asynchronous (not spawnSync) so that a suite's
 * `describe.concurrent` tests keep both cores busy: vitest gives a 2-core machine one worker, and each
 * run spends most of its ~0.8 s loading TensorFlow.js. `env` is added to this process's environment.
 */
export function runCli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Like runCli, but the command must succeed; returns its stdout. */
export async function runCliOk(args: string[], cwd: string): Promise<string> {
  const r = await runCli(args, cwd);
  expect(r.status, `s2prop ${args.join(' ')} failed:\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/**
 * A rejected input: exit code 1, nothing on stdout, and exactly one stderr line, `s2prop: ...`, that
 * contains each of `mentions` (the file, the field or flag, and what was expected). Returns the line.
 */
export function expectUserError(r: CliResult, ...mentions: (string | RegExp)[]): string {
  const context = `exit ${r.status}, stderr:\n${r.stderr}\nstdout:\n${r.stdout}`;
  expect(r.status, context).toBe(1);
  expect(r.stdout, context).toBe('');
  expect(r.stderr.endsWith('\n'), context).toBe(true);
  const lines = r.stderr.slice(0, -1).split('\n');
  expect(lines, context).toHaveLength(1);
  const line = lines[0];
  expect(line.startsWith('s2prop: '), context).toBe(true);
  for (const m of mentions) {
    if (typeof m === 'string') expect(line).toContain(m);
    else expect(line).toMatch(m);
  }
  return line;
}

const made: string[] = [];
let dataDir: string | undefined;

/** A fresh empty temporary folder (removed by `removeTempDirs`). */
export function freshDir(prefix = 's2prop-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  dataDir = undefined;
}

/** Name -> contents of every file in a folder (not recursive): to check that a failure wrote nothing. */
export function folderState(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) out[name] = readFileSync(join(dir, name), 'latin1');
  return out;
}

export function writeText(dir: string, name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

export function writeJson(dir: string, name: string, value: unknown): string {
  return writeText(dir, name, JSON.stringify(value, null, 1));
}

export function readJson<T = unknown>(dir: string, name: string): T {
  return JSON.parse(readFileSync(join(dir, name), 'utf8')) as T;
}

/**
 * Small Yin-Yang CSVs, written once per test file (call `prepareData` in `beforeAll`) by the library
 * rather than by `s2prop data` (test/cli/data.test.ts checks that command), to save a CLI start per file:
 * 120 samples of seed 5 split into small.csv (rows 1-60), v.csv (61-90) and t.csv (91-120).
 * `copyData(dir)` puts copies into a test's own folder.
 */
export const DATA_FILES = ['small.csv', 'v.csv', 't.csv'] as const;

export function prepareData(): void {
  const d = freshDir('s2prop-data-');
  const [header, ...rows] = datasetToCsv(yinyangDataset({ size: 120, seed: 5 })).trimEnd().split('\n');
  const part = (from: number, to: number) => [header, ...rows.slice(from, to)].join('\n') + '\n';
  writeFileSync(join(d, 'small.csv'), part(0, 60));
  writeFileSync(join(d, 'v.csv'), part(60, 90));
  writeFileSync(join(d, 't.csv'), part(90, 120));
  dataDir = d;
}

/** An initialised (untrained) model file's text, as `s2prop init` writes it: 4 features plus bias -> hidden -> 3. */
export function initModelText(preset: string, seed: number, hidden?: number[]): string {
  const config = resolveConfig(preset, [{ seed, ...(hidden ? { hidden } : {}) }], 'test');
  const dir = freshDir('s2prop-model-');
  saveModel(join(dir, 'model.json'), initModel(config, YINYANG_FEATURES.length + 1, 3, [...YINYANG_FEATURES]));
  return readFileSync(join(dir, 'model.json'), 'utf8');
}

export function copyData(dir: string): void {
  if (!dataDir) throw new Error('copyData: call prepareData() in beforeAll first');
  for (const name of DATA_FILES) copyFileSync(join(dataDir, name), join(dir, name));
}

/** The flags of a small, fast training run on the copied CSVs. */
export const SMALL_TRAIN = ['--hidden', '20', '--train', 'small.csv', '--validation', 'v.csv', '--test', 't.csv', '--backend', 'wasm', '--quiet'];
