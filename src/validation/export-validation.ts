import { join } from 'node:path';
import { z } from 'zod';
import { ExportFileSchema, readDirFile, type ExportFile } from '../chip/config-dir.js';
import { dequantise } from '../quant/quantise.js';
import { loadChipConfig } from '../chip/sim/load-config.js';
import { ChipSimulator } from '../chip/sim/simulator.js';
import { checkDatasetFits, loadDataset } from '../data/sources.js';
import { networkFromModel } from '../engine/model-network.js';
import { UserError } from '../errors.js';
import { layerSizes, modelOutputs, weightsSha256 } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { predictedClass } from '../numerics/prediction.js';
import { validationText, type ValidationNumbers } from '../report/validation-report.js';
import { encodeSet } from '../train/batch-runner.js';
import { engineSpikeTrains } from '../train/spike-trains.js';

/**
 * Validation of an export: the config directory on the chip simulator against the model, quantised as
 * exported, on the tensor engine, sample by sample. The one place that runs both (they never import
 * each other).
 */

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
  json: ValidationNumbers;
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
    const pred = predictedClass(first);
    if (pred === ds.labels[i]) engineCorrect++;
    if (pred === chip.prediction) samePrediction++;
    if (JSON.stringify(chip.spikes) === JSON.stringify(engine.spikes[i])) sameSpikes++;
    else if (firstMismatch < 0) firstMismatch = i;
  });
  const n = ds.count;
  const chipCorrect = sim.samples.filter((r) => r.prediction === r.label).length;
  const report = readDirFile(configDir, 'report.json', 'report', z.any());
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
  return { text: validationText(json, report, sim), json, agreement: sameSpikes / n, predictionAgreement: samePrediction / n, engineAccuracy: engineCorrect / n, chipAccuracy: chipCorrect / n };
}
