import type { CommandModule } from 'yargs';
import { chipGradients } from '../chip/host/chip-gradients.js';
import { emitJson, outputFile } from './common.js';

interface Args {
  config: string;
  batch: string;
  out?: string;
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
