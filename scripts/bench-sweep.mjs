// Sweep throughput: forty-epoch twin trials per hour on this machine, through `s2prop sweep run` with
// one SQLite study per run: one trial per worker process at a time (1 and 2 workers), and stacked
// trials (`--stack K`: K trials of the same shape trained together in one tensor program, K = 2, 4, 8,
// with 1 and 2 workers). Same trials everywhere (random learning rates, seed 0). Writes
// results/bench-sweep.json.
//
//   npm run build && node scripts/bench-sweep.mjs [--trials 16] [--stacks 1,2,4,8] [--workers 1,2] [--epochs 40]
//                                               [--backend wasm|webgpu] [--out FILE]
//
// With --backend webgpu (a GPU: large stacks, e.g. --stacks 64,256 --workers 1) the results go to
// results/bench-sweep-webgpu.json unless --out says otherwise, with the adapter's name.
//
// Besides the wall-clock rate, each run records the CPU time of all its processes (user + system, from
// the shell's `times`), which depends much less on other load on a shared machine: 3600 / cpuSecondsPerTrial
// is the rate one dedicated core would give.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const trials = Number(arg('trials', '16'));
const epochs = Number(arg('epochs', '40'));
const stacks = arg('stacks', '1,2,4,8').split(',').map(Number);
const workerCounts = arg('workers', '1,2').split(',').map(Number);
const backend = arg('backend', 'wasm');
const out = arg('out', join(root, backend === 'wasm' ? 'results/bench-sweep.json' : `results/bench-sweep-${backend}.json`));
const NODE_FLAGS = ['--no-wasm-dynamic-tiering'];
const work = mkdtempSync(join(tmpdir(), 's2prop-bench-sweep-'));
const space = {
  format: 's2prop-space',
  version: 1,
  base: { preset: 'twin', settings: {} },
  objective: { metric: 'validationAccuracy', direction: 'maximize' },
  budget: { trials, epochs },
  sampler: { type: 'random', seed: 0 },
  parameters: { 'optimiser.lr': { type: 'loguniform', low: 0.001, high: 0.004 } },
};
writeFileSync(join(work, 'space.json'), JSON.stringify(space));

/** Run a command under bash and return its wall seconds and the CPU seconds of it and its descendants. */
function timed(argv) {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', `${quoted} >/dev/null 2>"$0.err"; rc=$?; times; exit $rc`, join(work, 'last')], { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed:\n${r.stderr}${r.stdout}`);
  // `times`: the shell's user/system times, then its children's, as 0m1.234s.
  const children = r.stdout.trim().split('\n')[1].split(/\s+/);
  const toSeconds = (s) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(s);
    return Number(m[1]) * 60 + Number(m[2]);
  };
  return { seconds, cpuSeconds: toSeconds(children[0]) + toSeconds(children[1]) };
}

const runs = [];
for (const stack of stacks) {
  for (const workers of workerCounts) {
    const study = join(work, `study-${stack}-${workers}.db`);
    const load = loadavg()[0];
    const { seconds, cpuSeconds } = timed([
      process.execPath, ...NODE_FLAGS, join(root, 'dist/cli/main.js'), 'sweep', 'run', '--space', join(work, 'space.json'), '--study', study,
      '--workers', String(workers), '--stack', String(stack), '--backend', backend,
    ]);
    const row = {
      backend,
      workers,
      stack,
      trials,
      epochsPerTrial: epochs,
      seconds: +seconds.toFixed(1),
      trialsPerHour: Math.round((trials / seconds) * 3600),
      cpuSeconds: +cpuSeconds.toFixed(1),
      cpuSecondsPerTrial: +(cpuSeconds / trials).toFixed(2),
      trialsPerCpuHour: Math.round((trials / cpuSeconds) * 3600),
      loadAverageBefore: +load.toFixed(2),
    };
    console.log(JSON.stringify(row));
    runs.push(row);
  }
}
rmSync(work, { recursive: true, force: true });
let adapter = null;
if (backend === 'webgpu') {
  const { probeAdapter, adapterName } = await import(join(root, 'dist/engine/webgpu/adapter.js'));
  const probe = await probeAdapter();
  adapter = probe.ok ? adapterName(probe.info) : `none: ${probe.missing}`;
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      what:
        `forty-epoch twin trials per hour (canonical splits, ${backend}) through s2prop sweep run with a SQLite study: stack 1 = one trial per worker process at a time; ' +
        'stack K = each worker trains K trials of the same shape together in one tensor program (--stack K). trialsPerCpuHour = trials per hour of CPU time of all processes.`,
      adapter,
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? 'unknown',
        node: process.version,
        nodeFlags: NODE_FLAGS,
        shared: 'the machine may have been shared with other jobs while this ran: loadAverageBefore is the 1-minute load average when each run started (2 cores); wall-clock rates drop under load, CPU-time rates much less',
      },
      date: new Date().toISOString().slice(0, 10),
      runs,
    },
    null,
    2,
  ) + '\n',
);
