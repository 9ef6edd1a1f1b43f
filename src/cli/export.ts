import type { CommandModule } from 'yargs';
import { writeDirAtomic } from '../chip/config-dir.js';
import { exportModel, type ExportReport, type TrainingExport } from '../chip/export.js';
import { loadMachine } from '../chip/machine.js';
import { quantiseModel } from '../chip/model-quantisation.js';
import { parseQuant, parseRounding } from '../chip/quantise.js';
import { loadDataset } from '../data/sources.js';
import { UserError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { loadModel } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { optimiserOf } from '../model/train-config.js';
import { table } from '../report/format.js';
import { calibrationReporter } from './calibration-progress.js';
import { filePath, positiveInt } from './common.js';

interface Args {
  model: string;
  quant?: string;
  clipPercentile?: number;
  rounding?: string;
  calibration?: string;
  machine: string;
  slots: number;
  out: string;
  train: boolean;
  batch?: number;
  lr?: number;
  packetsPerTick: number;
}

/** The optimiser and batch of a training export (see optimiserOf); flags win. */
export function trainingExport(model: ModelFile, args: { batch?: number; lr?: number; packetsPerTick: number }): TrainingExport {
  const { optimizer, batch } = optimiserOf(model);
  if (optimizer.type !== 'adam') throw new UserError(`--train: the on-chip optimiser runs Adam, but the model was trained with ${optimizer.type}`);
  if (args.lr !== undefined && !(args.lr > 0)) throw new UserError(`--lr: expected a positive number, got '${args.lr}'`);
  return {
    batchSize: positiveInt('batch', args.batch ?? batch),
    optimizer: { ...optimizer, lr: args.lr ?? optimizer.lr },
    packetsPerTick: positiveInt('packets-per-tick', args.packetsPerTick),
  };
}

/** The export summary for the terminal; the details are in DIR/report.json. */
export function exportSummary(r: ExportReport): string {
  const byRole = new Map<string, ExportReport['pes']>();
  for (const p of r.pes.filter((p) => p.slot === 0)) {
    const role = p.program === 'layer' ? `layer ${p.layer}` : p.program;
    byRole.set(role, [...(byRole.get(role) ?? []), p]);
  }
  const rows = [...byRole.entries()].map(([role, pes]) => [
    role,
    pes.length,
    Math.max(...pes.map((p) => p.neurons)),
    Math.max(...pes.map((p) => p.bytes)),
    `${Math.max(...pes.map((p) => p.percentOfData)).toFixed(1)} %`,
    Math.max(...pes.map((p) => p.worstCaseCyclesPerTick)),
  ]);
  const q = r.quantisation.map((l) => `layer ${l.layer}: 2^${l.exp}, ${l.clipped} clipped, rms error ${l.rmsError.toExponential(2)}`);
  const cal = r.calibration as { data: string; samples: number; errorsNearest: number; errors: number; changed: number[] } | null;
  const rounding =
    r.rounding === 'calibrated' && cal
      ? [`rounding: calibrated on ${cal.data} (${cal.samples} samples): ${cal.errorsNearest} misclassified with round-to-nearest, ${cal.errors} calibrated; mantissas moved per layer: ${cal.changed.join('/')}`]
      : r.rounding === 'nearest'
        ? ['rounding: nearest']
        : [];
  return [
    `network ${r.sizes.join('-')}, ${r.quant}${r.quant === 'float32' ? '' : ` (clip percentile ${r.clipPercentile})`}, machine ${r.machine}`,
    `${r.slots} slot(s), ${r.activePes} PEs on ${r.chipsUsed} chip(s), router entries ${r.routerEntries.map((e) => e.entries).join('/')} (capacity ${r.routerEntries[0]?.capacity ?? '-'})`,
    '',
    table(['PEs of slot 0' + (r.pes.some((p) => p.program === 'optimiser') ? ' (and optimisers)' : ''), 'PEs', 'neurons/PE', 'max bytes', 'of data SRAM', 'worst-case cycles/tick'], rows),
    '',
    ...(q.length ? ['quantisation: ' + q.join('; ')] : []),
    ...rounding,
    ...r.realTime.map((t) => `real time at ${t.mhz} MHz: worst case ${t.worstCaseCycles} of ${t.budgetCycles} cycles per tick: ${t.fits ? 'fits' : 'DOES NOT FIT'}`),
    ...(r.time.speed === 1
      ? []
      : [`time: model steps of ${r.time.stepMs} ms on ticks of ${r.time.tickMicroseconds} µs (one step per tick): the chip runs the network at ${+r.time.speed.toFixed(4)} × its own time; a machine with tickMicroseconds ${+(1000 * r.time.stepMs).toFixed(3)} runs it in real time`]),
  ].join('\n');
}

/** `--calibration`, else the model's training data, else the canonical Yin-Yang training split. */
function calibrationData(flag: string | undefined, model: ModelFile): Dataset {
  if (flag !== undefined) return loadDataset(flag);
  const spec = model.provenance?.data?.train ?? 'yinyang:train';
  try {
    return loadDataset(spec);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    throw new UserError(`${err.message}; calibrated rounding needs the model's training data: give --calibration DATA, or --rounding nearest`);
  }
}

export const exportCommand: CommandModule<object, Args> = {
  command: 'export',
  describe: 'Quantise, place, route and lay out a model as a SpiNNaker2 configuration directory',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true })
      .option('quant', { type: 'string', describe: 'float32 | int8 | int4 (default: the model\'s quantisation-aware setting, else int8)' })
      .option('clip-percentile', { type: 'number', describe: 'percentile of |w| mapped to the largest mantissa; 100 clips nothing (default: the model\'s, else 100)' })
      .option('rounding', { type: 'string', describe: 'nearest | calibrated: mantissas chosen on the training split to keep the accuracy (default calibrated)' })
      .option('calibration', { type: 'string', describe: 'data for calibrated rounding: a CSV or yinyang:train (default: the model\'s training data)' })
      .option('machine', { type: 'string', default: 'chip', describe: 'chip | board | a machine description JSON file' })
      .option('slots', { type: 'number', default: 4, describe: 'samples run side by side' })
      .option('out', { type: 'string', demandOption: true, describe: 'config directory to write' })
      .option('train', { type: 'boolean', default: false, describe: 'a training export: loss and optimiser programs for on-chip training (float32)' })
      .option('batch', { type: 'number', describe: 'with --train: samples per update (default: the model\'s training batch, else 22)' })
      .option('lr', { type: 'number', describe: 'with --train: Adam learning rate (default: the model\'s training setting, else 0.0019)' })
      .option('packets-per-tick', { type: 'number', default: 64, describe: 'with --train: gradient packets a layer PE sends and weights the optimiser updates per tick' })
      .strict() as never,
  handler: (args) => {
    const model = loadModel(args.model);
    const quant = parseQuant(args.quant ?? (args.train ? 'float32' : (model.quantisation?.type ?? 'int8')));
    if (!args.train && (args.batch !== undefined || args.lr !== undefined)) throw new UserError('--batch and --lr set the on-chip optimiser: they need --train');
    const clipPercentile = args.clipPercentile ?? model.quantisation?.clipPercentile ?? 100;
    if (!(clipPercentile > 0 && clipPercentile <= 100)) throw new UserError(`--clip-percentile: expected a number in (0, 100], got ${clipPercentile}`);
    const rounding = parseRounding(args.rounding ?? 'calibrated');
    const out = filePath('out', args.out);
    const machine = loadMachine(args.machine);
    const slots = positiveInt('slots', args.slots);
    const training = args.train ? trainingExport(model, args) : undefined;
    const progress = calibrationReporter();
    let quantised;
    try {
      quantised = quant === 'float32' ? undefined : quantiseModel(model, quant, clipPercentile, rounding, rounding === 'calibrated' ? calibrationData(args.calibration, model) : undefined, { onProgress: progress.onProgress });
    } finally {
      progress.done();
    }
    const { files, report } = exportModel(model, { quant, clipPercentile, machine, slots, quantised, training });
    writeDirAtomic(out, files);
    process.stdout.write(`${exportSummary(report)}\nconfig written to ${out} (details in ${out}/report.json)\n`);
  },
};
