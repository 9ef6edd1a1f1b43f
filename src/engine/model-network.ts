import * as tf from '@tensorflow/tfjs-core';
import { neuronConstants } from '../model/neuron.js';
import type { ModelFile } from '../model/schema.js';
import type { EngineNetwork } from './network.js';

/** Upload a model file's weights as float32 tensors; the caller disposes `weights`. */
export function networkFromModel(model: ModelFile): EngineNetwork {
  return {
    weights: model.layers.map((l) => tf.tensor2d(l.weights, undefined, 'float32')),
    constants: neuronConstants(model.neuron),
    loss: { xi: model.loss.xi, a: model.loss.alpha, tau1: model.loss.tau1 },
  };
}

/** Download weight tensors as nested arrays [inputs][outputs] for a model file. */
export function weightsToArrays(weights: tf.Tensor2D[]): number[][][] {
  return weights.map((w) => w.arraySync());
}
