import type { ModelFile } from '../../model/schema.js';
import type { PyS2Network } from './mapping.js';
import type { PyS2ExportOptions } from './export.js';

/** README.md of a py-spinnaker2 export folder: what is in it, how to run it, what maps to what. */
export function folderReadme(model: ModelFile, network: PyS2Network, opts: PyS2ExportOptions): string {
  const sizes = [network.inputSize, ...network.layers.map((l) => l.size)];
  const float = opts.quant === 'float32';
  const layerRows = network.layers.map(
    (l, i) =>
      `| ${l.name} | ${l.size} | \`${l.neuronModel}\` | ${l.params.threshold} | ${l.params.alpha_decay} | ${l.params.exc_decay} | ${float ? '1 (float weights)' : `2^${l.exp} = ${l.weightScale}`} | \`weights/layer${i + 1}.csv\` |`,
  );
  return `# ${sizes.join('-')} spiking network for py-spinnaker2

Written by \`s2prop export --target py-spinnaker2\` (${opts.quant} weights${float ? '' : `, ${opts.rounding} rounding, clip percentile ${opts.clipPercentile}`}).
The network is a ${model.steps}-step, ${model.neuron.dtMs} ms-per-step LIF network trained with EventProp; this folder rebuilds it
with [py-spinnaker2](https://github.com/SpiNNaker2/py-spinnaker2), runs every sample, reads the output spikes back,
predicts the class whose output neuron spikes first and prints the accuracy.

## Run it

\`\`\`sh
# first install py-spinnaker2 as its README says (it brings numpy; the software backend needs Brian2)
python3 run.py --backend chip --ip 192.168.1.25         # a SpiNNaker2 chip reachable at that address
python3 run.py --backend software                       # py-spinnaker2's software (Brian2) backend
python3 run.py --backend chip --ip 192.168.1.25 --samples 50 --save first-spikes.csv --quiet
\`\`\`
${float ? '\nThis export has float32 weights: the chip takes integer weights only, so run it on the software backend,\nor export again with `--quant int8` (or `int4`) for the chip.\n' : ''}
\`--save FILE\` writes, per sample, the label, the prediction and the first-spike timestep of every output neuron
(\`${model.steps}\` for a neuron that stays silent), to compare with \`s2prop\`'s own engine and chip simulator.

## Files

| file | holds |
|---|---|
| \`run.py\` | the script (Python standard library and py-spinnaker2 only) |
| \`network.json\` | populations, neuron parameters, weight files, weight scales, timesteps |
| \`weights/layerN.csv\` | the weights into layer N: one line per input neuron, one column per neuron of the layer${float ? ' (float32 values)' : `, integers in [-127, 127]`} |
| \`inputs.csv\` | per sample: the label, then the timestep at which each input spikes (${opts.data.count} samples of \`${opts.data.source}\`) |
| \`s2prop-manifest.json\` | the files s2prop wrote here (an export replaces this folder only when it holds nothing else) |

## What maps to what

Inputs: one \`spike_list\` population of ${network.inputSize} sources; each feature value v in [0, 1] spikes once, at step
round(tMin + (tMax - tMin)(1 - v)) (tMin ${model.encoding.tMin}, tMax ${model.encoding.tMax}, half to even)${model.encoding.bias ? '; the last input is a bias input that spikes at step 0' : ''}.

| population | neurons | model | threshold | alpha_decay | exc_decay = inh_decay | weight scale | weights |
|---|---|---|---|---|---|---|---|
${layerRows.join('\n')}

Every layer: \`i_offset\` 0, \`v_init\` 0, \`v_reset\` 0 with \`reset: "reset_to_v_reset"\`, \`t_refrac\` 0, synaptic delay 0
(a spike sent in timestep t is integrated in timestep t + 1, the one-step delay per layer of the trained network).
A weight w in a file stands for w × scale in the trained network; the threshold is the trained threshold divided by
(1 - beta) × scale, because py-spinnaker2 adds the synaptic current to the membrane without the factor (1 - beta).
The run lasts ${model.steps} timesteps; a timestep stands for ${model.neuron.dtMs} ms of the model's time.

What has and has not been verified (a stand-in for py-spinnaker2 only, not a chip) is in s2prop's
\`docs/py-spinnaker2.md\`.
`;
}
