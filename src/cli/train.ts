import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { UserError } from '../errors.js';
import { checkFileOutput } from '../io/output-paths.js';
import { checkpointOf, trainToFiles, type TrainingCallbacks, type TrainingRun } from '../pipeline/training-run.js';
import { evaluationReport, percent } from '../report/format.js';
import { curvesPath } from '../report/training-log.js';
import type { TrainResult } from '../train/trainer.js';
import { outputFile, startBackend } from './common.js';
import { calibrationReporter } from './calibration-progress.js';
import { epochReporter } from './progress.js';
import { trainingFromArgs, trainOptions, type TrainArgs } from './train-flags.js';

/** `--log`: the metrics CSV and its curves beside it can be written. */
export function checkLogFlag(log: string | undefined): void {
  if (log === undefined) return;
  const curves = curvesPath(outputFile('log', log));
  checkFileOutput(`--log ${log} (its curves ${curves})`, curves);
}

/** `--resume`: the checkpoint beside `--out` must exist. */
export function checkResumeFlag(resume: boolean, out: string): void {
  if (resume && !existsSync(checkpointOf(out))) throw new UserError(`--resume: no checkpoint at ${checkpointOf(out)} to resume from`);
}

/**
 * How a training run is printed on stderr: one line announcing it once training starts (after the data
 * and any checkpoint passed their checks, so a rejected input gives only its one error line), the
 * progress of calibrated rounding, warnings (even with --quiet), and a bar and a line per epoch.
 */
export function trainingReporter(run: TrainingRun, quiet: boolean): TrainingCallbacks {
  const report = quiet ? () => {} : epochReporter();
  const calibration = quiet ? null : calibrationReporter();
  const { config, init } = run;
  let announced = false;
  const announce = () => {
    if (announced) return;
    announced = true;
    if (quiet) return;
    const from = init ? `, from ${init.path}` : '';
    const quant = config.quant.type === 'float32' ? '' : `, ${config.quant.type} weights (clip percentile ${config.quant.clipPercentile}${init ? `, ${config.quant.rounding} rounding` : ''})`;
    process.stderr.write(`training preset ${config.preset}: ${config.hidden.join('-')} hidden${from}${quant}, ${config.epochs} epochs, batch ${config.batch}, seed ${config.seed}, backend ${run.backend}\n`);
  };
  return {
    onCalibration: calibration
      ? (p) => {
          announce();
          calibration.onProgress(p);
        }
      : undefined,
    onProgress: (p) => {
      calibration?.done();
      if (p.type === 'warning') return void process.stderr.write(`warning: ${p.message}\n`);
      if (run.resume && !announced && p.type === 'start') process.stderr.write(`resuming from ${checkpointOf(run.out)}: ${p.epoch - 1} of ${p.epochs} epochs done, continuing with epoch ${p.epoch}\n`);
      announce();
      report(p);
    },
  };
}

/** The result of a training run, on stdout. */
export function printTrained(result: TrainResult, out: string): void {
  process.stdout.write(
    `best epoch ${result.bestEpoch}: validation ${percent(result.validation.accuracy)}, test ${percent(result.test.accuracy)}\n` +
      `${evaluationReport(result.test, 'test split')}\nmodel written to ${out}\n`,
  );
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Train on the tensor engine; any setting can be overridden: --optimiser.lr 0.003 --loss.xi 1 --encoding.tMin 2 ...',
  builder: (y) => trainOptions(y).option('out', { type: 'string', demandOption: true, describe: 'model file to write (and OUT.ckpt.json, the checkpoint, after every epoch)' }) as never,
  handler: async (args) => {
    outputFile('out', args.out);
    checkLogFlag(args.log);
    const training = trainingFromArgs(args);
    checkResumeFlag(args.resume, args.out);
    const backend = await startBackend(args.backend);
    const run: TrainingRun = { ...training, backend, out: args.out, log: args.log, resume: args.resume, keepCheckpoint: args.keepCheckpoint };
    printTrained(await trainToFiles(run, trainingReporter(run, Boolean(args.quiet))), run.out);
  },
};
