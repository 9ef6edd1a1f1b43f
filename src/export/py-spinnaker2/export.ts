import type { Dataset } from '../../data/dataset.js';
import { encodeDataset } from '../../data/encoding.js';
import { checkDatasetFits } from '../../data/sources.js';
import { toJsonText } from '../../io/json.js';
import { layerSizes, modelInputs, modelOutputs } from '../../model/model-file.js';
import type { ModelFile } from '../../model/schema.js';
import type { LayerQuantisation, QuantType } from '../../quant/quantise.js';
import { TOOL_NAME, TOOL_VERSION } from '../../version.js';
import { CHIP_WEIGHT_MAX, mapNetwork, type PyS2Layer, type PyS2Network } from './mapping.js';
import { folderReadme } from './readme.js';
import { RUN_PY } from './script.js';

/**
 * A py-spinnaker2 export folder:
 *   run.py           builds the network with py-spinnaker2, runs every sample, prints the accuracy
 *   network.json     populations, neuron parameters, weight files and scales, timesteps
 *   weights/*.csv    one per layer: [inputs][outputs], integers in the chip's range (float32: decimals)
 *   inputs.csv       per sample: the label and the step at which each input spikes (latency code)
 *   README.md        how to run it and what maps to what
 */

export interface PyS2ExportOptions {
  quant: QuantType;
  /** The quantised layers (null for float32) and how they were chosen. */
  quantised: LayerQuantisation[] | null;
  rounding: string;
  clipPercentile: number;
  /** The samples whose latency-coded input spikes are written to inputs.csv. */
  data: Dataset;
}

export interface PyS2Export {
  files: Map<string, string>;
  network: PyS2Network;
  samples: number;
}

/** Numbers in JavaScript's shortest round-trip form, which Python's float() reads back to the same double. */
function matrixCsv(layer: PyS2Layer): string {
  const lines: string[] = [];
  for (let k = 0; k < layer.rows; k++) lines.push(Array.from(layer.weights.subarray(k * layer.cols, (k + 1) * layer.cols), String).join(','));
  return lines.join('\n') + '\n';
}

export function exportPySpinnaker2(model: ModelFile, opts: PyS2ExportOptions): PyS2Export {
  const network = mapNetwork(model, opts.quant, opts.quantised);
  const features = model.features ?? modelInputs(model) - (model.encoding.bias ? 1 : 0);
  checkDatasetFits(opts.data, features, modelOutputs(model));
  const enc = { steps: model.steps, ...model.encoding };
  const encoded = encodeDataset(opts.data, enc);
  const inputNames = [...opts.data.featureNames, ...(model.encoding.bias ? ['bias'] : [])];
  const n = network.inputSize;
  const inputRows = [['label', ...inputNames].join(',')];
  for (let s = 0; s < opts.data.count; s++) inputRows.push([opts.data.labels[s], ...encoded.subarray(s * n, (s + 1) * n)].join(','));

  const files = new Map<string, string>();
  const layerFiles = network.layers.map((_, l) => `weights/layer${l + 1}.csv`);
  network.layers.forEach((layer, l) => files.set(layerFiles[l], matrixCsv(layer)));
  files.set('inputs.csv', inputRows.join('\n') + '\n');
  files.set(
    'network.json',
    toJsonText({
      format: 's2prop-py-spinnaker2',
      version: 1,
      tool: TOOL_NAME,
      toolVersion: TOOL_VERSION,
      quant: opts.quant,
      rounding: opts.quant === 'float32' ? 'none' : opts.rounding,
      clipPercentile: opts.clipPercentile,
      timesteps: network.timesteps,
      stepMs: model.neuron.dtMs,
      input: { size: n, names: inputNames, spikes: 'inputs.csv', samples: opts.data.count, data: opts.data.source, encoding: model.encoding },
      layers: network.layers.map((layer, l) => ({
        name: layer.name,
        size: layer.size,
        rows: layer.rows,
        neuron_model: layer.neuronModel,
        params: layer.params,
        weights: layerFiles[l],
        weight_scale: layer.weightScale,
        weight_exp: layer.exp,
        weight_range: opts.quant === 'float32' ? null : [-CHIP_WEIGHT_MAX, CHIP_WEIGHT_MAX],
        delay: layer.delay,
      })),
      model: { sizes: layerSizes(model), steps: model.steps, neuron: model.neuron, encoding: model.encoding, provenance: model.provenance ?? null },
    }),
  );
  files.set('run.py', RUN_PY);
  files.set('README.md', folderReadme(model, network, opts));
  return { files, network, samples: opts.data.count };
}
