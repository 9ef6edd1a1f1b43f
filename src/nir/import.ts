import { inFile } from '../errors.js';
import { parseModel } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { parseNirTree, type Matrix, type NirGraph, type NirNode, type Param } from './graph.js';
import { readHdf5 } from './hdf5.js';
import type { NeuronSettings } from '../model/neuron.js';
import { CONVENTIONS, fromCubaLif, shortestPreimage, SNNTORCH_DT_SECONDS, toCubaLif, type Convention, type CubaLifValues } from './mapping.js';
import { SETTINGS_KEY, settingsFor, type SettingsOverrides } from './settings.js';

/**
 * NIR graphs as s2prop model files. What s2prop can run is a chain
 *   Input -> (Linear | Affine with zero bias) -> (CubaLIF | LIF) -> ... -> Output
 * with one set of neuron constants for the whole network. Anything else is refused with one line that
 * names the node or edge: recurrent edges, branches, convolutions and other node types, non-zero biases,
 * constants that differ between neurons or layers, v_leak or v_reset other than 0.
 */

export interface ImportOptions extends SettingsOverrides {
  /** The step length of the model (ms); default: the file's metadata `dt`. */
  dtMs?: number;
  /** The discretisation; default: the file's metadata `mapping`, else detected (see detectConvention). */
  convention?: Convention;
}

export interface ImportResult {
  model: ModelFile;
  convention: Convention;
  /** How the convention was chosen, for the terminal. */
  conventionSource: 'flag' | 'metadata' | 'detected' | 'default';
  sizes: number[];
}

type NeuronNode = Extract<NirNode, { type: 'CubaLIF' | 'LIF' }>;

interface Layer {
  linear: string;
  weight: Matrix;
  neuron: string;
  node: NeuronNode;
}

function describeUnsupported(name: string, type: string): string {
  if (type === 'Conv1d' || type === 'Conv2d') return `node ${name} is a ${type}: convolutions are not supported (s2prop runs fully connected layers)`;
  if (type === 'NIRGraph') return `node ${name} is a nested NIRGraph (snnTorch writes recurrent layers this way): subgraphs and recurrent layers are not supported`;
  if (type === 'SumPool2d' || type === 'AvgPool2d' || type === 'Flatten') return `node ${name} is a ${type}: pooling and reshaping are not supported (s2prop runs fully connected layers)`;
  return `node ${name} is a ${type}: not supported (s2prop imports Input, Linear/Affine, CubaLIF/LIF and Output nodes)`;
}

/** The first edge that closes a loop (depth-first from every node, in file order), if any. */
function findRecurrentEdge(graph: NirGraph): [string, string] | undefined {
  const out = new Map<string, string[]>();
  for (const [a, b] of graph.edges) out.set(a, [...(out.get(a) ?? []), b]);
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string): [string, string] | undefined => {
    state.set(node, 'open');
    for (const next of out.get(node) ?? []) {
      if (state.get(next) === 'open') return [node, next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    state.set(node, 'done');
    return undefined;
  };
  for (const name of graph.nodes.keys()) {
    if (!state.has(name)) {
      const found = visit(name);
      if (found) return found;
    }
  }
  return undefined;
}

/** The chain of layers from the one Input to the one Output, or one line saying why there is none. */
function chainOf(graph: NirGraph, file: string): { inputs: number; layers: Layer[] } {
  for (const [name, node] of graph.nodes) if (node.type === 'other') throw inFile(file, describeUnsupported(name, node.nirType));
  for (const [a, b] of graph.edges) {
    for (const end of [a, b]) if (!graph.nodes.has(end)) throw inFile(file, `edge ${a} -> ${b} names node ${end}, which is not in node/nodes`);
  }
  const loop = findRecurrentEdge(graph);
  if (loop) throw inFile(file, `edge ${loop[0]} -> ${loop[1]} is recurrent (it closes a loop): recurrent networks are not supported`);
  const ofType = (t: string) => [...graph.nodes].filter(([, n]) => n.type === t).map(([k]) => k);
  const inputs = ofType('Input');
  const outputs = ofType('Output');
  if (inputs.length !== 1) throw inFile(file, `has ${inputs.length} Input nodes (${inputs.join(', ') || 'none'}), expected exactly one`);
  if (outputs.length !== 1) throw inFile(file, `has ${outputs.length} Output nodes (${outputs.join(', ') || 'none'}), expected exactly one`);
  const next = new Map<string, string[]>();
  const prev = new Map<string, string[]>();
  for (const [a, b] of graph.edges) {
    next.set(a, [...(next.get(a) ?? []), b]);
    prev.set(b, [...(prev.get(b) ?? []), a]);
  }
  for (const [name, targets] of next) if (targets.length > 1) throw inFile(file, `node ${name} feeds ${targets.length} nodes (${targets.join(', ')}): branching graphs are not supported, expected a chain`);
  for (const [name, sources] of prev) if (sources.length > 1) throw inFile(file, `node ${name} has ${sources.length} inputs (${sources.join(', ')}): merging graphs are not supported, expected a chain`);

  const path: string[] = [inputs[0]];
  for (let at = inputs[0]; at !== outputs[0]; ) {
    const to = next.get(at)?.[0];
    if (to === undefined) throw inFile(file, `node ${at} leads nowhere: no path from ${inputs[0]} to ${outputs[0]}`);
    path.push(to);
    at = to;
  }
  const off = [...graph.nodes.keys()].filter((n) => !path.includes(n));
  if (off.length) throw inFile(file, `node ${off[0]} is not on the path from ${inputs[0]} to ${outputs[0]}`);

  const input = graph.nodes.get(inputs[0]) as Extract<NirNode, { type: 'Input' }>;
  if (input.shape.length !== 1) throw inFile(file, `node ${inputs[0]} has shape [${input.shape}], expected one dimension (a vector of inputs)`);
  const layers: Layer[] = [];
  let width = input.shape[0];
  const middle = path.slice(1, -1);
  if (middle.length === 0 || middle.length % 2 !== 0) {
    throw inFile(file, `the path ${path.join(' -> ')} is not Input -> (Linear/Affine -> CubaLIF/LIF) per layer -> Output`);
  }
  for (let i = 0; i < middle.length; i += 2) {
    const [lin, neu] = [middle[i], middle[i + 1]];
    const a = graph.nodes.get(lin)!;
    const b = graph.nodes.get(neu)!;
    if (a.type !== 'Linear' && a.type !== 'Affine') throw inFile(file, `node ${lin} is a ${a.type}, expected a Linear or Affine (the path must alternate weights and neurons)`);
    if (b.type !== 'CubaLIF' && b.type !== 'LIF') throw inFile(file, `node ${neu} is a ${b.type}, expected a CubaLIF or LIF after ${lin}`);
    if (a.weight.cols !== width) throw inFile(file, `node ${lin}.weight has ${a.weight.cols} columns (inputs), expected ${width} (the outputs of the node before it)`);
    if (a.type === 'Affine') {
      const j = a.bias.values.findIndex((x) => x !== 0);
      if (j >= 0) throw inFile(file, `node ${lin} is an Affine with a non-zero bias (${a.bias.values[j]} at ${j}): s2prop's neurons take no bias current`);
    }
    layers.push({ linear: lin, weight: a.weight, neuron: neu, node: b });
    width = a.weight.rows;
  }
  const output = graph.nodes.get(outputs[0]) as Extract<NirNode, { type: 'Output' }>;
  if (output.shape.length !== 1 || output.shape[0] !== width) throw inFile(file, `node ${outputs[0]} has shape [${output.shape}], expected [${width}] (the outputs of the last layer)`);
  return { inputs: input.shape[0], layers };
}

type FieldValues = Omit<CubaLifValues, 'tau_syn' | 'w_in'> & { tau_syn?: number; w_in?: number };

/**
 * The one value of every neuron parameter across all neurons of all layers, or one line naming the
 * first neuron that differs.
 */
function uniformValues(layers: Layer[], file: string): { values: FieldValues; kind: 'CubaLIF' | 'LIF' } {
  const kinds = new Set(layers.map((l) => l.node.type));
  if (kinds.size > 1) throw inFile(file, `mixes CubaLIF and LIF layers: s2prop runs one neuron model for the whole network`);
  const kind = layers[0].node.type;
  const fields = kind === 'CubaLIF' ? ['tau_syn', 'tau_mem', 'r', 'w_in', 'v_threshold', 'v_leak', 'v_reset'] : ['tau', 'r', 'v_threshold', 'v_leak', 'v_reset'];
  const found = new Map<string, { value: number; where: string }>();
  for (const layer of layers) {
    const n = layer.weight.rows;
    const params = layer.node.params as Record<string, Param>;
    for (const field of fields) {
      const p: Param | undefined = field === 'v_reset' ? layer.node.v_reset : params[field];
      // nir.read fills an absent v_reset with zeros.
      const values = p ? p.values : new Float64Array(n);
      if (p && !(p.shape.length === 0 || p.values.length === 1 || p.values.length === n)) {
        throw inFile(file, `node ${layer.neuron}.${field} has ${p.values.length} values, expected ${n} (the outputs of ${layer.linear}) or one`);
      }
      for (let j = 0; j < values.length; j++) {
        const v = values[j];
        const where = values.length === 1 ? `node ${layer.neuron}.${field}` : `node ${layer.neuron}.${field}[${j}]`;
        if (field === 'v_leak' && v !== 0) throw inFile(file, `${where} is ${v}, expected 0 (s2prop's neurons leak towards 0)`);
        if (field === 'v_reset' && v !== 0) throw inFile(file, `${where} is ${v}, expected 0 (s2prop resets to 0 after a spike)`);
        const first = found.get(field);
        if (!first) {
          found.set(field, { value: v, where });
        } else if (v !== first.value) {
          if (field === 'v_threshold') throw inFile(file, `${where} is ${v} but ${first.where} is ${first.value}: thresholds that differ between neurons are not supported (s2prop runs one threshold)`);
          throw inFile(file, `${where} is ${v} but ${first.where} is ${first.value}: s2prop runs one set of neuron constants for the whole network`);
        }
      }
    }
  }
  const get = (f: string) => found.get(f)!.value;
  const base = { tau_mem: get(kind === 'CubaLIF' ? 'tau_mem' : 'tau'), r: get('r'), v_threshold: get('v_threshold'), v_leak: get('v_leak'), v_reset: get('v_reset') };
  return { kind, values: kind === 'CubaLIF' ? { ...base, tau_syn: get('tau_syn'), w_in: get('w_in') } : base };
}

/**
 * Which discretisation a file means: its metadata `mapping` when it names one; else snnTorch's when every
 * neuron carries snnTorch's signature (r = tau_mem/1e-4 and w_in = tau_syn/1e-4 to 1e-6, no dt in the
 * metadata: what snnTorch's export_nir writes); else s2prop's exponential one.
 */
function chooseConvention(graph: NirGraph, values: FieldValues, flag: Convention | undefined, file: string): { convention: Convention; source: ImportResult['conventionSource'] } {
  if (flag) return { convention: flag, source: 'flag' };
  const named = graph.metadata.get('mapping');
  if (named !== undefined) {
    if (!(CONVENTIONS as readonly unknown[]).includes(named)) throw inFile(file, `node/metadata/mapping is '${named}', expected one of ${CONVENTIONS.join(', ')} (or give --convention)`);
    return { convention: named as Convention, source: 'metadata' };
  }
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.abs(b);
  const dt = SNNTORCH_DT_SECONDS;
  const snn = !graph.metadata.has('dt') && close(values.r, values.tau_mem / dt) && (values.tau_syn === undefined || close(values.w_in!, values.tau_syn / dt));
  return snn ? { convention: 'snntorch', source: 'detected' } : { convention: 's2prop', source: 'default' };
}

/** Whether the mapping writes `neuron` as exactly these graph values and step. */
function writesAs(neuron: NeuronSettings, convention: Convention, dtSeconds: number, values: FieldValues): boolean {
  const written = toCubaLif(neuron, convention);
  return written.dtSeconds === dtSeconds && (Object.keys(written.values) as (keyof CubaLifValues)[]).every((k) => written.values[k] === values[k]);
}

/** Convert a parsed NIR graph; `file` names it in errors. */
export function nirToModel(graph: NirGraph, file: string, options: ImportOptions = {}): ImportResult {
  const { inputs, layers } = chainOf(graph, file);
  const { values } = uniformValues(layers, file);
  const { convention, source } = chooseConvention(graph, values, options.convention, file);

  const metaDt = graph.metadata.get('dt');
  if (metaDt !== undefined && !(typeof metaDt === 'number' && metaDt > 0 && Number.isFinite(metaDt))) {
    throw inFile(file, `node/metadata/dt is ${metaDt}, expected a positive number of seconds`);
  }
  let dtSeconds: number;
  if (convention === 'snntorch') {
    dtSeconds = (metaDt as number | undefined) ?? SNNTORCH_DT_SECONDS;
  } else if (options.dtMs !== undefined) {
    dtSeconds = options.dtMs / 1000;
  } else if (metaDt !== undefined) {
    dtSeconds = metaDt as number;
  } else {
    throw inFile(file, 'node/metadata has no dt (the step the graph is meant to run at): give --dt-ms');
  }
  const dtMs = options.dtMs ?? shortestPreimage(dtSeconds * 1000, (ms) => ms / 1000 === dtSeconds);

  const mapped = fromCubaLif({ convention, values, dtSeconds, dtMs });
  if (!mapped.ok) throw inFile(file, `node ${layers[0].neuron}: ${mapped.problem}`);

  const { neuron: stored, ...settings } = settingsFor(graph.metadata.get(SETTINGS_KEY), options, file);
  // The exact settings an s2prop export stored, when they still are what the graph says.
  const neuron = stored && (options.dtMs === undefined || options.dtMs === stored.dtMs) && writesAs(stored, convention, dtSeconds, values) ? stored : mapped.neuron;
  const model = {
    format: 's2prop-model' as const,
    version: 1 as const,
    steps: settings.steps,
    neuron,
    loss: settings.loss,
    encoding: settings.encoding,
    ...(settings.features ? { features: settings.features } : {}),
    layers: layers.map(({ weight }) =>
      // NIR's [outputs][inputs] to the model file's [inputs][outputs].
      ({ weights: Array.from({ length: weight.cols }, (_, k) => Array.from({ length: weight.rows }, (_, j) => weight.values[j * weight.cols + k])) }),
    ),
    provenance: { tool: TOOL_NAME, toolVersion: TOOL_VERSION, data: { nir: file, nirVersion: graph.version, mapping: convention } },
  };
  const checked = parseModel(model, `${file} (as a model)`);
  return { model: checked, convention, conventionSource: source, sizes: [inputs, ...layers.map((l) => l.weight.rows)] };
}

/** Read a NIR file and convert it to a model. */
export async function importNir(path: string, options: ImportOptions = {}): Promise<ImportResult> {
  return nirToModel(parseNirTree(await readHdf5(path), path), path, options);
}
