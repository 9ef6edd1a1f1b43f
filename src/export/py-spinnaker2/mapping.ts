import { SettingError } from '../../errors.js';
import { layerSizes } from '../../model/model-file.js';
import { neuronConstants } from '../../model/neuron.js';
import type { ModelFile } from '../../model/schema.js';
import { mantissaMax, type LayerQuantisation, type QuantType } from '../../quant/quantise.js';

/**
 * How one of our networks becomes a py-spinnaker2 network (docs/py-spinnaker2.md has the sources and the
 * open questions).
 *
 * Our layer (docs/contract.md, "Forward pass"), per step i >= 1:
 *   I[i] = alpha * I[i-1] + s_in[i-1] · W          (one step of delay)
 *   V[i] = beta * V[i-1] + (1 - beta) * I[i]
 *   spike when V[i] > theta, then V[i] = 0
 * py-spinnaker2's `lif_curr_exp_no_delay`, per timestep t (inputs sent at t-1 arrive at t):
 *   I_exc = exc_decay * I_exc + (positive weights arriving),  I_inh likewise with inh_decay
 *   v = alpha_decay * v + I_exc - I_inh + i_offset
 *   spike when v > threshold, then v = v_reset (reset "reset_to_v_reset")
 * With W = m * s (integer mantissas m, the layer's scale s = 2^exp; s = 1 for float32 weights), dividing
 * our I by s and our V by s * (1 - beta) gives exactly their update with
 *   weights m, exc_decay = inh_decay = alpha, alpha_decay = beta, threshold = theta / ((1 - beta) * s),
 *   i_offset = 0, v_reset = 0, v_init = 0, t_refrac = 0, synaptic delay 0.
 * alpha, beta and 1 - beta are the float32 constants every implementation of ours uses.
 */

/** The neuron model every hidden and output layer runs. */
export const NEURON_MODEL = 'lif_curr_exp_no_delay';

/** Largest weight magnitude a `lif_curr_exp_no_delay` synapse takes on the chip (8-bit signed weights). */
export const CHIP_WEIGHT_MAX = 127;

export interface PyS2Layer {
  name: string;
  size: number;
  neuronModel: string;
  params: {
    threshold: number;
    alpha_decay: number;
    exc_decay: number;
    inh_decay: number;
    i_offset: number;
    v_init: number;
    v_reset: number;
    reset: 'reset_to_v_reset';
    t_refrac: number;
  };
  /** Row-major [inputs][outputs]: integer mantissas, or float32 values for a float32 export. */
  weights: Float64Array;
  rows: number;
  cols: number;
  /** Multiply a weight (and the threshold and states) by this to get back our units. */
  weightScale: number;
  /** The layer's scale as a power of two (null for float32). */
  exp: number | null;
  /** The synaptic delay written into every connection. */
  delay: number;
}

export interface PyS2Network {
  quant: QuantType;
  timesteps: number;
  inputSize: number;
  layers: PyS2Layer[];
}

/** Map a model (and its quantised layers, null for float32) to py-spinnaker2 populations and projections. */
export function mapNetwork(model: ModelFile, quant: QuantType, quantised: LayerQuantisation[] | null): PyS2Network {
  const sizes = layerSizes(model);
  const c = neuronConstants(model.neuron);
  if (quant !== 'float32' && (!quantised || quantised.length !== model.layers.length)) throw new Error('mapNetwork: quantised layers missing');
  if (quant !== 'float32' && mantissaMax(quant) > CHIP_WEIGHT_MAX) throw new SettingError('quant', quant, `mantissas exceed the chip's weight range ±${CHIP_WEIGHT_MAX}`);
  const layers = model.layers.map((layer, l): PyS2Layer => {
    const rows = layer.weights.length;
    const cols = layer.weights[0].length;
    const q = quantised?.[l];
    const exp = q ? q.exp : null;
    const weightScale = q ? 2 ** q.exp : 1;
    const weights = q ? Float64Array.from(q.mantissas) : Float64Array.from(layer.weights.flat(), (w) => Math.fround(w));
    return {
      name: l === model.layers.length - 1 ? 'output' : `hidden${l + 1}`,
      size: sizes[l + 1],
      neuronModel: NEURON_MODEL,
      params: {
        threshold: c.threshold / (c.oneMinusBeta * weightScale),
        alpha_decay: c.beta,
        exc_decay: c.alpha,
        inh_decay: c.alpha,
        i_offset: 0,
        v_init: 0,
        v_reset: 0,
        reset: 'reset_to_v_reset',
        t_refrac: 0,
      },
      weights,
      rows,
      cols,
      weightScale,
      exp,
      delay: 0,
    };
  });
  return { quant, timesteps: model.steps, inputSize: sizes[0], layers };
}
