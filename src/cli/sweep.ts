import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Papa from 'papaparse';
import type { CommandModule } from 'yargs';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { toJsonText } from '../io/json.js';
import { percent, table } from '../report/format.js';
import { historyPlot, importancePlot, parallelCoordinates, parameterImportance } from '../report/svg-plots.js';
import { openStore } from '../sweep/store/open-store.js';
import { redactUrl } from '../sweep/store/postgres-store.js';
import { parseSpace, loadSpaceFile, type SearchSpace } from '../sweep/space/space-file.js';
import type { StudyStore, Trial } from '../sweep/types.js';
import { runStackedWorker } from '../sweep/stacked-worker.js';
import { runWorker, trialConfig, type WorkerOptions } from '../sweep/worker.js';
import { train } from '../train/trainer.js';
import { CANONICAL_DATA } from '../data/sources.js';
import { positiveInt, startBackend } from './common.js';

interface Args {
  action: string;
  space?: string;
  study: string;
  name: string;
  workers: number;
  backend: string;
  staleAfter: number;
  out?: string;
  repeatBest?: number;
  stack: number;
}

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** The best finished trial by the study's objective. */
export function bestTrial(trials: Trial[], space: SearchSpace): Trial | null {
  const done = trials.filter((t) => t.state === 'complete' && t.value !== null);
  if (!done.length) return null;
  const sign = space.objective.direction === 'maximize' ? 1 : -1;
  return done.reduce((a, t) => (sign * t.value! > sign * a.value! ? t : a));
}

function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  return JSON.stringify(v);
}

export function statusTable(trials: Trial[], space: SearchSpace): string {
  const names = Object.keys(space.parameters);
  const best = bestTrial(trials, space);
  const rows = trials.map((t) => [
    `${t.number}${best && t.number === best.number ? ' *' : ''}`,
    t.state,
    t.value === null ? '-' : formatValue(t.value),
    t.intermediate.length,
    ...names.map((n) => formatValue(t.params[n])),
  ]);
  const counts = ['complete', 'pruned', 'running', 'failed'].map((s) => `${trials.filter((t) => t.state === s).length} ${s}`).join(', ');
  return `${trials.length}/${space.budget.trials} trials: ${counts}; objective ${space.objective.direction} ${space.objective.metric}\n${table(['trial', 'state', 'value', 'epochs', ...names], rows)}`;
}

async function openExisting(args: Args): Promise<{ store: StudyStore; space: SearchSpace }> {
  const store = openStore(args.study, { existing: true });
  await store.open(args.name, undefined);
  return { store, space: parseSpace(await store.space(), `${args.study} (study ${args.name})`) };
}

function spawnWorker(args: Args, index: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--no-wasm-dynamic-tiering', MAIN, 'sweep', 'worker', '--study', args.study, '--name', args.name, '--backend', args.backend, '--stale-after', String(args.staleAfter), '--stack', String(args.stack)], {
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => process.stderr.write(d.replace(/^(?=.)/gm, `[worker ${index}] `)));
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/** Stacked workers train one seed per trial: a multi-seed objective needs plain workers. */
function checkStack(stack: number, space: { objective: { seeds?: number } }): void {
  if (stack > 1 && (space.objective.seeds ?? 1) > 1) {
    throw new UserError(`--stack ${stack}: stacked workers train one seed per trial, but the study's objective has seeds: ${space.objective.seeds}; use --stack 1`);
  }
}

export const sweepCommand: CommandModule<object, Args> = {
  command: 'sweep <action>',
  describe: 'Hyper-parameter sweeps: create | run | worker | status | best | export',
  builder: (y) =>
    y
      .positional('action', { type: 'string', choices: ['create', 'run', 'worker', 'status', 'best', 'export'], demandOption: true })
      .option('space', { type: 'string', describe: 'search space file (YAML or JSON), for create and run' })
      .option('study', { type: 'string', demandOption: true, describe: 'study store: a SQLite file, or a postgres:// URL shared by workers on many machines' })
      .option('name', { type: 'string', default: 'study', describe: 'study name within the store' })
      .option('workers', { type: 'number', default: 1, describe: 'worker processes on this machine (run)' })
      .option('backend', { type: 'string', default: 'auto' })
      .option('stale-after', { type: 'number', default: 60, describe: 'seconds without a heartbeat after which a running trial is re-run' })
      .option('out', { type: 'string', describe: 'folder for export (trials.csv, best-config.json)' })
      .option('repeat-best', { type: 'number', describe: 're-train the best configuration with this many seeds (best)' })
      .option('stack', { type: 'number', default: 1, describe: 'train up to this many trials of the same shape together in each worker, as one tensor program (run, worker)' })
      .strict() as never,
  handler: async (args) => {
    const stack = positiveInt('stack', args.stack);
    if (args.action === 'run' || args.action === 'create') {
      if (!args.space) throw new UserError(`sweep ${args.action}: --space is required (the search space file)`);
      const space = loadSpaceFile(args.space);
      if (args.action === 'run') checkStack(stack, space);
      const store = openStore(args.study);
      await store.open(args.name, space);
      await store.close();
      if (args.action === 'create') {
        process.stdout.write(`study '${args.name}' is ready in ${redactUrl(args.study)}; start workers with s2prop sweep worker\n`);
        return;
      }
      const workers = positiveInt('workers', args.workers);
      const codes = await Promise.all(Array.from({ length: workers }, (_, i) => spawnWorker(args, i)));
      const { store: s, space: sp } = await openExisting(args);
      process.stdout.write(statusTable(await s.trials(), sp) + '\n');
      await s.close();
      if (codes.some((c) => c !== 0)) throw new UserError(`sweep run: ${codes.filter((c) => c !== 0).length} worker(s) failed (see their messages above)`);
      return;
    }
    const { store, space } = await openExisting(args);
    try {
      if (args.action === 'worker') {
        const backend = await startBackend(args.backend);
        const deadline = space.budget.seconds ? Date.now() + space.budget.seconds * 1000 : undefined;
        const options: WorkerOptions = {
          store,
          space,
          backend,
          staleAfterMs: args.staleAfter * 1000,
          deadline,
          onTrial: (e) => {
            if (e.type === 'finish') process.stderr.write(`trial ${e.trial.number}: ${e.state}${e.value === null || e.value === undefined ? '' : `, ${space.objective.metric} ${formatValue(e.value)}`}\n`);
          },
        };
        checkStack(stack, space);
        const ran = await (stack > 1 ? runStackedWorker({ ...options, stack }) : runWorker(options));
        process.stderr.write(`worker finished ${ran} trial(s)\n`);
        return;
      }
      const trials = await store.trials();
      if (args.action === 'status') {
        process.stdout.write(statusTable(trials, space) + '\n');
        return;
      }
      const best = bestTrial(trials, space);
      if (!best) throw new UserError(`${args.study}: study ${args.name} has no complete trial yet`);
      const config = trialConfig(space, best.params, `best trial ${best.number}`);
      if (args.action === 'best') {
        process.stdout.write(`best trial ${best.number}: ${space.objective.metric} ${formatValue(best.value)}\n${toJsonText(best.params)}`);
        if (args.repeatBest !== undefined) {
          const k = positiveInt('repeat-best', args.repeatBest);
          const backend = await startBackend(args.backend);
          const accs: number[] = [];
          for (let seed = 0; seed < k; seed++) {
            const r = await train({ config: { ...config, seed }, data: CANONICAL_DATA, backend });
            accs.push(r.test.accuracy);
            process.stderr.write(`seed ${seed}: validation ${percent(r.validation.accuracy)}, test ${percent(r.test.accuracy)}\n`);
          }
          const mean = accs.reduce((a, b) => a + b, 0) / k;
          const std = k > 1 ? Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / (k - 1)) : 0;
          process.stdout.write(`best configuration, ${k} seeds: test accuracy ${(100 * mean).toFixed(2)} ± ${(100 * std).toFixed(2)} %\n`);
        }
        return;
      }
      // export
      if (!args.out) throw new UserError('sweep export: --out is required (a folder)');
      const names = Object.keys(space.parameters);
      const rows = trials.map((t) => ({ number: t.number, state: t.state, value: t.value, epochs: t.intermediate.length, worker: t.worker, ...Object.fromEntries(names.map((n) => [n, JSON.stringify(t.params[n])])) }));
      writeFileAtomic(join(args.out, 'trials.csv'), Papa.unparse(rows, { newline: '\n' }) + '\n');
      writeFileAtomic(join(args.out, 'best-config.json'), toJsonText(config));
      const metric = space.objective.metric;
      writeFileAtomic(join(args.out, 'history.svg'), historyPlot(trials, metric, space.objective.direction === 'maximize'));
      writeFileAtomic(join(args.out, 'parallel-coordinates.svg'), parallelCoordinates(trials, space.parameters, metric));
      writeFileAtomic(join(args.out, 'importance.svg'), importancePlot(parameterImportance(trials, space.parameters)));
      process.stdout.write(`wrote trials.csv, best-config.json (for s2prop train --config), history.svg, parallel-coordinates.svg, importance.svg to ${args.out}\n`);
    } finally {
      await store.close();
    }
  },
};
