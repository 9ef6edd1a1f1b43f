import { effectiveWeights } from '../engine/model-network.js';
import type { ModelFile } from '../model/schema.js';
import { FLT_MIN } from '../numerics/flush.js';
import { nirTree, NIR_VERSION, type Matrix, type NirGraph, type NirNode } from './graph.js';
import { writeHdf5 } from './hdf5.js';
import { toCubaLif, type Convention } from './mapping.js';
import { SETTINGS_KEY, settingsOf } from './settings.js';

/**
 * A model as a NIR graph: Input -> (Linear fc<l> -> CubaLIF lif<l>) per layer -> Output, the node names
 * the reference fixtures use. Weights are the ones the engine runs (dequantised when the model is
 * quantised; float32 subnormals as 0, as saveModel writes them), transposed to NIR's [outputs][inputs]; stored as float32 when every weight is a float32
 * value (as trained models' are), else as float64, so that they read back bit for bit. The metadata
 * carries the step `dt` (seconds), the `mapping`'s name and, under `s2prop_settings`, the parts of the
 * model file that NIR has no place for (steps, encoding, loss, feature names).
 */
export function modelToNir(model: ModelFile, convention: Convention): NirGraph {
  const { dtSeconds, values } = toCubaLif(model.neuron, convention);
  const nodes = new Map<string, NirNode>();
  // As saveModel writes them: a weight that is a float32 subnormal is 0 (the engine runs it as 0).
  const layers = effectiveWeights(model).map((w) => w.map((row) => row.map((x) => (Math.abs(Math.fround(x)) < FLT_MIN ? 0 : x))));
  nodes.set('input', { type: 'Input', shape: [layers[0].length] });
  const edges: [string, string][] = [];
  let previous = 'input';
  layers.forEach((w, l) => {
    const nIn = w.length;
    const nOut = w[0].length;
    const flat = new Float64Array(nIn * nOut);
    for (let j = 0; j < nOut; j++) for (let k = 0; k < nIn; k++) flat[j * nIn + k] = w[k][j];
    const weight: Matrix = { rows: nOut, cols: nIn, values: flat.every((x) => Math.fround(x) === x) ? Float32Array.from(flat) : flat };
    const per = (x: number) => ({ shape: [nOut], values: new Float64Array(nOut).fill(x) });
    nodes.set(`fc${l}`, { type: 'Linear', weight });
    nodes.set(`lif${l}`, {
      type: 'CubaLIF',
      params: {
        tau_syn: per(values.tau_syn),
        tau_mem: per(values.tau_mem),
        r: per(values.r),
        v_leak: per(values.v_leak),
        v_threshold: per(values.v_threshold),
        w_in: per(values.w_in),
      },
      v_reset: per(values.v_reset),
    });
    edges.push([previous, `fc${l}`], [`fc${l}`, `lif${l}`]);
    previous = `lif${l}`;
  });
  nodes.set('output', { type: 'Output', shape: [layers[layers.length - 1][0].length] });
  edges.push([previous, 'output']);
  const metadata = new Map<string, number | string>([
    ['dt', dtSeconds],
    ['mapping', convention],
    [SETTINGS_KEY, JSON.stringify(settingsOf(model))],
  ]);
  return { version: NIR_VERSION, nodes, edges, metadata };
}

/** Write a model as a NIR file (HDF5), atomically. */
export async function exportNir(model: ModelFile, path: string, convention: Convention): Promise<NirGraph> {
  const graph = modelToNir(model, convention);
  await writeHdf5(path, nirTree(graph));
  return graph;
}
