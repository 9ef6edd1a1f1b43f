import type { CommandModule } from 'yargs';
import { loadChipConfig } from '../chip/sim/load-config.js';
import { checkDatasetFits, loadDataset } from '../data/sources.js';
import { UserError } from '../errors.js';
import { trainInTheLoop } from '../hybrid/chip-in-the-loop.js';
import { layerSizes, loadModel, modelOutputs, saveModel } from '../model/model-file.js';
import { optimiserOf } from '../model/train-config.js';
import { percent } from '../report/format.js';
import { writeMetricsCsv } from '../report/metrics-csv.js';
import { outputFile, positiveInt, startBackend, withBackend } from './common.js';
import { checkExportOf } from '../validation/export-validation.js';

interface Args {
  config: string;
  model: string;
  train: string;
  validation: string;
  test: string;
  epochs: number;
  batch?: number;
  lr?: number;
  seed: number;
  out: string;
  log?: string;
  backend: string;
  quiet: boolean;
}

export const chipLoopCommand: CommandModule<object, Args> = {
  command: 'chip-loop',
  describe: 'Chip-in-the-loop training: forward passes on the simulated chip (any export), gradients off-chip from the spikes read back',
  builder: (y) =>
    withBackend(y)
      .option('config', { type: 'string', demandOption: true, describe: 'config directory (s2prop export; its quantisation and scales stay as exported)' })
      .option('model', { type: 'string', demandOption: true, describe: 'MODEL.json the export was made from (its float weights are the master weights)' })
      .option('train', { type: 'string', default: 'yinyang:train', describe: 'training data: yinyang:<split> or a CSV' })
      .option('validation', { type: 'string', default: 'yinyang:validation', describe: 'data selecting the best epoch (on the chip)' })
      .option('test', { type: 'string', default: 'yinyang:test', describe: 'data the chosen weights are tested on (on the chip)' })
      .option('epochs', { type: 'number', demandOption: true, describe: 'epochs of chip-in-the-loop training' })
      .option('batch', { type: 'number', describe: 'default: the model\'s training batch, else 22' })
      .option('lr', { type: 'number', describe: 'Adam learning rate (default: the model\'s training setting)' })
      .option('seed', { type: 'number', default: 0, describe: 'data order' })
      .option('out', { type: 'string', demandOption: true, describe: 'MODEL.json: the weights the chip runs at the best epoch' })
      .option('log', { type: 'string', describe: 'metrics CSV, rewritten after each epoch' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no per-epoch output' })
      .strict() as never,
  handler: async (args) => {
    const out = outputFile('out', args.out);
    if (args.log !== undefined) outputFile('log', args.log);
    if (args.lr !== undefined && !(args.lr > 0)) throw new UserError(`--lr: expected a positive number, got '${args.lr}'`);
    const model = loadModel(args.model);
    const config = loadChipConfig(args.config);
    checkExportOf(model, args.model, args.config);
    const sizes = layerSizes(model);
    const [train, validation, test] = [args.train, args.validation, args.test].map(loadDataset);
    for (const ds of [train, validation, test]) checkDatasetFits(ds, model.features ?? sizes[0] - (model.encoding.bias ? 1 : 0), modelOutputs(model));
    const settings = optimiserOf(model);
    await startBackend(args.backend);
    const { model: trained, result, testAccuracy } = await trainInTheLoop({
      config,
      model,
      train,
      validation,
      test,
      sources: { modelPath: args.model, configDir: args.config },
      optimiser: { ...settings.optimiser, lr: args.lr ?? settings.optimiser.lr },
      batch: positiveInt('batch', args.batch ?? settings.batch),
      epochs: positiveInt('epochs', args.epochs),
      seed: args.seed,
      onEpoch: (row) => {
        if (!args.quiet) process.stderr.write(`epoch ${row.epoch}: loss ${row.trainLoss.toFixed(4)}, train ${percent(row.trainAccuracy)}, validation on chip ${percent(row.validationAccuracy)}, spike mismatches ${row.spikeMismatches}\n`);
      },
    });
    if (args.log) writeMetricsCsv(args.log, result.history);
    saveModel(out, trained);
    process.stdout.write(`best epoch ${result.bestEpoch}: validation ${percent(result.bestValidationAccuracy)}, test on the chip ${percent(testAccuracy)}\nmodel written to ${out}\n`);
  },
};
