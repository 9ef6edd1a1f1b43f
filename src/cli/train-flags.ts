import type { Argv } from 'yargs';
import { CANONICAL_DATA, type DataSpec } from '../data/sources.js';
import { UserError } from '../errors.js';
import { readJsonFile } from '../formats/validate.js';
import { loadModel } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { mergeSettings, modelSettings, RENAMED_SETTINGS, resolveConfig, TrainConfigSchema, type TrainConfig } from '../model/train-config.js';
import { parseQuant } from '../quant/quantise.js';
import { withBackend } from './common.js';

/**
 * The training flags of `train`, `init` and `main`, and the one way they become a training config:
 * preset <- the settings of the `--init` model <- the config file <- flags, validated by the schema.
 */

/** Settings a flag may override: every key of the training config but the preset (its own flag). Nested ones with dots: `--optimiser.lr 0.003`. */
const CONFIG_FLAGS = [...Object.keys(TrainConfigSchema.shape).filter((k) => k !== 'preset'), ...RENAMED_SETTINGS.keys()];
const COMMAND_FLAGS = ['preset', 'config', 'out', 'log', 'resume', 'keepCheckpoint', 'backend', 'train', 'validation', 'test', 'quiet'];

export interface TrainArgs {
  preset: string;
  config?: string;
  out: string;
  log?: string;
  resume: boolean;
  keepCheckpoint?: boolean;
  backend: string;
  train?: string;
  validation?: string;
  test?: string;
  quiet?: boolean;
  [flag: string]: unknown;
}

export function trainOptions<T>(y: Argv<T>) {
  return withBackend(y)
    .option('preset', { type: 'string', default: 'twin', describe: 'twin (on-chip twin settings) | exact (exact-EventProp settings)' })
    .option('config', { type: 'string', describe: 'JSON file of settings overriding the preset' })
    .option('seed', { type: 'number', describe: 'seed for initialisation and shuffling' })
    .option('epochs', { type: 'number', describe: 'epochs to train (with --resume: the total; a finished run can be extended when it kept its checkpoint, --keep-checkpoint)' })
    .option('batch', { type: 'number', describe: 'training samples per batch' })
    .option('hidden', { type: 'string', describe: 'hidden layer sizes, e.g. 120 or 100,50' })
    .option('init', {
      type: 'string',
      describe: "MODEL.json to train on from: its weights, and its sizes, steps, neuron, loss, encoding and quantisation as defaults (--init.hidden.mu etc. set a fresh initialisation instead)",
    })
    .option('quant', { type: 'string', describe: 'float32 | int8 | int4: train with fake-quantised weights (straight-through), recorded in the model' })
    .option('clip-percentile', { type: 'number', describe: 'with --quant: percentile of |w| per layer mapped to the largest mantissa (100 = no clipping)' })
    .option('quant-rounding', { type: 'string', describe: 'with --quant and --init: calibrated (default: start from the calibrated rounding of the model, select epochs as calibrated) | nearest' })
    .option('train', { type: 'string', describe: 'training CSV (default: canonical Yin-Yang)' })
    .option('validation', { type: 'string', describe: 'validation CSV, used for model selection' })
    .option('test', { type: 'string', describe: 'test CSV, reported at the end' })
    .option('log', { type: 'string', describe: 'metrics CSV, rewritten after each epoch, and beside it the training curves (loss and accuracy per epoch) as SVG: same name, .svg' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue from OUT.ckpt.json (written after every epoch)' })
    .option('keep-checkpoint', { type: 'boolean', default: false, describe: 'keep OUT.ckpt.json after a successful run (by default it is removed once OUT is written)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no per-epoch output' });
}

/** `--hidden 200` or `--hidden 100,100` as a list of layer sizes. */
function parseHidden(value: unknown): unknown {
  if (typeof value === 'number') return [value];
  if (typeof value === 'string') {
    const sizes = value === '' ? [] : value.split(',').map((s) => Number(s.trim()));
    if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new UserError(`--hidden: expected layer sizes like 120 or 100,50, got '${value}'`);
    return sizes;
  }
  return value;
}

/** `--clip-percentile P`: a number in (0, 100]. */
function parseClipPercentile(value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 100)) {
    const got = typeof value === 'number' && !Number.isNaN(value) ? `'${value}'` : 'something that is not a number';
    throw new UserError(`--clip-percentile: expected a number in (0, 100] (100 clips nothing), got ${got}`);
  }
  return value;
}

/** `--quant-rounding calibrated|nearest`. */
function parseQuantRounding(value: unknown): string {
  if (value === 'calibrated' || value === 'nearest') return value;
  throw new UserError(`--quant-rounding: expected calibrated or nearest, got '${String(value)}'`);
}

/** `--quant int4`; `--quant float32` also means no clipping. */
function quantFlag(value: string): Record<string, unknown> {
  const type = parseQuant(value);
  return type === 'float32' ? { type, clipPercentile: 100 } : { type };
}

/**
 * `--init MODEL.json` (a model to train on from) or `--init.hidden.mu 3` etc. (the fresh initialisation,
 * a setting): the path, or undefined for none.
 */
export function initModelPath(args: Record<string, unknown>): string | undefined {
  const value = args.init;
  if (Array.isArray(value)) throw new UserError('--init: give either a model file (--init MODEL.json) or initialisation settings (--init.hidden.mu ...), not both');
  if (typeof value !== 'string') return undefined;
  if (value.trim() === '') throw new UserError(`--init: expected a model file to train on from, got ''`);
  return value;
}

/** The settings overridden on the command line, checked for unknown flags. */
function flagOverrides(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const positional = (args._ as unknown[] | undefined)?.slice(1) ?? [];
  if (positional.length) throw new UserError(`unexpected argument '${String(positional[0])}' (settings are flags, e.g. --epochs 10)`);
  for (const [key, value] of Object.entries(args)) {
    if (key === '_' || key === '$0' || key.includes('-') || value === undefined) continue;
    if (key === 'init' && initModelPath(args) !== undefined) continue; // a model file, not a setting
    if (key === 'quant') out.quant = mergeSettings(out.quant, typeof value === 'string' ? quantFlag(value) : value);
    else if (key === 'clipPercentile' || key === 'quantRounding') continue;
    else if (CONFIG_FLAGS.includes(key)) out[key] = key === 'hidden' ? parseHidden(value) : value;
    else if (!COMMAND_FLAGS.includes(key)) throw new UserError(`--${key}: unknown flag (settings: ${CONFIG_FLAGS.join(', ')}; see s2prop train --help)`);
  }
  // After --quant, which resets the percentile for float32 (an --init model's clipping has no meaning then).
  if (args.clipPercentile !== undefined) out.quant = mergeSettings(out.quant, { clipPercentile: parseClipPercentile(args.clipPercentile) });
  if (args.quantRounding !== undefined) out.quant = mergeSettings(out.quant, { rounding: parseQuantRounding(args.quantRounding) });
  return out;
}

/** The training config the flags ask for: preset <- the `--init` model's settings (when given) <- the config file <- flags. */
export function trainConfigFromArgs(args: TrainArgs, initModel?: ModelFile): TrainConfig {
  const overrides: unknown[] = [];
  if (initModel) overrides.push(modelSettings(initModel));
  if (args.config) overrides.push(readJsonFile(args.config));
  overrides.push(flagOverrides(args));
  return resolveConfig(args.preset, overrides, args.config ? `${args.config} (with flags)` : 'settings from flags');
}

/** What the training flags ask for: the model to train on from (`--init`), the config and the data. */
export function trainingFromArgs(args: TrainArgs): { init?: { path: string; model: ModelFile }; config: TrainConfig; data: DataSpec } {
  const initPath = initModelPath(args);
  const init = initPath === undefined ? undefined : { path: initPath, model: loadModel(initPath) };
  const config = trainConfigFromArgs(args, init?.model);
  const data = { train: args.train ?? CANONICAL_DATA.train, validation: args.validation ?? CANONICAL_DATA.validation, test: args.test ?? CANONICAL_DATA.test };
  return { ...(init ? { init } : {}), config, data };
}
