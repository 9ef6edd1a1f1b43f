import { dirname, join } from 'node:path';
import { exportModel, writeExportDir } from '../chip/export.js';
import { BUILTIN_MACHINES } from '../chip/machine.js';
import { writeFileAtomic } from '../io/atomic.js';
import { toJsonText } from '../io/json.js';
import { checkFileOutput } from '../io/output-paths.js';
import { loadModel } from '../model/model-file.js';
import { resolveConfig, type TrainConfig } from '../model/train-config.js';
import { curvesPath } from '../report/training-log.js';
import type { TrainResult } from '../train/trainer.js';
import { validateExport, type Validation } from '../validation/export-validation.js';
import { trainToFiles, type TrainingCallbacks, type TrainingRun } from './training-run.js';

/**
 * The main job (`npm start`): train a float32 model, fine-tune it for int8 (quantisation-aware), export
 * that as int8 for one chip, validate the export on the chip simulator against the tensor engine, and
 * write a summary of the four numbers.
 */

/**
 * The fine-tuning for int8, over the float32 run's settings: 10 epochs from the trained model, clip
 * percentile 99, round-to-nearest (the recipe this job was benchmarked with; calibrated rounding and a
 * calibrated export do better, scripts/quant-accuracy.mjs).
 */
export const INT8_FINE_TUNING = { quant: { type: 'int8', clipPercentile: 99, rounding: 'nearest' }, optimiser: { lr: 0.0005 }, epochs: 10 } as const;

/** The settings of the int8 fine-tuning of a model trained with `config`. */
export function fineTuningConfig(config: TrainConfig): TrainConfig {
  return resolveConfig(config.preset, [config, INT8_FINE_TUNING], 'int8 fine-tuning settings');
}

/** The export: int8 with the fine-tuning's percentile, for one chip, four samples side by side. */
const EXPORT = { quant: 'int8', clipPercentile: 99, machine: BUILTIN_MACHINES.chip, slots: 4 } as const;

/** The data the export is validated on. */
const VALIDATION_DATA = 'yinyang:test';

/** The files the job writes beside the float32 model `out`. */
export function mainJobFiles(out: string): { int8Model: string; int8Log: string; summary: string } {
  const dir = dirname(out);
  return { int8Model: join(dir, 'model-int8.json'), int8Log: join(dir, 'metrics-int8.csv'), summary: join(dir, 'summary.json') };
}

/** Check, before any training, that the files beside `out` can be written. */
export function checkMainJobFiles(out: string): void {
  const files = mainJobFiles(out);
  for (const path of [files.int8Model, files.int8Log, curvesPath(files.int8Log), files.summary]) checkFileOutput(path, path);
}

export interface MainJobOptions {
  /** The float32 training run (its model file `out` is where the job's other files go, beside it). */
  training: TrainingRun;
  /** Where the int8 export (a chip config directory) goes, checked by the caller. */
  configDir: string;
  /** The name the export's folder checks give `configDir` in errors (chip/export.ts: the option that named it). */
  configDirOption: string;
}

export type Stage = 'float32' | 'int8';

export interface MainJobCallbacks {
  /** A training run about to start (the float32 run, then the int8 fine-tuning): how its progress is reported. */
  onTraining?: (stage: Stage, run: TrainingRun) => TrainingCallbacks;
  /** A training run whose model and log are written. */
  onTrained?: (stage: Stage, run: TrainingRun, result: TrainResult) => void;
}

/** What `summary.json` holds. */
export interface MainJobSummary {
  testAccuracyFloat32: number;
  testAccuracyInt8Engine: number;
  testAccuracyInt8Chip: number;
  spikeTrainAgreement: number;
  predictionAgreement: number;
}

export interface MainJobResult {
  trained: TrainResult;
  tuned: TrainResult;
  validation: Validation;
  summary: MainJobSummary;
}

/** Run the main job; the backend must be started. Writes the models, logs, export and summary.json. */
export async function runMainJob(o: MainJobOptions, callbacks: MainJobCallbacks = {}): Promise<MainJobResult> {
  const files = mainJobFiles(o.training.out);
  const stage = async (name: Stage, run: TrainingRun) => {
    const result = await trainToFiles(run, callbacks.onTraining?.(name, run));
    callbacks.onTrained?.(name, run, result);
    return result;
  };
  const trained = await stage('float32', o.training);
  // From the model as written, as a later `train --init` would read it.
  const fineTuning: TrainingRun = {
    ...o.training,
    config: fineTuningConfig(o.training.config),
    init: { path: o.training.out, model: loadModel(o.training.out) },
    out: files.int8Model,
    log: files.int8Log,
    resume: false,
  };
  const tuned = await stage('int8', fineTuning);
  const { files: exported } = exportModel(tuned.model, EXPORT);
  writeExportDir(o.configDir, exported, 'config', false, o.configDirOption);
  const validation = await validateExport(tuned.model, files.int8Model, o.configDir, VALIDATION_DATA);
  const summary: MainJobSummary = {
    testAccuracyFloat32: trained.test.accuracy,
    testAccuracyInt8Engine: tuned.test.accuracy,
    testAccuracyInt8Chip: validation.chipAccuracy,
    spikeTrainAgreement: validation.agreement,
    predictionAgreement: validation.predictionAgreement,
  };
  writeFileAtomic(files.summary, toJsonText(summary));
  return { trained, tuned, validation, summary };
}
