import { rmSync } from 'node:fs';
import type { DataSpec } from '../data/sources.js';
import { saveModel } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import type { TrainConfig } from '../model/train-config.js';
import { writeTrainingLog } from '../report/training-log.js';
import { train, type TrainOptions, type TrainResult } from '../train/trainer.js';

/** One training run and the files it leaves: the model, its metrics log with curves, and (while it runs) its checkpoint. */
export interface TrainingRun {
  config: TrainConfig;
  data: DataSpec;
  /** The backend in use (started by the caller). */
  backend: string;
  /** A model to train on from; `path` names it in errors and provenance. */
  init?: { path: string; model: ModelFile };
  /** The model file to write; the checkpoint goes beside it (`checkpointOf`) after every epoch. */
  out: string;
  /** Metrics CSV, rewritten after every epoch, with its training curves beside it (report/training-log.ts). */
  log?: string;
  /** Continue from the checkpoint. */
  resume: boolean;
  /** Keep the checkpoint once the model is written (it serves only to resume an unfinished run). */
  keepCheckpoint?: boolean;
}

/** How a run reports its progress (the trainer's callbacks). */
export type TrainingCallbacks = Pick<TrainOptions, 'onProgress' | 'onCalibration'>;

/** The checkpoint of the run that writes `out`. */
export function checkpointOf(out: string): string {
  return `${out}.ckpt.json`;
}

/** Train, then write the model and the log, and drop the checkpoint unless it is to be kept. */
export async function trainToFiles(run: TrainingRun, callbacks: TrainingCallbacks = {}): Promise<TrainResult> {
  const checkpointPath = checkpointOf(run.out);
  const result = await train({
    config: run.config,
    data: run.data,
    backend: run.backend,
    checkpointPath,
    resume: run.resume,
    init: run.init,
    onCalibration: callbacks.onCalibration,
    onProgress: (p) => {
      callbacks.onProgress?.(p);
      if (p.type === 'epoch' && run.log) writeTrainingLog(run.log, p.history);
    },
  });
  saveModel(run.out, result.model);
  if (run.log) writeTrainingLog(run.log, result.history);
  if (!run.keepCheckpoint) rmSync(checkpointPath, { force: true });
  return result;
}
