import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { inFile } from '../../errors.js';
import { formatPath, parseWith, readTextFile } from '../../formats/validate.js';
import { currentSettingName, PRESETS, TrainConfigSchema, mergeSettings, resolveConfig, type TrainConfig } from '../../model/train-config.js';
import { gridSize } from '../sampler/grid.js';
import type { ParamSpec, Params } from '../types.js';

/**
 * The search space file (format `s2prop-space`, version 1, YAML or JSON): the training config the
 * parameters override, the objective, the budget, the sampler, the pruner and the parameters, each named
 * by the dotted path of the setting it overrides (`optimiser.lr`).
 */

const finite = z.number().finite();
const int = z.number().int();

const UniformSchema = z.object({ type: z.literal('uniform'), low: finite, high: finite }).strict();
const LogUniformSchema = z
  .object({ type: z.literal('loguniform'), low: finite.positive('expected a number > 0 (log scale)'), high: finite })
  .strict();
const IntSchema = z.object({ type: z.literal('int'), low: int, high: int, step: int.min(1).optional() }).strict();
const ChoiceSchema = z.union([finite, z.string(), z.boolean(), z.array(finite)], { error: () => 'expected a number, a string, a boolean or a list of numbers' });
const CategoricalSchema = z
  .object({ type: z.literal('categorical'), choices: z.array(ChoiceSchema).min(1, 'expected at least one choice') })
  .strict();
const FixedSchema = z.object({ type: z.literal('fixed'), value: z.unknown() }).strict();

const PARAM_TYPES = ['uniform', 'loguniform', 'int', 'categorical', 'fixed'] as const;

export const ParamSpecSchema = z
  .discriminatedUnion('type', [UniformSchema, LogUniformSchema, IntSchema, CategoricalSchema, FixedSchema], {
    error: () => `expected one of ${PARAM_TYPES.join(', ')}`,
  })
  .superRefine((p, ctx) => {
    if (p.type === 'uniform' || p.type === 'loguniform' || p.type === 'int') {
      if (!(p.low < p.high)) ctx.addIssue({ code: 'custom', path: ['high'], message: `is ${p.high}, expected more than low = ${p.low} (use type fixed for one value)` });
    }
    if (p.type === 'int' && p.step !== undefined && (p.high - p.low) % p.step !== 0) {
      ctx.addIssue({ code: 'custom', path: ['high'], message: `is ${p.high}, expected low + a multiple of step (${p.low}, ${p.low + p.step}, ${p.low + 2 * p.step}, ...)` });
    }
    if (p.type === 'categorical') {
      const seen = new Set<string>();
      p.choices.forEach((c, i) => {
        const key = JSON.stringify(c);
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['choices', i], message: `${key} appears twice, expected distinct choices` });
        seen.add(key);
      });
    }
    if (p.type === 'fixed' && p.value === undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: 'is missing' });
  });

// The schema's output is the shared ParamSpec (checked here, at compile time).
const specIsParamSpec: (p: z.output<typeof ParamSpecSchema>) => ParamSpec = (p) => p;
void specIsParamSpec;

/** A parameter name: dotted identifiers, each the key of an object in the training config. */
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

const SamplerSchema = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('grid') }).strict(),
    z.object({ type: z.literal('random'), seed: int.min(0).max(0xffffffff).default(0) }).strict(),
    z
      .object({
        type: z.literal('tpe'),
        seed: int.min(0).max(0xffffffff).default(0),
        /** Finished trials (complete or pruned) sampled at random before the estimator takes over. */
        startupTrials: int.min(0).default(10),
        /** Candidates drawn from the good estimator per parameter; the best l(x)/g(x) wins. */
        nCandidates: int.min(1).default(24),
      })
      .strict(),
  ],
  { error: () => 'expected one of grid, random, tpe' },
);

const PrunerSchema = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('none') }).strict(),
    z
      .object({
        type: z.literal('median'),
        /** No pruning at epochs 1..warmupEpochs. */
        warmupEpochs: int.min(0).default(0),
        /** Other trials that must have reached the epoch before the median means anything. */
        minTrials: int.min(1).default(5),
      })
      .strict(),
    z
      .object({
        type: z.literal('asha'),
        /** The first rung; the others at minEpochs * reductionFactor^k. */
        minEpochs: int.min(1).default(1),
        reductionFactor: int.min(2).default(3),
      })
      .strict(),
  ],
  { error: () => 'expected one of none, median, asha' },
);

export const SearchSpaceSchema = z
  .object({
    format: z.literal('s2prop-space', 'expected s2prop-space'),
    version: z.literal(1, 'expected 1 (the space file version this s2prop reads)'),
    base: z
      .object({
        preset: z.string().refine((p) => Object.hasOwn(PRESETS, p), { message: `expected one of ${Object.keys(PRESETS).join(', ')}` }),
        /** Any training config keys, merged onto the preset (as `train --config` would). */
        settings: z.record(z.string(), z.unknown()).default({}),
      })
      .strict(),
    objective: z
      .object({
        metric: z.enum(['validationAccuracy', 'validationLoss']),
        direction: z.enum(['maximize', 'minimize']),
        /**
         * Seeds per trial (the base config's seed and the next ones); the objective is their mean, per
         * epoch for pruning. Absent: 1 (left out, not defaulted, so studies stored before it still match).
         */
        seeds: int.min(1, 'expected at least 1 seed per trial').optional(),
        /**
         * How the seeds' values make the trial's (each seed's best epoch) and each epoch's (for pruning):
         * their mean, or the worst seed's, which ranks and prunes a configuration by its failures (a seed
         * that collapses). Absent: mean.
         */
        seedAggregate: z.enum(['mean', 'worst']).optional(),
      })
      .strict()
      .superRefine((o, ctx) => {
        const expected = o.metric === 'validationAccuracy' ? 'maximize' : 'minimize';
        if (o.direction !== expected) ctx.addIssue({ code: 'custom', path: ['direction'], message: `is ${o.direction}, expected ${expected} for ${o.metric}` });
      }),
    budget: z
      .object({
        trials: int.min(1, 'expected at least 1 trial'),
        /** Epochs of a trial that is not pruned. */
        epochs: int.min(1, 'expected at least 1 epoch'),
        /** Wall-clock limit of the whole sweep; none when absent. */
        seconds: finite.positive().optional(),
      })
      .strict(),
    sampler: SamplerSchema,
    pruner: PrunerSchema.default({ type: 'none' }),
    parameters: z.record(z.string(), ParamSpecSchema),
  })
  .strict()
  .superRefine((s, ctx) => {
    const names = Object.keys(s.parameters);
    if (names.length === 0) ctx.addIssue({ code: 'custom', path: ['parameters'], message: 'expected at least one parameter' });
    for (const a of names) {
      if (!PARAM_NAME.test(a)) ctx.addIssue({ code: 'custom', path: ['parameters', a], message: 'is not a setting name, expected a dotted path such as optimiser.lr' });
      const inside = names.find((b) => b.startsWith(`${a}.`));
      if (inside) ctx.addIssue({ code: 'custom', path: ['parameters', a], message: `overlaps ${inside}, expected each setting in one parameter only` });
    }
    if (s.sampler.type === 'grid') {
      for (const [name, p] of Object.entries(s.parameters)) {
        if (p.type === 'uniform' || p.type === 'loguniform') {
          ctx.addIssue({
            code: 'custom',
            path: ['parameters', name, 'type'],
            message: `is ${p.type}, which a grid cannot enumerate: expected int, categorical or fixed with sampler.type grid (or use random or tpe)`,
          });
        }
      }
      const size = Object.values(s.parameters).every((p) => p.type !== 'uniform' && p.type !== 'loguniform') ? gridSize(s) : Infinity;
      if (s.budget.trials > size) {
        ctx.addIssue({ code: 'custom', path: ['budget', 'trials'], message: `is ${s.budget.trials}, expected at most ${size} (the grid's combinations; more would repeat them)` });
      }
    }
  });

export type SearchSpace = z.output<typeof SearchSpaceSchema>;
export type SamplerSettings = SearchSpace['sampler'];
export type PrunerSettings = SearchSpace['pruner'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{'optimiser.lr': 0.003, hidden: [60]}` -> `{optimiser: {lr: 0.003}, hidden: [60]}`, to merge onto the base config. */
export function paramsToSettings(params: Params): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) {
    const keys = currentSettingName(name).split('.');
    let node = out;
    for (const key of keys.slice(0, -1)) {
      if (!Object.hasOwn(node, key)) Object.defineProperty(node, key, { value: {}, enumerable: true, writable: true, configurable: true });
      const next = node[key];
      if (!isPlainObject(next)) throw new Error(`paramsToSettings: ${name} runs into a parameter that sets ${key} whole`);
      node = next;
    }
    const leaf = keys[keys.length - 1];
    if (Object.hasOwn(node, leaf)) throw new Error(`paramsToSettings: ${name} is set twice`);
    Object.defineProperty(node, leaf, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A fraction that makes no round number of round ends (the golden section). */
const INSIDE = (3 - Math.sqrt(5)) / 2;

/**
 * The values checked against the training config before any trial runs: the ends, and for continuous
 * parameters a point inside that is not round (so that a uniform over an integer setting shows).
 */
function representativeValues(p: ParamSpec): unknown[] {
  switch (p.type) {
    case 'uniform':
      return [p.low, p.low + (p.high - p.low) * INSIDE, p.high];
    case 'loguniform':
      return [p.low, p.low * Math.pow(p.high / p.low, INSIDE), p.high];
    case 'int':
      return [p.low, p.high];
    case 'categorical':
      return p.choices;
    case 'fixed':
      return [p.value];
  }
}

/**
 * Check that every parameter names a setting of the base config and that its values fit that setting's
 * type and range (on their own: limits between settings, such as steps and encoding.tMax, are left to
 * the trials, as a combination of parameters may satisfy them).
 */
function checkParameters(space: SearchSpace, base: TrainConfig, fileName: string): void {
  for (const [name, spec] of Object.entries(space.parameters)) {
    const where = `parameters.${name}`;
    let node: unknown = base;
    const keys = currentSettingName(name).split('.');
    keys.forEach((key, i) => {
      if (!isPlainObject(node) || !Object.hasOwn(node, key)) {
        const parent = keys.slice(0, i).join('.') || 'the training config';
        const has = isPlainObject(node) ? ` (${parent} has ${Object.keys(node).join(', ')})` : ` (${parent} is not an object)`;
        throw inFile(fileName, `${where}: not a setting of the training config${has}`);
      }
      node = node[key];
    });
    for (const value of representativeValues(spec)) {
      const result = TrainConfigSchema.safeParse(mergeSettings(base, paramsToSettings({ [name]: value })));
      if (result.success) continue;
      // Only this setting's own problems (an unknown key inside an object value is reported at the object).
      const own = result.error.issues.find((iss) => keys.every((k, i) => iss.path[i] === k));
      if (own) {
        const message = own.code === 'unrecognized_keys' ? `unknown key ${own.keys[0]}` : own.message.replace(/^Invalid input: /, '');
        throw inFile(fileName, `${where}: the value ${JSON.stringify(value)} does not fit the training config (${formatPath(own.path)}: ${message})`);
      }
    }
  }
}

/** Validate a parsed space file; `fileName` names it in errors. */
export function parseSpace(data: unknown, fileName: string): SearchSpace {
  const space = parseWith(SearchSpaceSchema, data, fileName);
  const base = resolveConfig(space.base.preset, [space.base.settings], `${fileName}: base.settings`);
  checkParameters(space, base, fileName);
  return space;
}

/** Read a space file: JSON for `.json`, YAML otherwise. */
export function loadSpaceFile(path: string): SearchSpace {
  const text = readTextFile(path);
  const json = extname(path).toLowerCase() === '.json';
  let data: unknown;
  try {
    data = json ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    throw inFile(path, `not valid ${json ? 'JSON' : 'YAML'} (${first})`);
  }
  return parseSpace(data, path);
}
