import type { CommandModule } from 'yargs';
import { SPLITS } from '../data/sources.js';
import { UserError } from '../errors.js';
import { loadModel } from '../model/model-file.js';
import { evaluationJson, evaluationReport } from '../report/format.js';
import { evaluateModel } from '../train/evaluate.js';
import { positiveInt, startBackend, withBackend } from './common.js';

interface Args {
  model: string;
  split: string;
  data?: string;
  json: boolean;
  backend: string;
  batch: number;
}

export const evalCommand: CommandModule<object, Args> = {
  command: 'eval',
  describe: 'Accuracy, loss, confusion matrix and spikes per sample of a model',
  builder: (y) =>
    withBackend(y)
      .option('model', { type: 'string', demandOption: true, describe: 'MODEL.json to evaluate' })
      .option('split', { type: 'string', default: 'test', describe: 'canonical Yin-Yang split: train | validation | test' })
      .option('data', { type: 'string', describe: 'CSV of features in [0,1] and a label column (instead of --split)' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
      .option('batch', { type: 'number', default: 250, describe: 'evaluation batch size' })
      .strict() as never,
  handler: async (args) => {
    if (!args.data && !(SPLITS as readonly string[]).includes(args.split)) {
      throw new UserError(`--split: unknown split '${args.split}' (expected ${SPLITS.join(', ')})`);
    }
    const model = loadModel(args.model);
    await startBackend(args.backend);
    const spec = args.data ?? `yinyang:${args.split}`;
    const result = await evaluateModel(model, spec, positiveInt('batch', args.batch));
    if (args.json) {
      process.stdout.write(JSON.stringify({ model: args.model, data: spec, ...evaluationJson(result) }) + '\n');
      return;
    }
    // A quantised model runs its dequantised weights; say so in the title.
    const q = model.quantisation;
    const weights = q ? ` (${q.type} weights, clip percentile ${q.clipPercentile})` : '';
    process.stdout.write(evaluationReport(result, `${args.model}${weights} on ${spec}`) + '\n');
  },
};
