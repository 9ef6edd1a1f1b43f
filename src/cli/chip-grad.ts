import type { CommandModule } from 'yargs';
import { OnChipTrainer } from '../chip/host/on-chip-training.js';
import { loadChipConfig } from '../chip/sim/load-config.js';
import { checkBatchFits, loadBatch } from '../formats/batch-file.js';
import type { GradientReport } from '../engine/gradients.js';
import { emitJson, outputFile } from './common.js';

interface Args {
  config: string;
  batch: string;
  out?: string;
}

/** Loss, first spikes and gradients of one batch, computed by the on-chip programs of a training export. */
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

export const chipGradCommand: CommandModule<object, Args> = {
  command: 'chip-grad',
  describe: 'Loss, first spikes and EventProp weight gradients of one batch, computed on the simulated chip (same JSON as s2prop grad)',
  builder: (y) =>
    y
      .option('config', { type: 'string', demandOption: true, describe: 'training config directory (s2prop export --train)' })
      .option('batch', { type: 'string', demandOption: true, describe: 'BATCH.json, as s2prop grad takes it' })
      .option('out', { type: 'string', describe: 'GRADS.json (default: stdout)' })
      .strict() as never,
  handler: (args) => {
    if (args.out !== undefined) outputFile('out', args.out);
    emitJson(chipGradients(args.config, args.batch), args.out);
  },
};
