import type { CommandModule } from 'yargs';
import { isInsideDir } from '../chip/config-dir.js';
import { simulateData } from '../chip/sim/simulate-data.js';
import { UserError } from '../errors.js';
import { simulationSummary } from '../report/chip-summaries.js';
import { dataSpecFrom, emitJson, outputFile } from './common.js';

interface Args {
  config: string;
  split?: string;
  data?: string;
  out?: string;
  record?: string;
}




export const simulateCommand: CommandModule<object, Args> = {
  command: 'simulate',
  describe: 'Run a chip config directory on the bit-faithful SpiNNaker2 simulator',
  builder: (y) =>
    y
      .option('config', { type: 'string', demandOption: true, describe: 'config directory written by s2prop export' })
      .option('split', { type: 'string', describe: 'canonical Yin-Yang split (default test)' })
      .option('data', { type: 'string', describe: 'CSV of features in [0,1] and a label column' })
      .option('out', { type: 'string', describe: 'RESULT.json' })
      .option('record', { type: 'string', choices: ['spikes'], describe: 'also read back every layer\'s spikes' })
      .conflicts('split', 'data')
      .strict() as never,
  handler: (args) => {
    const out = args.out === undefined ? undefined : outputFile('out', args.out);
    if (out && isInsideDir(args.config, out)) {
      throw new UserError(`--out ${out}: is inside the config directory ${args.config}; the simulator never writes there (write the results elsewhere)`);
    }
    const sim = simulateData(args.config, dataSpecFrom(args), args.record === 'spikes');
    const correct = sim.samples.filter((r) => r.prediction === r.label).length;
    if (out) emitJson({ samples: sim.samples, accuracy: correct / sim.samples.length, summary: sim.stats }, out);
    process.stdout.write(simulationSummary(sim) + '\n' + (out ? `results written to ${out}\n` : ''));
  },
};
