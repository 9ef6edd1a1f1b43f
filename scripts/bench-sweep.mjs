// Sweep throughput: forty-epoch twin trials per hour on this machine, with 1 and 2 worker processes
// sharing one SQLite study (one trial per process at a time). Writes results/bench-sweep.json.
//
//   npm run build && node scripts/bench-sweep.mjs [--trials 6]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--trials');
const trials = i >= 0 ? Number(process.argv[i + 1]) : 6;
const work = mkdtempSync(join(tmpdir(), 's2prop-bench-sweep-'));
const space = {
  format: 's2prop-space',
  version: 1,
  base: { preset: 'twin', settings: {} },
  objective: { metric: 'validationAccuracy', direction: 'maximize' },
  budget: { trials, epochs: 40 },
  sampler: { type: 'random', seed: 0 },
  parameters: { 'optimizer.lr': { type: 'loguniform', low: 0.001, high: 0.004 } },
};
writeFileSync(join(work, 'space.json'), JSON.stringify(space));

const runs = [];
for (const workers of [1, 2]) {
  const study = join(work, `study-${workers}.db`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), 'sweep', 'run', '--space', join(work, 'space.json'), '--study', study, '--workers', String(workers), '--backend', 'wasm'], { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(r.stderr);
  const row = { workers, trials, epochsPerTrial: 40, seconds: +seconds.toFixed(1), trialsPerHour: Math.round((trials / seconds) * 3600) };
  console.log(JSON.stringify(row));
  runs.push(row);
}
rmSync(work, { recursive: true, force: true });
mkdirSync(join(root, 'results'), { recursive: true });
writeFileSync(
  join(root, 'results/bench-sweep.json'),
  JSON.stringify({ what: 'forty-epoch twin trials per hour (canonical splits, wasm), one trial per worker process, SQLite study; stacked trials in one tensor program are not implemented yet', machine: { cpus: cpus().length, node: process.version }, date: new Date().toISOString().slice(0, 10), runs }, null, 2) + '\n',
);
