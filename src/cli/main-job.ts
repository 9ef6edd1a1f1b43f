import { dirname, join } from 'node:path';
import type { CommandModule } from 'yargs';
import { writeDirAtomic } from '../chip/config-dir.js';
import { exportModel } from '../chip/export.js';
import { BUILTIN_MACHINES } from '../chip/machine.js';
import { writeFileAtomic } from '../io/atomic.js';
import { toJsonText } from '../io/json.js';
import { percent } from '../report/format.js';
import { runTraining, trainOptions, type TrainArgs } from './train.js';
import { validateExport } from './validate.js';

/**
 * `npm start`: train the twin preset on the canonical splits, export it as int8 for one chip, validate
 * the export on the chip simulator against the tensor engine, and write everything under results/main/.
 */
export const mainCommand: CommandModule<object, TrainArgs & { configDir: string }> = {
  command: 'main',
  describe: 'The main job: train the twin preset, export int8, validate on the chip simulator; results in results/main/',
  builder: (y) =>
    trainOptions(y)
      .option('out', { type: 'string', default: 'results/main/model.json' })
      .option('log', { type: 'string', default: 'results/main/metrics.csv' })
      .option('config-dir', { type: 'string', default: 'results/main/chip-int8', describe: 'where the int8 export goes' }) as never,
  handler: async (args) => {
    const { configDir: dir, 'config-dir': _alias, ...trainArgs } = args as TrainArgs & { configDir: string; 'config-dir'?: string };
    const trained = await runTraining(trainArgs as TrainArgs);
    const { files } = exportModel(trained.model, { quant: 'int8', clipPercentile: 100, machine: BUILTIN_MACHINES.chip, slots: 4 });
    writeDirAtomic(dir, files);
    const v = validateExport(trained.model, args.out, dir, 'yinyang:test');
    process.stdout.write(`\n${v.text}\n\n`);
    process.stdout.write(
      `summary: test accuracy ${percent(trained.test.accuracy)} (tensor engine, float32), ` +
        `${percent(v.chipAccuracy)} (chip simulator, int8); spike trains identical to the engine with the exported weights: ${percent(v.agreement)}\n`,
    );
    writeFileAtomic(
      join(dirname(args.out), 'summary.json'),
      toJsonText({ testAccuracyFloat32: trained.test.accuracy, testAccuracyChipInt8: v.chipAccuracy, engineAccuracyInt8: v.engineAccuracy, spikeTrainAgreement: v.agreement, predictionAgreement: v.predictionAgreement }),
    );
  },
};
