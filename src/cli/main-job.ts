import type { CommandModule } from 'yargs';
import { checkExportDir } from '../chip/export.js';
import { checkMainJobFiles, runMainJob } from '../pipeline/main-job.js';
import { percent } from '../report/format.js';
import { outputFile, startBackend } from './common.js';
import { checkLogFlag, checkResumeFlag, printTrained, trainingReporter } from './train.js';
import { trainingFromArgs, trainOptions, type TrainArgs } from './train-flags.js';

/**
 * `npm start`: train the twin preset on the canonical splits, fine-tune it for int8 (quantisation-aware),
 * export it as int8 for one chip, validate the export on the chip simulator against the tensor engine,
 * and write everything under results/run/main/ (git-ignored, so `npm start` leaves the checkout clean;
 * results/main/ holds a committed example run). The job itself: src/pipeline/main-job.ts.
 */
export const mainCommand: CommandModule<object, TrainArgs & { configDir: string }> = {
  command: 'main',
  describe: 'The main job: train the twin preset, fine-tune for int8, export, validate on the chip simulator; results in results/run/main/ (or beside --out)',
  builder: (y) =>
    trainOptions(y)
      .option('out', {
        type: 'string',
        default: 'results/run/main/model.json',
        describe: 'the float32 model; beside it go model-int8.json, metrics-int8.csv/.svg and summary.json (and OUT.ckpt.json while training)',
      })
      .option('log', { type: 'string', default: 'results/run/main/metrics.csv', describe: 'metrics CSV of the float32 training, with its training curves beside it (.svg)' })
      .option('config-dir', { type: 'string', default: 'results/run/main/chip-int8', describe: 'where the int8 export (SpiNNaker2 config directory) goes' }) as never,
  handler: async (args) => {
    const { configDir, 'config-dir': _alias, ...trainArgs } = args as TrainArgs & { configDir: string; 'config-dir'?: string };
    // Every output checked before hours of work: the model's folder takes the int8 files too.
    outputFile('out', args.out);
    checkExportDir(configDir, false, 'config', 'config-dir');
    checkMainJobFiles(args.out);
    checkLogFlag(args.log);
    const training = trainingFromArgs(trainArgs as TrainArgs);
    checkResumeFlag(args.resume, args.out);
    const backend = await startBackend(args.backend);
    const run = { ...training, backend, out: args.out, log: args.log, resume: args.resume, keepCheckpoint: args.keepCheckpoint };
    const { validation, summary } = await runMainJob(
      { training: run, configDir, configDirOption: 'config-dir' },
      {
        onTraining: (stage, r) => {
          if (stage === 'int8') process.stderr.write('\nquantisation-aware fine-tuning for int8\n');
          return trainingReporter(r, Boolean(args.quiet));
        },
        onTrained: (_stage, r, result) => printTrained(result, r.out),
      },
    );
    process.stdout.write(`\n${validation.text}\n\n`);
    process.stdout.write(
      `summary: test accuracy ${percent(summary.testAccuracyFloat32)} float32 (tensor engine), ${percent(summary.testAccuracyInt8Engine)} int8 after fine-tuning (tensor engine), ` +
        `${percent(summary.testAccuracyInt8Chip)} int8 on the chip simulator; spike trains identical to the engine: ${percent(summary.spikeTrainAgreement)}\n`,
    );
  },
};
