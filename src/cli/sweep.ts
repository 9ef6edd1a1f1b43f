import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { UserError } from '../errors.js';
import { toJsonText } from '../io/json.js';
import { percent } from '../report/format.js';
import { EXPORT_FILES, writeStudyExport } from '../report/sweep-export.js';
import { formatValue, workerEventLine } from '../report/sweep-log.js';
import { statusTable } from '../report/sweep-status.js';
import { bestConfig, createStudy, openStudy, retrainWithSeeds, workOnStudy } from '../sweep/actions.js';
import { exitWithParentFromEnv } from '../sweep/parent-watch.js';
import { runWorkerProcesses } from '../sweep/run-workers.js';
import { redactUrl } from '../sweep/store/postgres-store.js';
import { loadSpaceFile, type SearchSpace } from '../sweep/space/space-file.js';
import { positiveInt, startBackend, withBackend } from './common.js';

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

/** The study store: `--study`, else the S2PROP_STUDY environment variable. */
function studyTarget(args: StudyArgs): string {
  const target = args.study ?? process.env[STUDY_ENV];
  if (target === undefined || target.trim() === '') {
    throw new UserError(`--study is required (a SQLite file or a postgres:// URL; or set ${STUDY_ENV}, which keeps a password out of the process list)`);
  }
  return target;
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
    await createStudy(target, args.name, loadSpaceFile(args.space));
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
    await createStudy(target, args.name, space);
    // The workers are `sweep worker` children, each with its stderr lines prefixed `[worker i]`. The study
    // reaches them through the environment, not their command line (where `ps` would show a password in
    // a postgres:// URL).
    const codes = await runWorkerProcesses({
      count: workers,
      args: ['--no-wasm-dynamic-tiering', MAIN, 'sweep', 'worker', '--name', args.name, '--backend', args.backend, '--stale-after', String(args.staleAfter), '--stack', String(stack)],
      env: { [STUDY_ENV]: target },
      onStderr: (i, text) => process.stderr.write(text.replace(/^(?=.)/gm, `[worker ${i}] `)),
    });
    const study = await openStudy(target, args.name);
    process.stdout.write(statusTable(await study.store.trials(), study.space) + '\n');
    await study.store.close();
    if (codes.some((c) => c !== 0)) throw new UserError(`sweep run: ${codes.filter((c) => c !== 0).length} worker(s) failed (see their messages above)`);
  },
};

const workerCommand: CommandModule<object, RunArgs> = {
  command: 'worker',
  describe: 'Join an existing study and run its trials until none is left (start one per process, machine or GPU)',
  builder: (y) => workerOptions(y) as never,
  handler: async (args) => {
    // A child of `sweep run` ends with its parent.
    exitWithParentFromEnv();
    const stack = positiveInt('stack', args.stack);
    const { store, space } = await openStudy(studyTarget(args), args.name);
    try {
      const backend = await startBackend(args.backend);
      const ran = await workOnStudy({
        store,
        space,
        backend,
        stack,
        staleAfterMs: args.staleAfter * 1000,
        onTrial: (e) => process.stderr.write(workerEventLine(e, space.objective.metric) + '\n'),
      });
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
    const { store, space } = await openStudy(studyTarget(args), args.name);
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
    const study = await openStudy(studyTarget(args), args.name);
    try {
      const { trial, config } = bestConfig(study, await study.store.trials());
      process.stdout.write(`best trial ${trial.number}: ${study.space.objective.metric} ${formatValue(trial.value)}\n${toJsonText(trial.params)}`);
      if (args.repeatBest === undefined) return;
      const k = positiveInt('repeat-best', args.repeatBest);
      const backend = await startBackend(args.backend);
      const { mean, std } = await retrainWithSeeds(config, k, backend, (seed, r) =>
        process.stderr.write(`seed ${seed}: validation ${percent(r.validation.accuracy)}, test ${percent(r.test.accuracy)}\n`),
      );
      process.stdout.write(`best configuration, ${k} seeds: test accuracy ${(100 * mean).toFixed(2)} ± ${(100 * std).toFixed(2)} %\n`);
    } finally {
      await study.store.close();
    }
  },
};

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
    const study = await openStudy(studyTarget(args), args.name);
    try {
      const trials = await study.store.trials();
      writeStudyExport(args.out, trials, study.space, bestConfig(study, trials).config);
      process.stdout.write(`wrote ${EXPORT_FILES.join(', ')} to ${args.out} (best-config.json is for s2prop train --config)\n`);
    } finally {
      await study.store.close();
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
