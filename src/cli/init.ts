import type { CommandModule } from 'yargs';
import { YINYANG_FEATURES } from '../data/yinyang.js';
import { initModel } from '../model/init.js';
import { layerSizes, saveModel } from '../model/model-file.js';
import { UserError } from '../errors.js';
import { outputFile } from './common.js';
import { initModelPath, trainConfigFromArgs, trainOptions, type TrainArgs } from './train-flags.js';

export const initCommand: CommandModule<object, TrainArgs & { classes: number; out: string }> = {
  command: 'init',
  describe: 'Write an initialised (untrained) model for the Yin-Yang inputs, from a preset and overrides',
  builder: (y) =>
    trainOptions(y)
      .option('classes', { type: 'number', default: 3, describe: 'output neurons' })
      .option('out', { type: 'string', demandOption: true, describe: 'MODEL.json to write (the only file written)' }) as never,
  handler: (args) => {
    const { classes, ...rest } = args;
    if (!Number.isInteger(classes) || classes < 2) throw new UserError(`--classes: expected an integer of at least 2 (one output neuron per class), got '${classes}'`);
    const out = outputFile('out', args.out);
    if (initModelPath(args) !== undefined) throw new UserError('--init: s2prop init writes a fresh model; to train on from a model file use s2prop train --init MODEL.json');
    const config = trainConfigFromArgs(rest as TrainArgs);
    const features = [...YINYANG_FEATURES];
    const model = initModel(config, features.length + (config.encoding.bias ? 1 : 0), classes, features);
    saveModel(out, model);
    process.stderr.write(`wrote an initialised ${layerSizes(model).join('-')} model to ${out}\n`);
  },
};
