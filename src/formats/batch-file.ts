import { z } from 'zod';
import { inFile } from '../errors.js';
import { parseWith, readJsonFile } from './validate.js';

/**
 * A batch of explicit input spike trains, for comparing gradients with a chip:
 * `{"steps": T, "inputs": N_in, "samples": [{"spikes": [[inputIndex, step], ...], "label": c}, ...]}`.
 */
const int = z.number().int();

export const BatchSchema = z
  .object({
    steps: int.min(3),
    inputs: int.min(1),
    samples: z
      .array(z.object({ spikes: z.array(z.tuple([int.nonnegative(), int.nonnegative()])), label: int.nonnegative() }).strict())
      .min(1),
  })
  .strict()
  .superRefine((b, ctx) => {
    b.samples.forEach((s, i) =>
      s.spikes.forEach(([k, t], j) => {
        if (k >= b.inputs) ctx.addIssue({ code: 'custom', path: ['samples', i, 'spikes', j, 0], message: `input index ${k} is out of range, expected 0..${b.inputs - 1}` });
        if (t >= b.steps) ctx.addIssue({ code: 'custom', path: ['samples', i, 'spikes', j, 1], message: `step ${t} is out of range, expected 0..${b.steps - 1}` });
      }),
    );
  });

export type BatchFile = z.output<typeof BatchSchema>;

export function parseBatch(data: unknown, fileName: string): BatchFile {
  return parseWith(BatchSchema, data, fileName);
}

export function loadBatch(path: string): BatchFile {
  return parseBatch(readJsonFile(path), path);
}

/** Check that a batch fits a network with `inputs` inputs, `outputs` classes and `steps` steps. */
export function checkBatchFits(batch: BatchFile, fileName: string, steps: number, inputs: number, outputs: number): void {
  if (batch.steps !== steps) throw inFile(fileName, `steps is ${batch.steps}, expected ${steps} (the model's steps)`);
  if (batch.inputs !== inputs) throw inFile(fileName, `inputs is ${batch.inputs}, expected ${inputs} (the model's inputs)`);
  batch.samples.forEach((s, i) => {
    if (s.label >= outputs) throw inFile(fileName, `samples[${i}].label is ${s.label}, expected 0..${outputs - 1} (the model's outputs)`);
  });
}

/** Dense bool raster [B, T, N_in] of a batch. */
export function batchFileRaster(batch: BatchFile): Uint8Array {
  const { steps: T, inputs: N } = batch;
  const raster = new Uint8Array(batch.samples.length * T * N);
  batch.samples.forEach((s, b) => {
    for (const [k, t] of s.spikes) raster[(b * T + t) * N + k] = 1;
  });
  return raster;
}
