import { z } from 'zod';
import { SettingError, UserError } from '../errors.js';
import { parseWith } from '../formats/validate.js';
import { LossSchema, NeuronSchema, type ModelFile } from './schema.js';

/**
 * Everything a training run depends on. A preset is one of these; `--config FILE.json` and flags
 * (`--optimiser.lr 0.003`, `--loss.xi 1`, `--hidden 200` ...) override parts of it, and the result is
 * validated here before anything runs.
 */

const positive = z.number().finite().positive();
const int = z.number().int();

const InitScaleSchema = z.object({ mu: z.number().finite(), sigma: z.number().finite().nonnegative() }).strict();

export const OptimiserSchema = z
  .object({
    type: z.enum(['adam', 'sgd']),
    lr: positive,
    /** L2 weight decay added to the gradient before the update: g + wd * W. */
    weightDecay: z.number().finite().nonnegative(),
    /** Learning-rate factor per epoch, applied smoothly per batch as gamma^(1/batchesPerEpoch). */
    gamma: z.number().finite().positive().max(1),
    beta1: z.number().min(0).lt(1),
    beta2: z.number().min(0).lt(1),
    eps: positive,
    /** SGD momentum (PyTorch convention: v = m v + g; W -= lr v). */
    momentum: z.number().min(0).lt(1),
  })
  .strict();

/**
 * Quantisation-aware training: `float32` trains float weights; `int8` / `int4` run every forward and
 * backward pass (and the validation) with the dequantised weights of the float master weights, and apply
 * the gradient to the master weights unchanged (straight-through). The model written records it.
 */
export const QuantSettingsSchema = z
  .object({
    type: z.enum(['float32', 'int8', 'int4']),
    /** Percentile of |w| mapped to the largest mantissa, per layer; 100 clips nothing. */
    clipPercentile: z.number().gt(0, 'expected a number in (0, 100]').max(100, 'expected a number in (0, 100]'),
    /**
     * Training on from a model (`--init`): `calibrated` starts from its calibrated rounding (each layer's
     * exponent and the mantissas chosen on the training split, src/quant/calibrated-rounding.ts; the
     * exponents then stay fixed), and the start (epoch 0) and every epoch compete for selection as their
     * calibrated rounding, the network a calibrated export runs; `nearest` starts from the model's weights
     * as they are, with the percentile rule every batch, and selects on round-to-nearest.
     */
    rounding: z.enum(['calibrated', 'nearest']).default('calibrated'),
  })
  .strict();

export type QuantSettings = z.output<typeof QuantSettingsSchema>;

export const NO_QUANT: QuantSettings = { type: 'float32', clipPercentile: 100, rounding: 'calibrated' };

export const TrainConfigSchema = z
  .object({
    preset: z.string(),
    /** Hidden layer sizes; inputs and outputs come from the data. */
    hidden: z.array(int.min(1)),
    steps: int.min(3, 'expected at least 3 steps (T >= 3)'),
    neuron: NeuronSchema,
    loss: LossSchema,
    /** `tMax` null or absent: steps - 1 (a sweep over steps then keeps the inputs spread over the window). */
    encoding: z
      .object({ type: z.literal('latency'), tMin: int.nonnegative(), tMax: int.nonnegative().nullable().optional(), bias: z.boolean() })
      .strict(),
    init: z.object({ hidden: InitScaleSchema, output: InitScaleSchema }).strict(),
    optimiser: OptimiserSchema,
    batch: int.min(1),
    epochs: int.min(1),
    seed: int.nonnegative(),
    /** Evaluation batch size (does not change any number, only speed and memory). */
    evalBatch: int.min(1),
    /** Absent in settings written before quantisation-aware training existed: float32. */
    quant: QuantSettingsSchema.default(NO_QUANT),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.quant.type === 'float32' && c.quant.clipPercentile !== 100) {
      ctx.addIssue({
        code: 'custom',
        path: ['quant', 'clipPercentile'],
        message: `is ${c.quant.clipPercentile}, expected 100 with quant.type float32 (clipping needs quant.type int8 or int4)`,
      });
    }
    const tMax = c.encoding.tMax ?? c.steps - 1;
    if (tMax > c.steps - 1) ctx.addIssue({ code: 'custom', path: ['encoding', 'tMax'], message: `is ${tMax}, expected at most steps - 1 = ${c.steps - 1}` });
    if (c.encoding.tMin > tMax) ctx.addIssue({ code: 'custom', path: ['encoding', 'tMin'], message: `is ${c.encoding.tMin}, expected at most tMax = ${tMax}` });
  });

export type TrainConfig = z.output<typeof TrainConfigSchema>;

/**
 * Settings renamed since files were written with them: the old name is still read (config files, flags,
 * sweep spaces, models' stored settings, checkpoints, chip configs) and means the new one. Only here.
 */
export const RENAMED_SETTINGS: ReadonlyMap<string, string> = new Map([['optimizer', 'optimiser']]);

/** A setting's name (top-level key, or dotted path) with a renamed first key in its current name. */
export function currentSettingName(name: string): string {
  const [first, ...rest] = name.split('.');
  return [RENAMED_SETTINGS.get(first) ?? first, ...rest].join('.');
}

/** Settings (an object of any part of the config) with renamed keys in their current names (a copy). */
export function withCurrentNames<T>(settings: T): T {
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) return settings;
  const out: Record<string, unknown> = {};
  // Old names first, so that where both are given the current name's settings win.
  const entries = Object.entries(settings).sort(([a], [b]) => Number(!RENAMED_SETTINGS.has(a)) - Number(!RENAMED_SETTINGS.has(b)));
  for (const [k, v] of entries) {
    const name = RENAMED_SETTINGS.get(k) ?? k;
    const value = Object.hasOwn(out, name) ? mergeSettings(out[name], v) : v;
    Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return out as T;
}

const TWIN: TrainConfig = {
  preset: 'twin',
  hidden: [120],
  steps: 27,
  neuron: { dtMs: 1, tauMemMs: 20, tauSynMs: 5, threshold: 1 },
  loss: { type: 'ttfs-ce', xi: 1.5, alpha: 0.01, tau1: 100 },
  encoding: { type: 'latency', tMin: 2, tMax: 26, bias: true },
  init: { hidden: { mu: 3.2, sigma: 3.2 }, output: { mu: 5.2, sigma: 2.8 } },
  optimiser: { type: 'adam', lr: 0.0019, weightDecay: 6.5e-7, gamma: 0.95, beta1: 0.9, beta2: 0.999, eps: 1e-8, momentum: 0.9 },
  batch: 22,
  epochs: 40,
  seed: 0,
  evalBatch: 250,
  quant: { ...NO_QUANT },
};

/**
 * The exact-EventProp network, window and encoding (Wunderlich & Pehle: 5-200-3, inputs over 0-30 ms, a
 * 40 ms window), run with this discretisation at a step of 0.25 ms (at 1 ms the published loss
 * settings are sharper than the time grid and the network reaches about 90 %).
 *
 * Departures from the published table, because the output layer can fall silent and a silent label
 * neuron gets no error under the contract (docs/training-collapse.md):
 * - the silent-label nudge, loss.nudge 0.01 (off-chip only: export --train refuses it, --without-nudge
 *   drops it): with it no seed collapses, and a collapsed network recovers;
 * - the loss, optimiser, initialisation, batch and 40 epochs of trial 50 of the worst-seed sweep exact-1
 *   (selected on seeds 100-103; results/sweep/exact-1/summary.md), instead of the table's (xi 2 steps =
 *   0.5 ms, alpha 0.003, tau1 25.6 steps, Adam 0.005, gamma 0.95, batch 32, the twin's initialisation,
 *   100 epochs): the table's settings with the nudge reach 97.39 ± 0.47 % over 10 seeds, these
 *   97.73 ± 0.47 % (results/accuracy.md). Trained longer, these drift: at 100 epochs one seed in ten
 *   ends 1.3 points below its best validation epoch.
 */
const EXACT: TrainConfig = {
  ...TWIN,
  preset: 'exact',
  hidden: [200],
  steps: 160,
  neuron: { ...TWIN.neuron, dtMs: 0.25 },
  loss: { type: 'ttfs-ce', xi: 1.453369949494499, alpha: 0.018711348561721648, tau1: 36.86510670296616, nudge: 0.01 },
  encoding: { type: 'latency', tMin: 0, tMax: 120, bias: true },
  init: { hidden: { mu: 3.1607767514304825, sigma: 2.616763755862815 }, output: { mu: 4.087011390027261, sigma: 3.06814495894498 } },
  optimiser: { ...TWIN.optimiser, lr: 0.0037439140092151903, weightDecay: 0, gamma: 0.9584415754797135 },
  batch: 40,
  epochs: 40,
};

export const PRESETS: Record<string, TrainConfig> = { twin: TWIN, exact: EXACT };

export function presetConfig(name: string): TrainConfig {
  const preset = PRESETS[name];
  if (!preset) throw new SettingError('preset', undefined, `unknown preset '${name}' (expected one of ${Object.keys(PRESETS).join(', ')})`);
  return structuredClone(preset);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merge `override` into `base` (objects merge, everything else replaces). */
export function mergeSettings(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = mergeSettings(base[k], v);
  return out;
}

/** Preset, then the config file, then flags; validated as a whole. `source` names it in errors. */
export function resolveConfig(presetName: string, overrides: unknown[], source: string): TrainConfig {
  let merged: unknown = presetConfig(presetName);
  for (const o of overrides) merged = mergeSettings(merged, withCurrentNames(o));
  return parseWith(TrainConfigSchema, merged, source);
}

/**
 * The settings a model file fixes, as defaults for training from it (`train --init`): hidden sizes,
 * steps, neuron, loss, encoding and its quantisation. They sit between the preset and the config file.
 */
export function modelSettings(model: ModelFile): Record<string, unknown> {
  return {
    hidden: model.layers.slice(0, -1).map((l) => l.weights[0].length),
    steps: model.steps,
    neuron: { ...model.neuron },
    loss: { ...model.loss },
    encoding: { ...model.encoding },
    ...(model.quantisation ? { quant: { ...model.quantisation } } : {}),
  };
}

/**
 * Check that `config` can train on from `model` (named `name` in the error): the hidden sizes, steps,
 * neuron and encoding, which give the weights their meaning, must agree. The loss may differ (it is the
 * objective of the new training, and the model written records it).
 */
export function checkModelAgrees(model: ModelFile, config: TrainConfig, name: string): void {
  const fixed = modelSettings(model) as Pick<TrainConfig, 'hidden' | 'steps' | 'neuron'> & { encoding: ModelFile['encoding'] };
  const pairs: [string, unknown, unknown][] = [
    ['hidden layers', fixed.hidden.join(','), config.hidden.join(',')],
    ['steps', fixed.steps, config.steps],
    ...(Object.keys(fixed.neuron) as (keyof TrainConfig['neuron'])[]).map((k): [string, unknown, unknown] => [`neuron.${k}`, fixed.neuron[k], config.neuron[k]]),
    ['encoding.tMin', fixed.encoding.tMin, config.encoding.tMin],
    ['encoding.tMax', fixed.encoding.tMax, config.encoding.tMax ?? config.steps - 1],
    ['encoding.bias', fixed.encoding.bias, config.encoding.bias],
  ];
  for (const [what, inModel, inSettings] of pairs) {
    if (inModel !== inSettings) {
      throw new UserError(
        `${name}: the model has ${what} ${String(inModel)}, the settings ask for ${String(inSettings)} ` +
          `(training on from a model takes its settings as defaults: leave that one out or make it agree)`,
      );
    }
  }
}

/**
 * The optimiser and batch a model was trained with: its own training settings when its provenance has
 * them (a model written by s2prop train or init), else its preset's, else the twin preset's.
 */
export function optimiserOf(model: ModelFile): { optimiser: z.output<typeof OptimiserSchema>; batch: number } {
  const stored = withCurrentNames(model.provenance?.config);
  const preset = PRESETS[model.provenance?.preset ?? 'twin'] ?? PRESETS.twin;
  const parsed = OptimiserSchema.safeParse(stored?.optimiser);
  return { optimiser: parsed.success ? parsed.data : preset.optimiser, batch: typeof stored?.batch === 'number' ? stored.batch : preset.batch };
}
