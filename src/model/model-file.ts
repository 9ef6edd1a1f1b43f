import { createHash } from 'node:crypto';
import { inFile } from '../errors.js';
import { parseWith, readJsonFile } from '../formats/validate.js';
import { writeFileAtomic } from '../io/atomic.js';
import { toJsonText } from '../io/json.js';
import { FLT_MIN } from '../numerics/flush.js';
import { neuronConstants } from './neuron.js';
import { ModelSchema, type ModelFile } from './schema.js';

/** Validate a parsed model object; `fileName` names it in error messages. */
export function parseModel(data: unknown, fileName: string): ModelFile {
  const model = parseWith(ModelSchema, data, fileName);
  // JSON holds doubles; the engine and the chip run float32, where 1e39 is Infinity.
  model.layers.forEach((layer, l) =>
    layer.weights.forEach((row, i) =>
      row.forEach((w, j) => {
        if (!Number.isFinite(Math.fround(w))) throw inFile(fileName, `layers[${l}].weights[${i}][${j}] is ${w}, which is not finite in float32 (expected |w| < 3.4e38)`);
      }),
    ),
  );
  if (model.constants) {
    // The stored float32 constants are informative; a mismatch means the file was edited inconsistently.
    const c = neuronConstants(model.neuron);
    for (const key of ['alpha', 'beta', 'oneMinusBeta'] as const) {
      if (model.constants[key] !== c[key]) {
        throw inFile(fileName, `constants.${key} is ${model.constants[key]}, expected ${c[key]} (float32 of the neuron settings)`);
      }
    }
  }
  return model;
}

export function loadModel(path: string): ModelFile {
  return parseModel(readJsonFile(path), path);
}

/**
 * Save with the float32 constants filled in, atomically. Weights that are float32 subnormals are written
 * as 0 (the subnormal rule, numerics/flush.ts: an engine or a chip would run them as +0 anyway).
 */
export function saveModel(path: string, model: ModelFile): void {
  const { alpha, beta, oneMinusBeta } = neuronConstants(model.neuron);
  const layers = model.layers.map((l) => ({ ...l, weights: l.weights.map((row) => row.map((x) => (Math.abs(Math.fround(x)) < FLT_MIN ? 0 : x))) }));
  const out: ModelFile = { ...model, layers, constants: { alpha, beta, oneMinusBeta } };
  writeFileAtomic(path, toJsonText(out));
}

export function modelInputs(model: ModelFile): number {
  return model.layers[0].weights.length;
}

export function modelOutputs(model: ModelFile): number {
  return model.layers[model.layers.length - 1].weights[0].length;
}

/** Layer sizes from input to output, e.g. [5, 120, 3]. */
export function layerSizes(model: ModelFile): number[] {
  return [modelInputs(model), ...model.layers.map((l) => l.weights[0].length)];
}

/**
 * The SHA-256 of a model's weights as the engine runs them (float32, layer by layer, row-major, each
 * layer preceded by its shape as two uint32): what an export records so that `validate` can check it
 * is given the model the export came from.
 */
export function weightsSha256(model: ModelFile): string {
  const hash = createHash('sha256');
  for (const { weights } of model.layers) {
    const rows = weights.length;
    const cols = rows ? weights[0].length : 0;
    hash.update(new Uint8Array(Uint32Array.from([rows, cols]).buffer));
    const flat = new Float32Array(rows * cols);
    weights.forEach((row, i) => flat.set(row, i * cols));
    hash.update(new Uint8Array(flat.buffer));
  }
  return hash.digest('hex');
}
