import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { checkExportDir, exportModel, OFF_CHIP_NUDGE, writeExportDir, type TrainingExport } from '../chip/export.js';
import { exportPySpinnaker2 } from '../export/py-spinnaker2/export.js';
import { loadMachine } from '../chip/machine.js';
import { quantiseModel } from '../quant/model-quantisation.js';
import { parseQuant, parseRounding } from '../quant/quantise.js';
import { loadDataset } from '../data/sources.js';
import { UserError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { loadModel } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { optimiserOf } from '../model/train-config.js';
import { exportSummary } from '../report/chip-summaries.js';
import { calibrationReporter } from './calibration-progress.js';
import { filePath, positiveInt } from './common.js';

/** What `export` writes: our own chip configuration directory, or a folder for py-spinnaker2. */
export const TARGETS = ['config', 'py-spinnaker2'] as const;
type Target = (typeof TARGETS)[number];

interface Args {
  target: string;
  model: string;
  data?: string;
  force: boolean;
  quant?: string;
  clipPercentile?: number;
  rounding?: string;
  calibration?: string;
  machine?: string;
  slots?: number;
  out: string;
  train: boolean;
  withoutNudge: boolean;
  batch?: number;
  lr?: number;
  packetsPerTick?: number;
}

/** The model as on-chip training takes it: without the off-chip-only nudge, which must be dropped by flag. */
function forOnChipTraining(model: ModelFile, file: string, withoutNudge: boolean): ModelFile {
  if (!model.loss.nudge) return model;
  if (!withoutNudge) throw new UserError(`${file}: loss.nudge is ${model.loss.nudge}: ${OFF_CHIP_NUDGE}; give --without-nudge to train on the chip without it`);
  const { nudge: _, ...loss } = model.loss;
  return { ...model, loss };
}

/** The optimiser and batch of a training export (see optimiserOf); flags win. */
export function trainingExport(model: ModelFile, args: { batch?: number; lr?: number; packetsPerTick: number }): TrainingExport {
  const { optimiser, batch } = optimiserOf(model);
  if (optimiser.type !== 'adam') throw new UserError(`--train: the on-chip optimiser runs Adam, but the model was trained with ${optimiser.type}`);
  if (args.lr !== undefined && !(args.lr > 0)) throw new UserError(`--lr: expected a positive number, got '${args.lr}'`);
  return {
    batchSize: positiveInt('batch', args.batch ?? batch),
    optimiser: { ...optimiser, lr: args.lr ?? optimiser.lr },
    packetsPerTick: positiveInt('packets-per-tick', args.packetsPerTick),
  };
}


/** `--calibration`, else the model's training data, else the canonical Yin-Yang training split. */
function calibrationData(flag: string | undefined, model: ModelFile): Dataset {
  if (flag !== undefined) {
    // Choosing mantissas on the test split makes the test accuracy of the export an optimistic one.
    const test = model.provenance?.data?.test;
    if (flag === 'yinyang:test' || (test !== undefined && resolve(flag) === resolve(test))) {
      process.stderr.write(`warning: --calibration ${flag} is the test split: the export's test accuracy will not be an unbiased estimate (calibrate on training data)\n`);
    }
    return loadDataset(flag);
  }
  const spec = model.provenance?.data?.train ?? 'yinyang:train';
  try {
    return loadDataset(spec);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    throw new UserError(`${err.message}; calibrated rounding needs the model's training data: give --calibration DATA, or --rounding nearest`);
  }
}

/** `--data` of a py-spinnaker2 export, else the model's test data, else the canonical Yin-Yang test split. */
function sampleData(flag: string | undefined, model: ModelFile): Dataset {
  return loadDataset(flag ?? model.provenance?.data?.test ?? 'yinyang:test');
}

function parseTarget(value: string): Target {
  if ((TARGETS as readonly string[]).includes(value)) return value as Target;
  throw new UserError(`--target: unknown target '${value}' (expected ${TARGETS.join(', ')})`);
}

export const exportCommand: CommandModule<object, Args> = {
  command: 'export',
  describe: 'Quantise a model and write it for the chip: a SpiNNaker2 configuration directory (placed, routed, laid out) for our simulator, or a py-spinnaker2 folder',
  builder: (y) =>
    y
      .option('target', { type: 'string', default: 'config', describe: 'config: our chip configuration directory (run by simulate/validate) | py-spinnaker2: a Python script, weights and inputs for py-spinnaker2' })
      .option('model', { type: 'string', demandOption: true, describe: 'the model file (JSON) to export' })
      .option('quant', { type: 'string', describe: 'float32 | int8 | int4 (default: the model\'s quantisation-aware setting, else int8)' })
      .option('clip-percentile', { type: 'number', describe: 'percentile of |w| mapped to the largest mantissa; 100 clips nothing (default: the model\'s, else 100)' })
      .option('rounding', { type: 'string', describe: 'nearest | calibrated: mantissas chosen on the training split to keep the accuracy (default calibrated)' })
      .option('calibration', { type: 'string', describe: 'data for calibrated rounding: a CSV or yinyang:train (default: the model\'s training data)' })
      .option('data', { type: 'string', describe: 'with --target py-spinnaker2: the samples whose input spikes are written (a CSV or yinyang:test; default: the model\'s test data)' })
      .option('machine', { type: 'string', describe: 'config target: chip | board | a machine description JSON file (default chip)' })
      .option('slots', { type: 'number', describe: 'config target: samples run side by side (default 4)' })
      .option('out', {
        type: 'string',
        demandOption: true,
        describe: 'folder to write (config: spec, machine, placement, routing, images, export and report files; py-spinnaker2: run.py, network.json, weights/, inputs.csv, README.md), with s2prop-manifest.json',
      })
      .option('force', { type: 'boolean', default: false, describe: 'replace --out even when it holds files s2prop export did not write (they are deleted)' })
      .option('train', { type: 'boolean', default: false, describe: 'config target: a training export, loss and optimiser programs for on-chip training (float32)' })
      .option('batch', { type: 'number', describe: 'with --train: samples per update (default: the model\'s training batch, else 22)' })
      .option('lr', { type: 'number', describe: 'with --train: Adam learning rate (default: the model\'s training setting, else 0.0019)' })
      .option('without-nudge', { type: 'boolean', default: false, describe: "with --train: export a model trained with the silent-label nudge (loss.nudge, off-chip only) for on-chip training without it" })
      .option('packets-per-tick', { type: 'number', describe: 'with --train: gradient packets a layer PE sends and weights the optimiser updates per tick (default 64)' })
      .strict() as never,
  handler: (args) => {
    const target = parseTarget(args.target);
    const out = filePath('out', args.out);
    // The output folder first: nothing is loaded, quantised or calibrated for an export that cannot be written.
    checkExportDir(out, args.force, target);
    if (target === 'py-spinnaker2') {
      const configOnly = (['machine', 'slots', 'train', 'batch', 'lr', 'packetsPerTick'] as const).find((k) => args[k] !== undefined && args[k] !== false);
      if (configOnly) throw new UserError(`--${configOnly.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} applies to --target config only, not py-spinnaker2`);
    } else if (args.data !== undefined) {
      throw new UserError('--data applies to --target py-spinnaker2 only (the config target runs the data given to simulate or validate)');
    }
    const model = loadModel(args.model);
    const quant = parseQuant(args.quant ?? (args.train ? 'float32' : (model.quantisation?.type ?? 'int8')));
    if (!args.train && (args.batch !== undefined || args.lr !== undefined)) throw new UserError('--batch and --lr set the on-chip optimiser: they need --train');
    if (!args.train && args.withoutNudge) throw new UserError('--without-nudge drops the silent-label nudge for on-chip training: it needs --train');
    const clipPercentile = args.clipPercentile ?? model.quantisation?.clipPercentile ?? 100;
    if (!(clipPercentile > 0 && clipPercentile <= 100)) throw new UserError(`--clip-percentile: expected a number in (0, 100], got ${clipPercentile}`);
    const rounding = parseRounding(args.rounding ?? 'calibrated');
    // Calibrated rounding can take a minute: a progress line with the time left while it runs.
    const quantiseWithProgress = () => {
      if (quant === 'float32') return undefined;
      const progress = calibrationReporter();
      try {
        return quantiseModel(model, quant, clipPercentile, rounding, rounding === 'calibrated' ? calibrationData(args.calibration, model) : undefined, { onProgress: progress.onProgress });
      } finally {
        progress.done();
      }
    };
    if (target === 'py-spinnaker2') {
      const data = sampleData(args.data, model);
      const quantised = quantiseWithProgress();
      const { files, network, samples } = exportPySpinnaker2(model, { quant, quantised: quantised?.layers ?? null, rounding, clipPercentile, data });
      writeExportDir(out, files, target, args.force);
      const scales = network.layers.map((l) => (l.exp === null ? '1' : `2^${l.exp}`)).join(', ');
      process.stdout.write(
        [
          `network ${[network.inputSize, ...network.layers.map((l) => l.size)].join('-')}, ${quant} weights (scales ${scales}), ${network.timesteps} timesteps, populations ${network.layers.map((l) => `${l.name} ${l.neuronModel}`).join(', ')}`,
          `${samples} samples of ${data.source} written as input spike times`,
          `py-spinnaker2 folder written to ${out}: run it with python3 ${out}/run.py --backend chip --ip ADDRESS (or --backend software)`,
        ].join('\n') + '\n',
      );
      return;
    }
    const machine = loadMachine(args.machine ?? 'chip');
    const slots = positiveInt('slots', args.slots ?? 4);
    const training = args.train ? trainingExport(model, { ...args, packetsPerTick: args.packetsPerTick ?? 64 }) : undefined;
    const exported = training ? forOnChipTraining(model, args.model, args.withoutNudge) : model;
    const quantised = quantiseWithProgress();
    const { files, report } = exportModel(exported, { quant, clipPercentile, machine, slots, quantised, training });
    writeExportDir(out, files, target, args.force);
    process.stdout.write(`${exportSummary(report)}\nconfig written to ${out} (details in ${out}/report.json)\n`);
  },
};
