import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Papa from 'papaparse';
import type { CommandModule } from 'yargs';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { toJsonText } from '../io/json.js';
import { percent, table } from '../report/format.js';
import { formatValue, workerEventLine } from '../report/sweep-log.js';
import { historyPlot, importancePlot, parallelCoordinates, parameterImportance } from '../report/svg-plots.js';
import { openStore } from '../sweep/store/open-store.js';
import { redactUrl } from '../sweep/store/postgres-store.js';
import { parseSpace, loadSpaceFile, type SearchSpace } from '../sweep/space/space-file.js';
import type { StudyStore, Trial } from '../sweep/types.js';
import { runWorker, trialConfig, type WorkerOptions } from '../sweep/worker.js';
import { train } from '../train/trainer.js';
import { CANONICAL_DATA } from '../data/sources.js';
import { positiveInt, startBackend, withBackend } from './common.js';
import { PARENT_PID_ENV, exitWithParent } from '../sweep/parent-watch.js';

/** Flags every action takes: where the study is. */
interface StudyArgs {
  study?: string;
  name: string;
}

interface RunArgs extends StudyArgs {
  space: string;
  workers: number;
  backend: string;
  staleAfter: number;
  stack: number;
}

/** The environment variable a `--study` may come from (how `sweep run` hands it to its workers). */
export const STUDY_ENV = 'S2PROP_STUDY';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** The best finished trial by the study's objective. */
export function bestTrial(trials: Trial[], space: SearchSpace): Trial | null {
  const done = trials.filter((t) => t.state === 'complete' && t.value !== null);
  if (!done.length) return null;
  const sign = space.objective.direction === 'maximize' ? 1 : -1;
  return done.reduce((a, t) => (sign * t.value! > sign * a.value! ? t : a));
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

/** The study store: `--study`, else the S2PROP_STUDY environment variable. */
function studyTarget(args: StudyArgs): string {
  const target = args.study ?? process.env[STUDY_ENV];
  if (target === undefined || target.trim() === '') {
    throw new UserError(`--study is required (a SQLite file or a postgres:// URL; or set ${STUDY_ENV}, which keeps a password out of the process list)`);
  }
  return target;
}

async function openExisting(args: StudyArgs): Promise<{ store: StudyStore; space: SearchSpace; target: string }> {
  const target = studyTarget(args);
  const store = openStore(target, { existing: true });
  await store.open(args.name, undefined);
  return { store, target, space: parseSpace(await store.space(), `${redactUrl(target)} (study ${args.name})`) };
}

/**
 * A `sweep worker` child of `sweep run`. The study reaches it through the environment, not its command
 * line (where `ps` would show a password in a postgres:// URL), with the parent's pid, so that it ends
 * when the parent does (sweep/parent-watch.ts). Its stderr lines get a `[worker i]` prefix.
 */
function spawnWorker(args: RunArgs, target: string, index: number): Promise<number> {
  return new Promise((resolve) => {
    const argv = ['--no-wasm-dynamic-tiering', MAIN, 'sweep', 'worker', '--name', args.name, '--backend', args.backend, '--stale-after', String(args.staleAfter), '--stack', String(args.stack)];
    const child = spawn(process.execPath, argv, {
      stdio: ['ignore', 'inherit', 'pipe'],
      env: { ...process.env, [STUDY_ENV]: target, [PARENT_PID_ENV]: String(process.pid) },
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => process.stderr.write(d.replace(/^(?=.)/gm, `[worker ${index}] `)));
    child.on('close', (code) => resolve(code ?? 1));
  });
}

function studyOptions<T>(y: import('yargs').Argv<T>) {
  return y
    .option('study', {
      type: 'string',
      describe: `study store: a SQLite file, or a postgres:// URL shared by workers on many machines (default: the ${STUDY_ENV} environment variable, which keeps a password out of the process list)`,
    })
    .option('name', { type: 'string', default: 'study', describe: 'study name within the store (one store holds many studies)' });
}

function workerOptions<T>(y: import('yargs').Argv<T>) {
  return withBackend(studyOptions(y))
    .option('stale-after', {
      type: 'number',
      default: 60,
      describe: 'seconds without a heartbeat after which a running trial counts as abandoned and another worker re-runs it from epoch 1',
    })
    .option('stack', {
      type: 'number',
      default: 1,
      describe: 'train up to this many runs of the same shape together in each worker, as one tensor program: whole trials, each with its objective\'s seeds (1: one trial at a time, its seeds together)',
    });
}

const SPACE_OPTION = { type: 'string', demandOption: true, describe: 'search space file (YAML or JSON): base settings, parameters, objective, budget, sampler, pruner' } as const;

const createCommand: CommandModule<object, StudyArgs & { space: string }> = {
  command: 'create',
  describe: 'Create a study (or check that an existing one has this space), for workers to join',
  builder: (y) => studyOptions(y).option('space', SPACE_OPTION) as never,
  handler: async (args) => {
    const target = studyTarget(args);
    const space = loadSpaceFile(args.space);
    const store = openStore(target);
    await store.open(args.name, space);
    await store.close();
    process.stdout.write(`study '${args.name}' is ready in ${redactUrl(target)}; start workers with s2prop sweep worker\n`);
  },
};

const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'Create or join a study, run worker processes on this machine until it is done, print its status table',
  builder: (y) =>
    workerOptions(y)
      .option('space', SPACE_OPTION)
      .option('workers', { type: 'number', default: 1, describe: 'worker processes to start on this machine' }) as never,
  handler: async (args) => {
    const stack = positiveInt('stack', args.stack);
    const workers = positiveInt('workers', args.workers);
    const target = studyTarget(args);
    const space = loadSpaceFile(args.space);
    const store = openStore(target);
    await store.open(args.name, space);
    await store.close();
    const codes = await Promise.all(Array.from({ length: workers }, (_, i) => spawnWorker(args, target, i)));
    const { store: s, space: sp } = await openExisting(args);
    process.stdout.write(statusTable(await s.trials(), sp) + '\n');
    await s.close();
    if (codes.some((c) => c !== 0)) throw new UserError(`sweep run: ${codes.filter((c) => c !== 0).length} worker(s) failed (see their messages above)`);
  },
};

const workerCommand: CommandModule<object, RunArgs> = {
  command: 'worker',
  describe: 'Join an existing study and run its trials until none is left (start one per process, machine or GPU)',
  builder: (y) => workerOptions(y) as never,
  handler: async (args) => {
    // A child of `sweep run` ends with its parent.
    const parent = process.env[PARENT_PID_ENV];
    if (parent !== undefined && /^\d+$/.test(parent)) exitWithParent(Number(parent));
    const stack = positiveInt('stack', args.stack);
    const { store, space } = await openExisting(args);
    try {
      const backend = await startBackend(args.backend);
      const deadline = space.budget.seconds ? Date.now() + space.budget.seconds * 1000 : undefined;
      const options: WorkerOptions = {
        store,
        space,
        backend,
        staleAfterMs: args.staleAfter * 1000,
        deadline,
        onTrial: (e) => process.stderr.write(workerEventLine(e, space.objective.metric) + '\n'),
      };
        const ran = await runWorker({ ...options, stack });
      process.stderr.write(`worker finished ${ran} trial(s)\n`);
    } finally {
      await store.close();
    }
  },
};

const statusCommand: CommandModule<object, StudyArgs> = {
  command: 'status',
  describe: "Print the study's trials (state, value, epochs, parameters; * marks the best) and their counts",
  builder: (y) => studyOptions(y) as never,
  handler: async (args) => {
    const { store, space } = await openExisting(args);
    try {
      process.stdout.write(statusTable(await store.trials(), space) + '\n');
    } finally {
      await store.close();
    }
  },
};

const bestCommand: CommandModule<object, StudyArgs & { repeatBest?: number; backend: string }> = {
  command: 'best',
  describe: 'Print the best complete trial and its parameters; optionally re-train its configuration with several seeds',
  builder: (y) =>
    withBackend(studyOptions(y)).option('repeat-best', {
      type: 'number',
      describe: 're-train the best configuration with seeds 0..N-1 on the canonical data and print the mean ± std test accuracy',
    }) as never,
  handler: async (args) => {
    const { store, space, target } = await openExisting(args);
    try {
      const best = bestTrial(await store.trials(), space);
      if (!best) throw new UserError(`${redactUrl(target)}: study ${args.name} has no complete trial yet`);
      const config = trialConfig(space, best.params, `best trial ${best.number}`);
      process.stdout.write(`best trial ${best.number}: ${space.objective.metric} ${formatValue(best.value)}\n${toJsonText(best.params)}`);
      if (args.repeatBest === undefined) return;
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
    } finally {
      await store.close();
    }
  },
};

/** What `sweep export --out` writes, in the order its message lists them. */
export const EXPORT_FILES = ['trials.csv', 'best-config.json', 'history.svg', 'parallel-coordinates.svg', 'importance.svg'] as const;

const exportCommand: CommandModule<object, StudyArgs & { out: string }> = {
  command: 'export',
  describe: 'Write the trials as CSV, the best configuration as a training config, and the sweep plots (SVG)',
  builder: (y) =>
    studyOptions(y).option('out', {
      type: 'string',
      demandOption: true,
      describe:
        'folder to write (created when missing; files of these names replaced): trials.csv (every trial: number, state, value, epochs, worker, parameters), ' +
        'best-config.json (the best trial as a config for s2prop train --config), history.svg (objective per trial and best so far), ' +
        'parallel-coordinates.svg (parameters and objective per trial) and importance.svg (|rank correlation| of each parameter with the objective)',
    }) as never,
  handler: async (args) => {
    const out = args.out;
    const { store, space, target } = await openExisting(args);
    try {
      const trials = await store.trials();
      const best = bestTrial(trials, space);
      if (!best) throw new UserError(`${redactUrl(target)}: study ${args.name} has no complete trial yet`);
      const config = trialConfig(space, best.params, `best trial ${best.number}`);
      const names = Object.keys(space.parameters);
      const rows = trials.map((t) => ({ number: t.number, state: t.state, value: t.value, epochs: t.intermediate.length, worker: t.worker, ...Object.fromEntries(names.map((n) => [n, JSON.stringify(t.params[n])])) }));
      const metric = space.objective.metric;
      const files: Record<(typeof EXPORT_FILES)[number], string> = {
        'trials.csv': Papa.unparse(rows, { newline: '\n' }) + '\n',
        'best-config.json': toJsonText(config),
        'history.svg': historyPlot(trials, metric, space.objective.direction === 'maximize'),
        'parallel-coordinates.svg': parallelCoordinates(trials, space.parameters, metric),
        'importance.svg': importancePlot(parameterImportance(trials, space.parameters)),
      };
      for (const name of EXPORT_FILES) writeFileAtomic(join(out, name), files[name]);
      process.stdout.write(`wrote ${EXPORT_FILES.join(', ')} to ${out} (best-config.json is for s2prop train --config)\n`);
    } finally {
      await store.close();
    }
  },
};

export const sweepCommand: CommandModule = {
  command: 'sweep',
  describe: 'Hyper-parameter sweeps: create | run | worker | status | best | export (s2prop sweep <action> --help)',
  builder: (y) =>
    y
      .command(createCommand)
      .command(runCommand)
      .command(workerCommand)
      .command(statusCommand)
      .command(bestCommand)
      .command(exportCommand)
      .demandCommand(1, 'sweep: expected an action: create, run, worker, status, best or export (see s2prop sweep --help)')
      .strict()
      .fail((msg, err) => {
        if (err) throw err;
        // The suggestion alone ("Did you mean run?") would not say which word was not an action.
        const typed = (y.parsed ? (y.parsed.argv._ as unknown[]) : [])[1];
        if (/^Did you mean/.test(msg) && typed !== undefined) throw new UserError(`sweep: unknown action '${String(typed)}'. ${msg}`);
        throw new UserError(msg);
      }),
  handler: () => {},
};
