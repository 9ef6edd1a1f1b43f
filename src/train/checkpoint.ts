import { z } from 'zod';
import { parseWith, readJsonFile } from '../formats/validate.js';
import { writeFileAtomic } from '../io/atomic.js';
import { toJsonText } from '../io/json.js';
import { withCurrentNames } from '../model/train-config.js';

/**
 * A training checkpoint: everything needed to continue a run exactly where it stopped (weights, optimiser
 * state, best-so-far model, the metrics history). Written atomically after every epoch.
 */
const matrices = z.array(z.array(z.array(z.number())));

export const CheckpointSchema = z.preprocess(
  // A checkpoint written before the optimiser's state was renamed holds it as `optimizer`.
  (v) => withCurrentNames(v),
  z
    .object({
      format: z.literal('s2prop-checkpoint'),
      version: z.literal(1),
      config: z.record(z.string(), z.unknown()),
      data: z.record(z.string(), z.string()),
      features: z.array(z.string()),
      classes: z.number().int(),
      backend: z.string(),
      /** The model the run started from (`train --init`), absent for a fresh initialisation. */
      initModel: z.string().optional(),
      epochsDone: z.number().int().nonnegative(),
      /** The exponents of quantisation-aware training (fixed by a calibrated start). */
      quantExponents: z.array(z.number().int()).optional(),
      weights: matrices,
      optimiser: z.object({ step: z.number().int(), m: matrices, v: matrices }).strict(),
      best: z.object({ epoch: z.number().int(), accuracy: z.number(), loss: z.number(), weights: matrices }).strict().nullable(),
      history: z.array(z.record(z.string(), z.number())),
    })
    .strict(),
);

export type Checkpoint = z.output<typeof CheckpointSchema>;

export function saveCheckpoint(path: string, ckpt: Checkpoint): void {
  writeFileAtomic(path, toJsonText(ckpt));
}

export function loadCheckpoint(path: string): Checkpoint {
  return parseWith(CheckpointSchema, readJsonFile(path), path);
}
