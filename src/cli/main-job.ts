import { dirname, join } from 'node:path';
import type { CommandModule } from 'yargs';
import { checkExportDir, exportModel, writeExportDir } from '../chip/export.js';
import { BUILTIN_MACHINES } from '../chip/machine.js';
import { writeFileAtomic } from '../io/atomic.js';
import { toJsonText } from '../io/json.js';
import { checkFileOutput } from '../io/output-paths.js';
import { percent } from '../report/format.js';
import { outputFile } from './common.js';
import { runTraining, trainOptions, type TrainArgs } from './train.js';
import { validateExport } from '../validation/export-validation.js';

/**
 * `npm start`: train the twin preset on the canonical splits, fine-tune it for int8 (quantisation-aware),
 * export it as int8 for one chip, validate the export on the chip simulator against the tensor engine,
 * and write everything under results/run/main/ (git-ignored, so `npm start` leaves the checkout clean;
 * results/main/ holds a committed example run).
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
    const { configDir: dir, 'config-dir': _alias, ...trainArgs } = args as TrainArgs & { configDir: string; 'config-dir'?: string };
    // Every output checked before hours of work: the model's folder takes the int8 files too.
    outputFile('out', args.out);
    checkExportDir(dir, false, 'config', 'config-dir');
    for (const name of ['model-int8.json', 'metrics-int8.csv', 'summary.json']) checkFileOutput(join(dirname(args.out), name), join(dirname(args.out), name));
    const trained = await runTraining(trainArgs as TrainArgs);
    // Quantisation-aware fine-tuning for int8 (10 epochs from the trained model), so that the exported
    // network keeps the accuracy it was trained for; then export as int8 and validate on the simulator.
    const results = dirname(args.out);
    const int8Path = join(results, 'model-int8.json');
    process.stderr.write('\nquantisation-aware fine-tuning for int8\n');
    const tuned = await runTraining({
      ...(trainArgs as TrainArgs),
      init: args.out,
      quant: 'int8',
      clipPercentile: 99,
      // The fine-tuning this job was benchmarked with; `--quant-rounding calibrated` (the train default)
      // and a calibrated export do better (scripts/quant-accuracy.mjs).
      quantRounding: 'nearest',
      optimizer: { lr: 0.0005 },
      epochs: 10,
      out: int8Path,
      log: join(results, 'metrics-int8.csv'),
      resume: false,
    });
    const { files } = exportModel(tuned.model, { quant: 'int8', clipPercentile: 99, machine: BUILTIN_MACHINES.chip, slots: 4 });
    writeExportDir(dir, files, 'config', false, 'config-dir');
    const v = await validateExport(tuned.model, int8Path, dir, 'yinyang:test');
    process.stdout.write(`\n${v.text}\n\n`);
    process.stdout.write(
      `summary: test accuracy ${percent(trained.test.accuracy)} float32 (tensor engine), ${percent(tuned.test.accuracy)} int8 after fine-tuning (tensor engine), ` +
        `${percent(v.chipAccuracy)} int8 on the chip simulator; spike trains identical to the engine: ${percent(v.agreement)}\n`,
    );
    writeFileAtomic(
      join(results, 'summary.json'),
      toJsonText({
        testAccuracyFloat32: trained.test.accuracy,
        testAccuracyInt8Engine: tuned.test.accuracy,
        testAccuracyInt8Chip: v.chipAccuracy,
        spikeTrainAgreement: v.agreement,
        predictionAgreement: v.predictionAgreement,
      }),
    );
  },
};
