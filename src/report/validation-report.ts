import type { Simulation } from '../chip/sim/simulator.js';
import type { ExportReport } from '../chip/export.js';
import { exportSummary, simulationSummary } from './chip-summaries.js';
import { percent } from './format.js';

/** The numbers of a validation (validate --json prints them). */
export interface ValidationNumbers {
  config: string;
  model: string;
  data: string;
  quant: string;
  modelChecked: boolean;
  samples: number;
  spikeTrainsIdentical: number;
  spikeTrainAgreement: number;
  firstDifference: number | null;
  predictionAgreement: number;
  engineAccuracy: number;
  chipAccuracy: number;
}

/** The report `validate` prints: agreement, accuracies, the export's resources and the simulation. */
export function validationText(v: ValidationNumbers, report: ExportReport, sim: Simulation): string {
  const n = v.samples;
  const provenance = v.modelChecked ? 'the export was made from this model (weights hash matches)' : 'not checked: this export records no model hash (written by an older version)';
  return [
    `validate ${v.config} (${v.quant}) against ${v.model} on ${v.data}`,
    `model: ${provenance}`,
    `spike trains identical (all layers): ${v.spikeTrainsIdentical}/${n} = ${percent(v.spikeTrainAgreement)}${v.firstDifference !== null ? ` (first difference: sample ${v.firstDifference})` : ''}`,
    `predictions identical: ${Math.round(v.predictionAgreement * n)}/${n} = ${percent(v.predictionAgreement)}`,
    `accuracy on ${v.data}: tensor engine ${percent(v.engineAccuracy)} (the model with its weights as exported, ${v.quant}), chip simulator ${percent(v.chipAccuracy)}`,
    '',
    exportSummary(report),
    '',
    simulationSummary(sim),
  ].join('\n');
}
