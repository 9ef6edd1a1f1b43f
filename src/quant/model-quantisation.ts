import type { Dataset } from '../data/dataset.js';
import { encodeDataset } from '../data/encoding.js';
import { checkDatasetFits } from '../data/sources.js';
import { modelInputs, modelOutputs } from '../model/model-file.js';
import { neuronConstants } from '../model/neuron.js';
import type { ModelFile } from '../model/schema.js';
import { calibrateRounding, type CalibrationOptions, type CalibrationReport } from './calibrated-rounding.js';
import { quantiseWeights, type LayerQuantisation, type QuantType, type Rounding } from './quantise.js';

/** A model's layers quantised for the chip, and how. */
export interface ModelQuantisation {
  layers: LayerQuantisation[];
  rounding: Rounding;
  /** With calibrated rounding: the calibration data and what the calibration did. */
  calibration: (CalibrationReport & { data: string }) | null;
}

/**
 * Quantise a model's weights for export: every weight to its nearest mantissa, or with calibrated
 * rounding on `calibration` (the training split; the model's own encoding).
 */
export function quantiseModel(
  model: ModelFile,
  quant: Exclude<QuantType, 'float32'>,
  clipPercentile: number,
  rounding: Rounding,
  calibration?: Dataset,
  options: Partial<CalibrationOptions> = {},
): ModelQuantisation {
  const weights = model.layers.map((l) => l.weights);
  if (rounding === 'nearest') return { layers: quantiseWeights(weights, quant, clipPercentile)!, rounding, calibration: null };
  if (!calibration) throw new Error('calibrated rounding needs calibration data');
  checkDatasetFits(calibration, model.features ?? modelInputs(model) - (model.encoding.bias ? 1 : 0), modelOutputs(model));
  const encoded = encodeDataset(calibration, { steps: model.steps, ...model.encoding });
  const { layers, report } = calibrateRounding(weights, quant, clipPercentile, { encoded, labels: calibration.labels }, model.steps, neuronConstants(model.neuron), options);
  return { layers, rounding, calibration: { data: calibration.source, ...report } };
}
