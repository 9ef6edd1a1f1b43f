import type { CommandModule } from 'yargs';
import { UserError } from '../errors.js';
import { layerSizes, loadModel, saveModel } from '../model/model-file.js';
import { exportNir } from '../nir/export.js';
import { importNir } from '../nir/import.js';
import { CONVENTIONS, type Convention } from '../nir/mapping.js';
import { filePath, outputFile, positiveInt } from './common.js';

function parseConvention(value: unknown): Convention | undefined {
  if (value === undefined) return undefined;
  if (!(CONVENTIONS as readonly unknown[]).includes(value)) throw new UserError(`--convention: unknown convention '${String(value)}' (expected ${CONVENTIONS.join(' or ')})`);
  return value as Convention;
}

interface ExportArgs {
  model: string;
  out: string;
  convention: string;
}

const nirExport: CommandModule<object, ExportArgs> = {
  command: 'export',
  describe: 'Write a model as a NIR graph (HDF5): Input -> (Linear -> CubaLIF) per layer -> Output',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'MODEL.json to export (a quantised model exports its dequantised weights)' })
      .option('out', { type: 'string', demandOption: true, describe: 'the .nir file to write' })
      .option('convention', { type: 'string', default: 's2prop', describe: 'discretisation of the neuron constants: s2prop (exponential) | snntorch (forward Euler, dt 1e-4 s)' })
      .strict() as never,
  handler: async (args) => {
    const convention = parseConvention(args.convention)!;
    const out = outputFile('out', args.out);
    const model = loadModel(args.model);
    const graph = await exportNir(model, out, convention);
    const quantised = model.quantisation ? ` (the ${model.quantisation.type} weights the engine runs)` : '';
    process.stderr.write(`wrote ${layerSizes(model).join('-')} as NIR ${graph.version} (${convention} mapping, dt ${graph.metadata.get('dt')} s)${quantised} to ${out}\n`);
  },
};

interface ImportArgs {
  nir: string;
  out: string;
  dtMs?: number;
  convention?: string;
  steps?: number;
  bias?: boolean;
}

const nirImport: CommandModule<object, ImportArgs> = {
  command: 'import',
  describe: 'Read a feed-forward NIR graph (Linear/Affine + CubaLIF/LIF) into a model file',
  builder: (y) =>
    y
      .option('nir', { type: 'string', demandOption: true, describe: 'the .nir file to read' })
      .option('out', { type: 'string', demandOption: true, describe: 'the model file to write' })
      .option('dt-ms', { type: 'number', describe: "step length of the model (ms); default: the file's metadata dt" })
      .option('convention', { type: 'string', describe: "s2prop | snntorch; default: the file's metadata mapping, else detected" })
      .option('steps', { type: 'number', describe: "time steps T; default: the file's s2prop settings, else 27" })
      .option('bias', { type: 'boolean', describe: 'the last input is an always-on bias input spiking at step 0 (as Yin-Yang)' })
      .strict() as never,
  handler: async (args) => {
    const out = outputFile('out', args.out);
    if (args.dtMs !== undefined && !(args.dtMs > 0 && Number.isFinite(args.dtMs))) throw new UserError(`--dt-ms: expected a positive number of milliseconds, got '${args.dtMs}'`);
    const steps = args.steps === undefined ? undefined : positiveInt('steps', args.steps);
    const result = await importNir(filePath('nir', args.nir), { dtMs: args.dtMs, convention: parseConvention(args.convention), steps, bias: args.bias });
    saveModel(out, result.model);
    const n = result.model.neuron;
    process.stderr.write(
      `wrote ${result.sizes.join('-')} (${result.convention} mapping, ${result.conventionSource}): dt ${n.dtMs} ms, tauSyn ${n.tauSynMs} ms, tauMem ${n.tauMemMs} ms, threshold ${n.threshold} to ${out}\n`,
    );
  },
};

export const nirCommand: CommandModule = {
  command: 'nir <command>',
  describe: 'Exchange networks with other tools as NIR (Neuromorphic Intermediate Representation): export | import',
  builder: (y) => y.command(nirExport).command(nirImport).demandCommand(1, 'expected nir export or nir import') as never,
  handler: () => {},
};
