import type { CommandModule } from 'yargs';
import { join } from 'node:path';
import { z } from 'zod';
import { ExportFileSchema, readDirFile, type ExportFile } from '../chip/config-dir.js';
import { dequantise } from '../chip/quantise.js';
import { loadChipConfig } from '../chip/sim/load-config.js';
import { ChipSimulator } from '../chip/sim/simulator.js';
import { checkDatasetFits, loadDataset } from '../data/sources.js';
import { networkFromModel } from '../engine/model-network.js';
import { UserError } from '../errors.js';
import { layerSizes, loadModel, modelOutputs, weightsSha256 } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { percent } from '../report/format.js';
import { encodeSet } from '../train/batch-runner.js';
import { engineSpikeTrains } from '../train/spike-trains.js';
import { startBackend, withBackend } from './common.js';
import { exportSummary } from './export.js';
import { dataSpecFrom, simulationSummary } from './simulate.js';


interface Args {
  model: string;
  config: string;
  split?: string;
  data?: string;
  backend: string;
  minAgreement: number;
  json: boolean;
}

/**
 * The model as the export runs it: the dequantised mantissas recorded in export.json, or for an export
 * written before they were recorded, its weights quantised the way the config says (nearest rounding).
 */
function asExported(model: ModelFile, quant: ExportFile['quant'], where: string): ModelFile {
  const { quantisation: _q, ...rest } = model;
  if (quant.type === 'float32') return rest;
  const layers = quant.layers;
  if (!layers || layers.some((l) => l.mantissas === undefined)) return { ...rest, quantisation: { type: quant.type, clipPercentile: quant.clipPercentile } };
  if (layers.length !== model.layers.length) throw new UserError(`${where}: quant.layers has ${layers.length} entries, expected ${model.layers.length} (one per layer)`);
  return {
    ...rest,
    layers: model.layers.map((layer, l) => {
      const rows = layer.weights.length;
      const cols = layer.weights[0].length;
      const bytes = Buffer.from(layers[l].mantissas!, 'base64');
      if (bytes.length !== rows * cols) throw new UserError(`${where}: quant.layers[${l}].mantissas holds ${bytes.length} mantissas, expected ${rows * cols} (${rows} x ${cols})`);
      const m = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      return { weights: dequantise({ exp: layers[l].exp, mantissas: Int32Array.from(m), rows, cols }) };
    }),
  };
}

/** The config directory's export.json, checked to come from a network of the model's shape. */
export function checkExportOf(model: ModelFile, modelName: string, configDir: string): ExportFile {
  const info = readDirFile(configDir, 'export.json', 'export', ExportFileSchema);
  if (info.model.sizes.join('-') !== layerSizes(model).join('-') || info.model.steps !== model.steps) {
    throw new UserError(`${join(configDir, 'export.json')}: exported from a ${info.model.sizes.join('-')} network with ${info.model.steps} steps, but ${modelName} is ${layerSizes(model).join('-')} with ${model.steps}`);
  }
  const recorded = info.model.weightsSha256;
  if (recorded !== undefined && recorded !== weightsSha256(model)) {
    throw new UserError(
      `${join(configDir, 'export.json')}: exported from a model whose weights hash to ${recorded.slice(0, 12)}…, but ${modelName}'s hash to ${weightsSha256(model).slice(0, 12)}… (give the model file the export was made from)`,
    );
  }
  return info;
}

export interface Validation {
  text: string;
  /** The numbers of `text`, for `validate --json`. */
  json: Record<string, unknown>;
  agreement: number;
  predictionAgreement: number;
  engineAccuracy: number;
  chipAccuracy: number;
}

/**
 * Run the config directory on the simulator and the model (quantised as exported) on the tensor engine,
 * sample by sample; the backend must be started.
 */
export async function validateExport(model: ModelFile, modelName: string, configDir: string, spec: string): Promise<Validation> {
  const info = checkExportOf(model, modelName, configDir);
  const exported = asExported(model, info.quant, join(configDir, 'export.json'));
  const ds = loadDataset(spec);
  checkDatasetFits(ds, exported.features ?? ds.featureNames.length, modelOutputs(model));

  const net = networkFromModel(exported);
  const engine = await engineSpikeTrains(net, encodeSet(ds, { steps: model.steps, ...model.encoding }), 250);
  net.weights.forEach((w) => w.dispose());

  const sim = new ChipSimulator(loadChipConfig(configDir)).run(ds.features, ds.count, ds.labels, true);
  let sameSpikes = 0;
  let samePrediction = 0;
  let engineCorrect = 0;
  let firstMismatch = -1;
  sim.samples.forEach((chip, i) => {
    const first = engine.firstSpikes[i];
    let pred = 0;
    for (let n = 1; n < first.length; n++) if (first[n] < first[pred]) pred = n;
    if (pred === ds.labels[i]) engineCorrect++;
    if (pred === chip.prediction) samePrediction++;
    if (JSON.stringify(chip.spikes) === JSON.stringify(engine.spikes[i])) sameSpikes++;
    else if (firstMismatch < 0) firstMismatch = i;
  });
  const n = ds.count;
  const chipCorrect = sim.samples.filter((r) => r.prediction === r.label).length;
  const report = readDirFile(configDir, 'report.json', 'report', z.any());
  const provenance = info.model.weightsSha256 === undefined ? 'not checked: this export records no model hash (written by an older version)' : 'the export was made from this model (weights hash matches)';
  const text = [
    `validate ${configDir} (${info.quant.type}) against ${modelName} on ${spec}`,
    `model: ${provenance}`,
    `spike trains identical (all layers): ${sameSpikes}/${n} = ${percent(sameSpikes / n)}${firstMismatch >= 0 ? ` (first difference: sample ${firstMismatch})` : ''}`,
    `predictions identical: ${samePrediction}/${n} = ${percent(samePrediction / n)}`,
    `accuracy on ${spec}: tensor engine ${percent(engineCorrect / n)} (the model with its weights as exported, ${info.quant.type}), chip simulator ${percent(chipCorrect / n)}`,
    '',
    exportSummary(report),
    '',
    simulationSummary(sim),
  ].join('\n');
  const json = {
    config: configDir,
    model: modelName,
    data: spec,
    quant: info.quant.type,
    modelChecked: info.model.weightsSha256 !== undefined,
    samples: n,
    spikeTrainsIdentical: sameSpikes,
    spikeTrainAgreement: sameSpikes / n,
    firstDifference: firstMismatch >= 0 ? firstMismatch : null,
    predictionAgreement: samePrediction / n,
    engineAccuracy: engineCorrect / n,
    chipAccuracy: chipCorrect / n,
  };
  return { text, json, agreement: sameSpikes / n, predictionAgreement: samePrediction / n, engineAccuracy: engineCorrect / n, chipAccuracy: chipCorrect / n };
}

export const validateCommand: CommandModule<object, Args> = {
  command: 'validate',
  describe: 'Compare the chip simulator with the tensor engine sample by sample, with resources and the real-time verdict',
  builder: (y) =>
    withBackend(y)
      .option('model', { type: 'string', demandOption: true, describe: 'MODEL.json the export was made from (checked against the hash export.json records)' })
      .option('config', { type: 'string', demandOption: true, describe: 'config directory (s2prop export) the chip simulator runs' })
      .option('split', { type: 'string', describe: 'canonical Yin-Yang split (default test)' })
      .option('data', { type: 'string', describe: 'CSV of features in [0,1] and a label column (instead of --split)' })
      .option('min-agreement', {
        type: 'number',
        default: 100,
        describe: 'exit with status 1 when fewer than this percentage of samples have spike trains identical to the engine',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of the report' })
      .conflicts('split', 'data')
      .strict() as never,
  handler: async (args) => {
    const min = args.minAgreement;
    if (typeof min !== 'number' || !(min >= 0 && min <= 100)) throw new UserError(`--min-agreement: expected a percentage in [0, 100], got '${String(min)}'`);
    await startBackend(args.backend);
    const v = await validateExport(loadModel(args.model), args.model, args.config, dataSpecFrom(args));
    process.stdout.write(args.json ? `${JSON.stringify({ ...v.json, minAgreement: min / 100, passed: v.agreement * 100 >= min })}\n` : `${v.text}\n`);
    if (v.agreement * 100 < min) {
      throw new UserError(`validate: spike trains identical on ${v.json.spikeTrainsIdentical} of ${v.json.samples} samples (${percent(v.agreement, 3)}), below --min-agreement ${min} %`);
    }
  },
};
