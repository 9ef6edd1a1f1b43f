import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../src/sweep/store/open-store.js';
import { CLI, ensureBuilt, freshDir, removeTempDirs } from '../cli/run-cli.js';

/**
 * `sweep run` killed with SIGKILL takes its worker children with it, and the study reaches them through
 * the environment, not their command line. Linux: processes are found and checked through /proc.
 */

vi.setConfig({ testTimeout: 120_000 });
beforeAll(async () => {
  await ensureBuilt();
}, 120_000);
afterAll(removeTempDirs);

const HAS_PROC = existsSync('/proc/self/stat');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process that runs (exists and is not a zombie waiting to be reaped). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pids whose parent is `ppid`. */
function children(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const SPACE = {
  format: 's2prop-space',
  version: 1,
  base: { preset: 'twin', settings: { hidden: [16], evalBatch: 500 } },
  objective: { metric: 'validationAccuracy', direction: 'maximize' },
  budget: { trials: 200, epochs: 50 },
  sampler: { type: 'random', seed: 3 },
  parameters: { 'optimiser.lr': { type: 'loguniform', low: 0.001, high: 0.01 } },
};

describe.skipIf(!HAS_PROC)('sweep run killed with SIGKILL', () => {
  it('its 3 workers end within 5 s, none had the study on its command line, and no trial is left half-claimed', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'space.json'), JSON.stringify(SPACE));
    // The sqlite: URL form, so that the argv check looks for a URL.
    const target = `sqlite:${join(dir, 'study.db')}`;
    const parent = spawn(process.execPath, ['--no-wasm-dynamic-tiering', CLI, 'sweep', 'run', '--space', 'space.json', '--study', target, '--workers', '3', '--backend', 'wasm', '--stale-after', '5'], {
      cwd: dir,
      stdio: 'ignore',
    });
    const store = openStore(target);
    let workers: number[] = [];
    try {
      // Wait until the three workers run trials.
      for (let i = 0; i < 600; i++) {
        await sleep(100);
        workers = children(parent.pid!);
        if (workers.length === 3 && existsSync(join(dir, 'study.db'))) {
          await store.open('study', undefined).catch(() => {});
          if (new Set((await store.trials().catch(() => [])).map((t) => t.worker)).size === 3) break;
        }
      }
      expect(workers, 'three worker children').toHaveLength(3);
      for (const pid of workers) {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        expect(argv).toContain('worker');
        expect(argv.join(' '), `worker ${pid} command line`).not.toContain('study.db');
        expect(argv.join(' ')).not.toContain('sqlite:');
        const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        expect(env).toContain(`S2PROP_STUDY=${target}`);
      }
      parent.kill('SIGKILL');
      const t0 = Date.now();
      while (workers.some(running) && Date.now() - t0 < 5000) await sleep(50);
      expect(workers.filter(running), `workers still running ${Date.now() - t0} ms after the parent died`).toEqual([]);
      // Every trial is numbered without gaps and owned by one of the workers: claims are whole or absent.
      const trials = await store.trials();
      expect(trials.map((t) => t.number)).toEqual(trials.map((_, i) => i));
      const names = new Set(workers.map((pid) => `:${pid}`));
      for (const t of trials) expect([...names].some((n) => t.worker!.endsWith(n)), `trial ${t.number} worker ${t.worker}`).toBe(true);
    } finally {
      for (const pid of workers) if (running(pid)) process.kill(pid, 'SIGKILL');
      await store.close();
    }
  });
});
