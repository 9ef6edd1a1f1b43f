import { z } from 'zod';
import { inFile } from '../errors.js';
import { parseWith } from '../formats/validate.js';
import { EncodingSchema, LossSchema, NeuronSchema, type ModelFile } from '../model/schema.js';
import { PRESETS } from '../model/train-config.js';

/**
 * The parts of a model file that a NIR graph has no place for: the time window, the input encoding, the
 * loss and the feature names. s2prop's exports keep them as one JSON string in the graph's metadata
 * (key `s2prop_settings`); a file from another tool has none, and the importer uses the twin preset's
 * (steps 27, latency code from step 2, its loss) with the flags' overrides.
 *
 * The string also holds the model's neuron settings in milliseconds, because seconds written as float64
 * cannot always give the same float64 milliseconds back (x / 1000 * 1000 differs from x in the last bit
 * for about 1 % of doubles). The importer uses them only where the mapping turns them into exactly the
 * graph's values (an edited graph wins; see import.ts).
 */
export const SETTINGS_KEY = 's2prop_settings';

export const NirSettingsSchema = z
  .object({
    steps: z.number().int().min(3),
    encoding: EncodingSchema,
    loss: LossSchema,
    features: z.array(z.string()).optional(),
    neuron: NeuronSchema.optional(),
  })
  .strict();

export type NirSettings = z.output<typeof NirSettingsSchema>;

export function settingsOf(model: ModelFile): NirSettings {
  return { steps: model.steps, encoding: model.encoding, loss: model.loss, ...(model.features ? { features: model.features } : {}), neuron: model.neuron };
}

export interface SettingsOverrides {
  steps?: number;
  /** The last input is the always-on bias input (Yin-Yang's fifth input). */
  bias?: boolean;
}

/** Settings from the metadata string when present, else the twin preset's; flags win over both. */
export function settingsFor(metadataValue: string | number | undefined, overrides: SettingsOverrides, file: string): NirSettings {
  let base: NirSettings;
  if (metadataValue === undefined) {
    const twin = PRESETS.twin;
    const steps = overrides.steps ?? twin.steps;
    base = { steps, encoding: { type: 'latency', tMin: twin.encoding.tMin, tMax: steps - 1, bias: false }, loss: { ...twin.loss } };
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(metadataValue));
    } catch {
      throw inFile(file, `node/metadata/${SETTINGS_KEY} is not valid JSON`);
    }
    base = parseWith(NirSettingsSchema, parsed, `${file}: node/metadata/${SETTINGS_KEY}`);
  }
  const steps = overrides.steps ?? base.steps;
  const encoding = { ...base.encoding, ...(overrides.steps !== undefined ? { tMax: Math.min(base.encoding.tMax, steps - 1) } : {}), ...(overrides.bias !== undefined ? { bias: overrides.bias } : {}) };
  // Feature names no longer match when --bias changes the inputs' meaning.
  const { features, ...rest } = base;
  return { ...rest, steps, encoding, ...(features && overrides.bias === undefined ? { features } : {}) };
}
