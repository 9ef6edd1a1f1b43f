import { checkBatchFits, loadBatch } from '../../formats/batch-file.js';
import type { GradientReport } from '../../formats/gradient-report.js';
import { loadChipConfig } from '../sim/load-config.js';
import { OnChipTrainer } from './on-chip-training.js';

/**
 * Loss, first spikes and gradients of one batch file, computed by the on-chip programs of the training
 * export in `configDir` (no weight update).
 */
export function chipGradients(configDir: string, batchPath: string): GradientReport {
  const trainer = new OnChipTrainer(loadChipConfig(configDir), configDir);
  const batch = loadBatch(batchPath);
  checkBatchFits(batch, batchPath, trainer.steps, trainer.sizes[0], trainer.sizes[trainer.sizes.length - 1]);
  const out = trainer.runBatch(
    batch.samples.map((s) => ({ spikes: s.spikes, label: s.label })),
    { update: false, lr: 0 },
  );
  return { loss: out.reduce((a, o) => a + o.ce + o.r, 0) / out.length, firstSpikes: out.map((o) => o.firstSpikes), grads: trainer.gradients() };
}
