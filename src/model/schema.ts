import { z } from 'zod';

/**
 * The model file (format `s2prop-model`, version 1): the interchange format between training, the
 * gradient command, evaluation and (later) the exporter. Weights are laid out [inputs][outputs].
 * Only the keys below exist; optional ones may be left out by tools that write models.
 */

const positive = z.number().finite().positive();
const nonNegative = z.number().finite().nonnegative();
const int = z.number().int();

export const NeuronSchema = z
  .object({
    dtMs: positive,
    tauMemMs: positive,
    tauSynMs: positive,
    threshold: positive,
  })
  .strict();

/** The float32 constants actually used, written for the reader's information and checked on load. */
export const ConstantsSchema = z.object({ alpha: z.number(), beta: z.number(), oneMinusBeta: z.number() }).strict();

export const LossSchema = z
  .object({
    type: z.literal('ttfs-ce'),
    /** Softmax temperature xi, in steps. */
    xi: positive,
    /** Regulariser strength: R = alpha * (exp(t_c / tau1) - 1) (docs/contract.md "Loss"; not the neuron's alpha). */
    alpha: nonNegative,
    /** Regulariser time constant, in steps. */
    tau1: positive,
    /**
     * Silent-label nudge, outside the contract (docs/training-collapse.md): for each sample whose label
     * neuron gets no error, dL/dW_kc gains -nudge/B per spike of input k. Absent or 0: off.
     */
    nudge: nonNegative.optional(),
  })
  .strict();

export const EncodingSchema = z
  .object({
    type: z.literal('latency'),
    tMin: int.nonnegative(),
    tMax: int.nonnegative(),
    bias: z.boolean(),
  })
  .strict();

const finiteMatrix = z.array(z.array(z.number().finite()).min(1)).min(1);

export const LayerSchema = z.object({ weights: finiteMatrix }).strict();

/**
 * Weights as the chip runs them: per layer signed `type` mantissas with one power-of-two scale, chosen so
 * that the `clipPercentile` percentile of |w| fits the mantissa range (src/quant/quantise.ts). The stored
 * weights stay float (the master weights of quantisation-aware training); every reader runs the
 * dequantised ones.
 */
export const QuantisationSchema = z
  .object({
    type: z.enum(['int8', 'int4']),
    /** Percentile of |w| mapped to the largest mantissa; 100 clips nothing. */
    clipPercentile: z.number().gt(0).max(100),
  })
  .strict();

export const ProvenanceSchema = z
  .object({
    tool: z.string(),
    toolVersion: z.string(),
    preset: z.string().optional(),
    seed: int.optional(),
    epochs: int.optional(),
    bestEpoch: int.optional(),
    batch: int.optional(),
    backend: z.string().optional(),
    data: z.record(z.string(), z.string()).optional(),
    trainedOn: z.string().optional(),
    /** The model file training started from (`train --init`). */
    initModel: z.string().optional(),
    config: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const ModelSchema = z
  .object({
    format: z.literal('s2prop-model'),
    version: z.literal(1),
    steps: int.min(3),
    neuron: NeuronSchema,
    constants: ConstantsSchema.optional(),
    loss: LossSchema,
    encoding: EncodingSchema,
    /** Names of the input features (CSV columns), without the bias input. */
    features: z.array(z.string()).optional(),
    layers: z.array(LayerSchema).min(1),
    /** When present, the engine runs the dequantised weights (see QuantisationSchema). */
    quantisation: QuantisationSchema.optional(),
    provenance: ProvenanceSchema.optional(),
    metrics: z.record(z.string(), z.number()).optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (m.encoding.tMax > m.steps - 1) issue(['encoding', 'tMax'], `is ${m.encoding.tMax}, expected at most steps - 1 = ${m.steps - 1}`);
    if (m.encoding.tMin > m.encoding.tMax) issue(['encoding', 'tMin'], `is ${m.encoding.tMin}, expected at most tMax = ${m.encoding.tMax}`);
    // zod runs this even when `.min(1)` failed; an empty `layers` or `weights` is already reported.
    if (m.layers.length === 0 || m.layers.some((l) => l.weights.length === 0)) return;
    let expectedRows = m.layers[0].weights.length;
    m.layers.forEach((layer, l) => {
      const rows = layer.weights.length;
      if (rows !== expectedRows) {
        issue(['layers', l, 'weights'], `has ${rows} rows, expected ${expectedRows} (the outputs of layers[${l - 1}])`);
        return;
      }
      const cols = layer.weights[0].length;
      layer.weights.forEach((row, k) => {
        if (row.length !== cols) issue(['layers', l, 'weights', k], `has ${row.length} entries, expected ${cols} like row 0`);
      });
      expectedRows = cols;
    });
    const inputs = m.layers[0].weights.length;
    if (m.encoding.bias && inputs < 2) issue(['layers', 0, 'weights'], `has ${inputs} rows, expected at least 2 (features plus the bias input)`);
    if (m.features && m.features.length !== inputs - (m.encoding.bias ? 1 : 0)) {
      issue(['features'], `names ${m.features.length} features, expected ${inputs - (m.encoding.bias ? 1 : 0)} (rows of layers[0] less the bias input)`);
    }
  });

export type ModelFile = z.output<typeof ModelSchema>;
export type LossSettings = z.output<typeof LossSchema>;
export type Quantisation = z.output<typeof QuantisationSchema>;
