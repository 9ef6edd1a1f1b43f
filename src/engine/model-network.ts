import * as tf from '@tensorflow/tfjs-core';
import { dequantise, quantiseLayer } from '../quant/quantise.js';
import { neuronConstants } from '../model/neuron.js';
import type { ModelFile, Quantisation } from '../model/schema.js';
import { flushWeights } from '../numerics/flush.js';
import type { EngineNetwork } from './network.js';

/**
 * The weights [inputs][outputs] per layer that the engine runs for `layers`: with a quantisation, each
 * layer's dequantised weights (one power-of-two scale per layer, so exact float32 values), as the chip
 * runs them; without, the weights themselves.
 */
export function runWeights(layers: number[][][], quantisation?: Quantisation): number[][][] {
  if (!quantisation) return layers;
  return layers.map((w) => dequantise(quantiseLayer(w, quantisation.type, quantisation.clipPercentile)));
}

/** The weights the engine runs for a model file (dequantised when the model has a `quantisation`). */
export function effectiveWeights(model: ModelFile): number[][][] {
  return runWeights(
    model.layers.map((l) => l.weights),
    model.quantisation,
  );
}

/**
 * Upload nested arrays [inputs][outputs] as float32 tensors, rounded to float32 and flushed (subnormal
 * weights, e.g. in a model written before the subnormal rule, become +0); the caller disposes them.
 */
export function uploadWeights(weights: number[][][]): tf.Tensor2D[] {
  return flushWeights(weights).map((w) => tf.tensor2d(w, undefined, 'float32'));
}

/** Upload a model file's effective weights as float32 tensors; the caller disposes `weights`. */
export function networkFromModel(model: ModelFile): EngineNetwork {
  return {
    weights: uploadWeights(effectiveWeights(model)),
    constants: neuronConstants(model.neuron),
    loss: model.loss,
  };
}

/** Download weight tensors as nested arrays [inputs][outputs] for a model file. */
export async function weightsToArrays(weights: tf.Tensor2D[]): Promise<number[][][]> {
  return Promise.all(weights.map((w) => w.array()));
}
