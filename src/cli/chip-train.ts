import { existsSync, rmSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { chipTrain } from '../chip/host/chip-train.js';
import { loadChipConfig } from '../chip/sim/load-config.js';
import { checkDatasetFits, loadDataset } from '../data/sources.js';
import { UserError } from '../errors.js';
import { saveModel } from '../model/model-file.js';
import { percent } from '../report/format.js';
import { writeMetricsCsv } from '../report/metrics-csv.js';
import { emitJson, outputFile, positiveInt } from './common.js';
import { dataSpecFrom } from './common.js';

interface Args {
  config: string;
  split?: string;
  data?: string;
  validation?: string;
  epochs: number;
  slots?: number;
  batch?: number;
  seed: number;
  samples?: number;
  out: string;
  log?: string;
  report?: string;
  resume: boolean;
  keepCheckpoint: boolean;
  quiet: boolean;
}

export const chipTrainCommand: CommandModule<object, Args> = {
  command: 'chip-train',
  describe: 'Train on the simulated chip: the on-chip EventProp programs of a training export, batch-parallel over its slots',
  builder: (y) =>
    y
      .option('config', { type: 'string', demandOption: true, describe: 'training config directory (s2prop export --train)' })
      .option('split', { type: 'string', describe: 'canonical Yin-Yang split to train on (default train)' })
      .option('data', { type: 'string', describe: 'CSV of features in [0,1] and a label column to train on' })
      .option('validation', { type: 'string', describe: 'data to select the best epoch by (default: yinyang:validation with --split; none with --data)' })
      .option('epochs', { type: 'number', demandOption: true, describe: 'epochs to train on the simulated chip' })
      .option('slots', { type: 'number', describe: 'slots used (default: all the config has)' })
      .option('batch', { type: 'number', describe: 'samples per update (default: the batch the config was exported for)' })
      .option('seed', { type: 'number', default: 0, describe: 'data order (the same order as s2prop train with this seed)' })
      .option('samples', { type: 'number', describe: 'samples per epoch (default: all; few for online adaptation)' })
      .option('out', { type: 'string', demandOption: true, describe: 'MODEL.json with the chip-trained weights (and OUT.chip-ckpt.json, the checkpoint, after every epoch)' })
      .option('log', { type: 'string', describe: 'metrics and cost CSV, rewritten after each epoch' })
      .option('report', { type: 'string', describe: 'COST.json: the last epoch\'s cost per tick of the sample window and per PE, with the real-time verdict' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue from OUT.chip-ckpt.json (written after every epoch)' })
      .option('keep-checkpoint', { type: 'boolean', default: false, describe: 'keep OUT.chip-ckpt.json after a successful run (by default it is removed once OUT is written)' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no per-epoch output' })
      .conflicts('split', 'data')
      .strict() as never,
  handler: async (args) => {
    const out = outputFile('out', args.out);
    if (args.log !== undefined) outputFile('log', args.log);
    if (args.report !== undefined) outputFile('report', args.report);
    const epochs = positiveInt('epochs', args.epochs);
    if (!Number.isInteger(args.seed) || args.seed < 0) throw new UserError(`--seed: expected a non-negative integer, got '${args.seed}'`);
    const config = loadChipConfig(args.config);
    const train = loadDataset(dataSpecFrom({ split: args.split ?? (args.data ? undefined : 'train'), data: args.data }));
    const validationSpec = args.validation ?? (args.data ? undefined : 'yinyang:validation');
    const validation = validationSpec ? loadDataset(validationSpec) : undefined;
    const checkpointPath = `${out}.chip-ckpt.json`;
    if (args.slots !== undefined && args.slots > config.spec.slots) throw new UserError(`--slots: the config has ${config.spec.slots} slot(s), got ${args.slots}`);
    if (args.resume && !existsSync(checkpointPath)) throw new UserError(`--resume: no checkpoint ${checkpointPath} to resume from`);
    const result = await chipTrain({
      dir: args.config,
      config,
      train,
      validation,
      epochs,
      seed: args.seed,
      batch: args.batch === undefined ? undefined : positiveInt('batch', args.batch),
      slots: args.slots === undefined ? undefined : positiveInt('slots', args.slots),
      samplesPerEpoch: args.samples === undefined ? undefined : positiveInt('samples', args.samples),
      checkpointPath,
      resume: args.resume,
      checkData: (features, classes) => {
        checkDatasetFits(train, features, classes);
        if (validation) checkDatasetFits(validation, features, classes);
      },
      onEpoch: (history) => {
        const r = history[history.length - 1];
        if (args.log) writeMetricsCsv(args.log, history);
        if (!args.quiet) {
          const val = r.validationAccuracy === undefined ? '' : `, validation ${percent(r.validationAccuracy)}`;
          process.stderr.write(`epoch ${r.epoch}: loss ${r.trainLoss.toFixed(4)}, train ${percent(r.trainAccuracy)}${val}, ${r.ticksPerSample.toFixed(1)} ticks and ${Math.round(r.cyclesPerSample)} cycles per sample (${(r.trainSeconds + r.evalSeconds).toFixed(1)} s)\n`);
        }
      },
    });
    saveModel(out, result.model);
    if (args.report && result.lastCost) emitJson(result.lastCost, args.report);
    if (!args.keepCheckpoint) rmSync(checkpointPath, { force: true });
    process.stdout.write(`best epoch ${result.bestEpoch} of ${result.history.length}; model written to ${out}\n`);
  },
};
