import { MT19937 } from '../data/mt19937.js';
import type { ModelFile } from './schema.js';
import type { TrainConfig } from './train-config.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

/**
 * A fresh model: per layer W ~ Normal(mu / sqrt(N_in), sigma / sqrt(N_in)) (docs/contract.md, "Weight
 * initialisation"), hidden layers with `init.hidden`, the output layer with `init.output`. Draws come
 * from MT19937 seeded with `seed` (numpy's legacy standard normal), row by row, rounded to float32.
 * With `quant` int8 or int4 the model records its quantisation (the engine then runs it quantised).
 */
export function initModel(config: TrainConfig, inputs: number, outputs: number, features?: string[]): ModelFile {
  const rng = new MT19937(config.seed);
  const sizes = [inputs, ...config.hidden, outputs];
  const layers = sizes.slice(1).map((nOut, l) => {
    const nIn = sizes[l];
    const { mu, sigma } = l === sizes.length - 2 ? config.init.output : config.init.hidden;
    const scale = 1 / Math.sqrt(nIn);
    const weights = Array.from({ length: nIn }, () =>
      Array.from({ length: nOut }, () => Math.fround(mu * scale + sigma * scale * rng.gauss())),
    );
    return { weights };
  });
  return {
    format: 's2prop-model',
    version: 1,
    steps: config.steps,
    neuron: { ...config.neuron },
    loss: { ...config.loss },
    encoding: { type: 'latency', tMin: config.encoding.tMin, tMax: config.encoding.tMax ?? config.steps - 1, bias: config.encoding.bias },
    ...(features ? { features } : {}),
    layers,
    ...(config.quant.type === 'float32' ? {} : { quantisation: { type: config.quant.type, clipPercentile: config.quant.clipPercentile } }),
    provenance: { tool: TOOL_NAME, toolVersion: TOOL_VERSION, preset: config.preset, seed: config.seed, epochs: 0 },
  };
}
