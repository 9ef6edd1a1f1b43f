import type { CommandModule } from 'yargs';
import { isInsideDir } from '../chip/config-dir.js';
import { loadChipConfig } from '../chip/sim/load-config.js';
import { ChipSimulator, type Simulation } from '../chip/sim/simulator.js';
import { loadDataset, SPLITS } from '../data/sources.js';
import { UserError } from '../errors.js';
import { percent } from '../report/format.js';
import { emitJson, outputFile } from './common.js';

interface Args {
  config: string;
  split?: string;
  data?: string;
  out?: string;
  record?: string;
}

/** Which data a chip command runs: a canonical split or a CSV. */
export function dataSpecFrom(args: { split?: string; data?: string }): string {
  if (args.data) return args.data;
  const split = args.split ?? 'test';
  if (!(SPLITS as readonly string[]).includes(split)) throw new UserError(`--split: unknown split '${split}' (expected ${SPLITS.join(', ')})`);
  return `yinyang:${split}`;
}

/** Run a config directory's simulator on a data set. */
export function simulateData(configDir: string, dataSpec: string, record: boolean): Simulation {
  const config = loadChipConfig(configDir);
  const sim = new ChipSimulator(config);
  const ds = loadDataset(dataSpec);
  if (ds.featureNames.length !== sim.features) {
    throw new UserError(`${ds.source}: has ${ds.featureNames.length} feature columns, the config's input program expects ${sim.features}`);
  }
  return sim.run(ds.features, ds.count, ds.labels, record);
}

export function simulationSummary(sim: Simulation): string {
  const s = sim.stats;
  const correct = sim.samples.filter((r) => r.prediction === r.label).length;
  return [
    `${s.samples} samples, accuracy ${percent(correct / s.samples)}`,
    `packets ${s.packetsSent} (${(s.packetsSent / s.samples).toFixed(1)} per sample, ${s.packetHops} chip-to-chip hops, ${s.packetsDropped} dropped), synaptic events ${s.synapticEvents}`,
    ...s.realTime.map((r) => `real time at ${r.mhz} MHz: busiest PE ${r.worstTickCycles} of ${r.budgetCycles} cycles per tick, ${r.ticksOverBudget} tick(s) over budget: ${r.fits ? 'keeps up' : 'FALLS BEHIND'}`),
    `model values: latency ${(1000 * s.latencyPerInferenceSeconds).toFixed(1)} ms per inference, energy ${s.energyPerInferenceJoules.map((e) => `${(e.joules * 1e6).toFixed(2)} µJ at ${e.mhz} MHz`).join(', ')}`,
  ].join('\n');
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
