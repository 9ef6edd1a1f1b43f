import { inFile } from '../errors.js';
import { h5, type H5Dataset, type H5Group, type H5Node } from './hdf5.js';

/**
 * NIR graphs as the reference implementation (Python `nir` 1.0.7, nir/serialization.py) stores them in
 * HDF5:
 *
 *   version                      string, e.g. "1.0.7"
 *   node/type                    "NIRGraph"
 *   node/nodes/<name>/type       the node's class name ("Input", "Linear", "CubaLIF", ...)
 *   node/nodes/<name>/<field>    one dataset per field (arrays; `shape` for Input and Output)
 *   node/edges                   strings, shape [E, 2]: (source, target) names
 *   node/metadata/<key>          optional; left out when empty
 *
 * Only the node types s2prop reads or writes are parsed field by field; any other node is kept by its
 * type name so that the importer can say what it cannot run.
 */

/** A weight matrix as NIR holds it: [outputs][inputs], row-major. */
export interface Matrix {
  rows: number;
  cols: number;
  values: Float32Array | Float64Array;
}

/** A neuron parameter: a scalar (shape []) or one value per neuron. */
export interface Param {
  shape: number[];
  values: Float64Array;
}

export const CUBALIF_FIELDS = ['tau_syn', 'tau_mem', 'r', 'v_leak', 'v_threshold', 'w_in'] as const;
export const LIF_FIELDS = ['tau', 'r', 'v_leak', 'v_threshold'] as const;
type CubaLifField = (typeof CUBALIF_FIELDS)[number];
type LifField = (typeof LIF_FIELDS)[number];

export type NirNode =
  | { type: 'Input'; shape: number[] }
  | { type: 'Output'; shape: number[] }
  | { type: 'Linear'; weight: Matrix }
  | { type: 'Affine'; weight: Matrix; bias: Param }
  | { type: 'CubaLIF'; params: Record<CubaLifField, Param>; v_reset?: Param }
  | { type: 'LIF'; params: Record<LifField, Param>; v_reset?: Param }
  | { type: 'other'; nirType: string };

export interface NirGraph {
  version: string;
  nodes: Map<string, NirNode>;
  edges: [string, string][];
  /** Scalar metadata of the top-level graph (numbers and strings; anything else is left out). */
  metadata: Map<string, number | string>;
}

/** The NIR version whose layout this module writes (the reference implementation it was checked against). */
export const NIR_VERSION = '1.0.7';

// ---- reading -------------------------------------------------------------------------------------

function member(group: H5Group, name: string, where: string, file: string): H5Node {
  const node = group.children.get(name);
  if (!node) throw inFile(file, `${where}${name} is missing`);
  return node;
}

function asGroup(node: H5Node, where: string, file: string): H5Group {
  if (node.kind !== 'group') throw inFile(file, `${where} is a dataset, expected a group`);
  return node;
}

function asString(node: H5Node, where: string, file: string): string {
  if (node.kind !== 'string' || node.values.length !== 1) throw inFile(file, `${where} is not a string`);
  return node.values[0];
}

function asNumbers(node: H5Node, where: string, file: string): { shape: number[]; values: Float64Array } {
  if (node.kind === 'float') return { shape: node.shape, values: Float64Array.from(node.values) };
  if (node.kind === 'int') return { shape: node.shape, values: Float64Array.from(node.values) };
  throw inFile(file, `${where} is ${node.kind === 'group' ? 'a group' : 'a string'}, expected numbers`);
}

function param(g: H5Group, field: string, where: string, file: string): Param {
  const p = asNumbers(member(g, field, `${where}.`, file), `${where}.${field}`, file);
  if (p.shape.length > 1) throw inFile(file, `${where}.${field} has shape [${p.shape}], expected one value per neuron`);
  return p;
}

function matrix(g: H5Group, where: string, file: string): Matrix {
  const node = member(g, 'weight', `${where}.`, file);
  if (node.kind !== 'float' && node.kind !== 'int') throw inFile(file, `${where}.weight is not numeric`);
  if (node.shape.length !== 2) throw inFile(file, `${where}.weight has shape [${node.shape}], expected a matrix [outputs, inputs]`);
  const values = node.kind === 'float' ? node.values : Float64Array.from(node.values);
  return { rows: node.shape[0], cols: node.shape[1], values };
}

function shapeOf(g: H5Group, where: string, file: string): number[] {
  return Array.from(asNumbers(member(g, 'shape', `${where}.`, file), `${where}.shape`, file).values);
}

function parseNode(name: string, g: H5Group, file: string): NirNode {
  const where = `node ${name}`;
  const type = asString(member(g, 'type', `${where}.`, file), `${where}.type`, file);
  const vReset = g.children.has('v_reset') ? { v_reset: param(g, 'v_reset', where, file) } : {};
  switch (type) {
    case 'Input':
      return { type, shape: shapeOf(g, where, file) };
    case 'Output':
      return { type, shape: shapeOf(g, where, file) };
    case 'Linear':
      return { type, weight: matrix(g, where, file) };
    case 'Affine':
      return { type, weight: matrix(g, where, file), bias: param(g, 'bias', where, file) };
    case 'CubaLIF':
      return { type, params: Object.fromEntries(CUBALIF_FIELDS.map((f) => [f, param(g, f, where, file)])) as Record<CubaLifField, Param>, ...vReset };
    case 'LIF':
      return { type, params: Object.fromEntries(LIF_FIELDS.map((f) => [f, param(g, f, where, file)])) as Record<LifField, Param>, ...vReset };
    default:
      return { type: 'other', nirType: type };
  }
}

function parseMetadata(node: H5Node | undefined): Map<string, number | string> {
  const out = new Map<string, number | string>();
  if (!node || node.kind !== 'group') return out;
  for (const [key, value] of node.children) {
    if (value.kind === 'string' && value.values.length === 1) out.set(key, value.values[0]);
    else if ((value.kind === 'float' || value.kind === 'int') && value.values.length === 1) out.set(key, Number(value.values[0]));
  }
  return out;
}

/** A NIR graph from an HDF5 tree read from `file` (named in errors). */
export function parseNirTree(root: H5Group, file: string): NirGraph {
  const versionNode = root.children.get('version');
  if (!versionNode) throw inFile(file, 'version is missing: not a NIR file (expected the layout nir.write produces)');
  const version = asString(versionNode, 'version', file);
  const graph = asGroup(member(root, 'node', '', file), 'node', file);
  const type = asString(member(graph, 'type', 'node/', file), 'node/type', file);
  if (type !== 'NIRGraph') throw inFile(file, `node/type is '${type}', expected 'NIRGraph'`);
  const nodesGroup = asGroup(member(graph, 'nodes', 'node/', file), 'node/nodes', file);
  const nodes = new Map<string, NirNode>();
  for (const [name, g] of nodesGroup.children) nodes.set(name, parseNode(name, asGroup(g, `node ${name}`, file), file));
  const edgesNode = member(graph, 'edges', 'node/', file);
  if (edgesNode.kind !== 'string') throw inFile(file, 'node/edges is not a list of node names');
  const edges: [string, string][] = [];
  if (edgesNode.values.length > 0) {
    if (edgesNode.shape.length !== 2 || edgesNode.shape[1] !== 2) throw inFile(file, `node/edges has shape [${edgesNode.shape}], expected [edges, 2]`);
    for (let e = 0; e < edgesNode.shape[0]; e++) edges.push([edgesNode.values[2 * e], edgesNode.values[2 * e + 1]]);
  }
  return { version, nodes, edges, metadata: parseMetadata(graph.children.get('metadata')) };
}

// ---- writing -------------------------------------------------------------------------------------

function paramDataset(p: Param): H5Dataset {
  return h5.float64(p.values, p.shape);
}

function nodeTree(node: NirNode): H5Group {
  switch (node.type) {
    case 'Input':
    case 'Output':
      return h5.group([
        ['type', h5.string(node.type)],
        ['shape', h5.ints(node.shape)],
      ]);
    case 'Linear':
      return h5.group([
        ['type', h5.string('Linear')],
        ['weight', { kind: 'float', shape: [node.weight.rows, node.weight.cols], values: node.weight.values }],
      ]);
    case 'Affine':
      return h5.group([
        ['type', h5.string('Affine')],
        ['weight', { kind: 'float', shape: [node.weight.rows, node.weight.cols], values: node.weight.values }],
        ['bias', paramDataset(node.bias)],
      ]);
    case 'CubaLIF':
    case 'LIF':
      return h5.group([
        ['type', h5.string(node.type)],
        ...Object.entries(node.params).map(([k, p]): [string, H5Node] => [k, paramDataset(p)]),
        ...(node.v_reset ? [['v_reset', paramDataset(node.v_reset)] as [string, H5Node]] : []),
      ]);
    case 'other':
      throw new Error(`cannot write NIR node type ${node.nirType}`);
  }
}

/** The HDF5 tree nir.write would produce for this graph (version, node/{type,nodes,edges,metadata}). */
export function nirTree(graph: NirGraph): H5Group {
  const metadata: [string, H5Node][] = [...graph.metadata].map(([k, v]) => [k, typeof v === 'string' ? h5.string(v) : h5.scalar(v)]);
  return h5.group([
    ['version', h5.string(graph.version)],
    [
      'node',
      h5.group([
        ['type', h5.string('NIRGraph')],
        ['nodes', h5.group([...graph.nodes].map(([name, n]) => [name, nodeTree(n)]))],
        ['edges', h5.strings(graph.edges.flat(), [graph.edges.length, 2])],
        ...(metadata.length ? [['metadata', h5.group(metadata)] as [string, H5Node]] : []),
      ]),
    ],
  ]);
}
