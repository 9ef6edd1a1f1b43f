import type { CommandModule } from 'yargs';
import { writeDatasetCsv } from '../data/csv.js';
import { CANONICAL_SPLITS, yinyangDataset, type SplitName } from '../data/yinyang.js';
import { UserError } from '../errors.js';
import { outputFile } from './common.js';

interface Args {
  generator: string;
  split: string;
  size?: number;
  seed?: number;
  out: string;
}

export const dataCommand: CommandModule<object, Args> = {
  command: 'data <generator>',
  describe: 'Generate a data set as CSV (yinyang: the canonical splits, bit for bit)',
  builder: (y) =>
    y
      .positional('generator', { type: 'string', demandOption: true, describe: 'yinyang' })
      .option('split', { type: 'string', default: 'train', describe: 'train | validation | test (their canonical size and seed)' })
      .option('size', { type: 'number', describe: 'number of samples (default: the split\'s size)' })
      .option('seed', { type: 'number', describe: 'generator seed (default: the split\'s seed)' })
      .option('out', { type: 'string', demandOption: true, describe: 'CSV file to write' })
      .strict() as never,
  handler: (args) => {
    if (args.generator !== 'yinyang') throw new UserError(`data: unknown generator '${args.generator}' (expected yinyang)`);
    if (!(args.split in CANONICAL_SPLITS)) {
      throw new UserError(`--split: unknown split '${args.split}' (expected ${Object.keys(CANONICAL_SPLITS).join(', ')})`);
    }
    const canonical = CANONICAL_SPLITS[args.split as SplitName];
    const size = args.size ?? canonical.size;
    const seed = args.seed ?? canonical.seed;
    if (!Number.isInteger(size) || size < 1) throw new UserError(`--size: expected a positive integer, got '${args.size}'`);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UserError(`--seed: expected an integer in 0..4294967295, got '${args.seed}'`);
    const out = outputFile('out', args.out);
    const ds = size === canonical.size && seed === canonical.seed ? yinyangDataset(args.split as SplitName) : yinyangDataset({ size, seed });
    writeDatasetCsv(out, ds);
    process.stderr.write(`wrote ${ds.count} samples (${ds.source}) to ${out}\n`);
  },
};
