import type { CommandModule } from 'yargs';
import { batchGradients } from '../engine/gradients.js';
import { checkBatchFits, loadBatch } from '../formats/batch-file.js';
import { loadModel, modelInputs, modelOutputs } from '../model/model-file.js';
import { emitJson, outputFile, startBackend, withBackend } from './common.js';

interface Args {
  model: string;
  batch: string;
  out?: string;
  backend: string;
}

export const gradCommand: CommandModule<object, Args> = {
  command: 'grad',
  describe: 'Loss, first spikes and EventProp weight gradients of one batch of input spike trains',
  builder: (y) =>
    withBackend(y)
      .option('model', { type: 'string', demandOption: true, describe: 'MODEL.json whose gradients to compute' })
      .option('batch', { type: 'string', demandOption: true, describe: 'BATCH.json: {"steps", "inputs", "samples": [{"spikes": [[input, step], ...], "label"}]}' })
      .option('out', { type: 'string', describe: 'GRADS.json (default: stdout)' })
      .strict() as never,
  handler: async (args) => {
    if (args.out !== undefined) outputFile('out', args.out);
    const model = loadModel(args.model);
    const batch = loadBatch(args.batch);
    checkBatchFits(batch, args.batch, model.steps, modelInputs(model), modelOutputs(model));
    await startBackend(args.backend);
    emitJson(await batchGradients(model, batch), args.out);
  },
};
