import type { CommandModule } from 'yargs';
import { UserError } from '../errors.js';
import { loadModel } from '../model/model-file.js';
import { percent } from '../report/format.js';
import { validateExport } from '../validation/export-validation.js';
import { dataSpecFrom, startBackend, withBackend } from './common.js';

interface Args {
  model: string;
  config: string;
  split?: string;
  data?: string;
  backend: string;
  minAgreement: number;
  json: boolean;
}

export const validateCommand: CommandModule<object, Args> = {
  command: 'validate',
  describe: 'Compare the chip simulator with the tensor engine sample by sample, with resources and the real-time verdict',
  builder: (y) =>
    withBackend(y)
      .option('model', { type: 'string', demandOption: true, describe: 'MODEL.json the export was made from (checked against the hash export.json records)' })
      .option('config', { type: 'string', demandOption: true, describe: 'config directory (s2prop export) the chip simulator runs' })
      .option('split', { type: 'string', describe: 'canonical Yin-Yang split (default test)' })
      .option('data', { type: 'string', describe: 'CSV of features in [0,1] and a label column (instead of --split)' })
      .option('min-agreement', {
        type: 'number',
        default: 100,
        describe: 'exit with status 1 when fewer than this percentage of samples have spike trains identical to the engine',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of the report' })
      .conflicts('split', 'data')
      .strict() as never,
  handler: async (args) => {
    const min = args.minAgreement;
    if (typeof min !== 'number' || !(min >= 0 && min <= 100)) throw new UserError(`--min-agreement: expected a percentage in [0, 100], got '${String(min)}'`);
    await startBackend(args.backend);
    const v = await validateExport(loadModel(args.model), args.model, args.config, dataSpecFrom(args));
    process.stdout.write(args.json ? `${JSON.stringify({ ...v.json, minAgreement: min / 100, passed: v.agreement * 100 >= min })}\n` : `${v.text}\n`);
    if (v.agreement * 100 < min) {
      throw new UserError(`validate: spike trains identical on ${v.json.spikeTrainsIdentical} of ${v.json.samples} samples (${percent(v.agreement, 3)}), below --min-agreement ${min} %`);
    }
  },
};
