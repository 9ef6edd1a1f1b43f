import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { neuronConstants } from '../../src/model/neuron.js';
import { modelToNir } from '../../src/nir/export.js';
import { nirTree } from '../../src/nir/graph.js';
import { readHdf5, type H5Group, type H5Node } from '../../src/nir/hdf5.js';
import { importNir } from '../../src/nir/import.js';

/**
 * NIR files written by the reference implementation (Python nir 1.0.7, nir.write) and a JSON of exactly
 * what each holds, written by the same script (test/fixtures/nir/fixtures.json): the importer must read
 * the weights bit for bit and the neuron constants under the documented s2prop mapping
 * (alpha = exp(-dt/tau_syn), beta = exp(-dt/tau_mem), threshold = v_threshold / (r * w_in)).
 */

const DIR = fileURLToPath(new URL('../fixtures/nir/', import.meta.url));

interface FixtureCase {
  file: string;
  sizes: number[];
  tau_syn_s: number;
  tau_mem_s: number;
  r: number;
  w_in: number;
  v_threshold: number;
  v_leak: number;
  v_reset_written: boolean;
  metadata: { dt?: number };
  layers: { linear: string; neuron: string; weight_out_in: number[][] }[];
}
const FIXTURES = JSON.parse(readFileSync(`${DIR}fixtures.json`, 'utf8')) as { alpha: number; beta: number; cases: FixtureCase[] };

function paths(node: H5Node, prefix = ''): string[] {
  if (node.kind !== 'group') return [prefix];
  return [...node.children].flatMap(([k, v]) => paths(v, prefix ? `${prefix}/${k}` : k)).sort();
}

describe('reference NIR files (nir 1.0.7) import as fixtures.json says', () => {
  for (const c of FIXTURES.cases) {
    it(`${c.file}: weights bit for bit, constants = exp(-dt/tau) of the fixture`, async () => {
      const dtMs = c.metadata.dt === undefined ? 1 : undefined;
      const { model, convention, sizes } = await importNir(`${DIR}${c.file}`, dtMs === undefined ? {} : { dtMs });
      expect(convention).toBe('s2prop');
      expect(sizes).toEqual(c.sizes);
      c.layers.forEach((layer, l) => {
        const w = model.layers[l].weights; // [inputs][outputs]
        const transposed = layer.weight_out_in[0].map((_, k) => layer.weight_out_in.map((row) => row[k]));
        expect(w, `layer ${l} (${layer.linear})`).toEqual(transposed);
      });
      // Hand calculation under the mapping: tau in ms = seconds * 1000; threshold = v_threshold / (r * w_in).
      expect(model.neuron).toEqual({ dtMs: (c.metadata.dt ?? 0.001) * 1000, tauSynMs: c.tau_syn_s * 1000, tauMemMs: c.tau_mem_s * 1000, threshold: c.v_threshold / (c.r * c.w_in) });
      const k = neuronConstants(model.neuron);
      expect(k.alpha).toBe(Math.fround(FIXTURES.alpha));
      expect(k.beta).toBe(Math.fround(FIXTURES.beta));
      expect(k.oneMinusBeta).toBe(Math.fround(1 - FIXTURES.beta));
    });
  }

  it('a file without metadata dt needs --dt-ms, and says so in one line', async () => {
    const c = FIXTURES.cases.find((x) => x.metadata.dt === undefined)!;
    await expect(importNir(`${DIR}${c.file}`)).rejects.toThrow(/lif-5-6-4-3-no-v-reset\.nir: node\/metadata has no dt .*give --dt-ms/);
  });

  it('our export of the imported network has the reference layout: the same HDF5 paths, plus our metadata keys', async () => {
    const c = FIXTURES.cases[0];
    const reference = await readHdf5(`${DIR}${c.file}`);
    const { model } = await importNir(`${DIR}${c.file}`);
    const ours: H5Group = nirTree(modelToNir(model, 's2prop'));
    const extra = ['node/metadata/mapping', 'node/metadata/s2prop_settings'];
    expect(paths(ours).filter((p) => !extra.includes(p))).toEqual(paths(reference));
    // and the same values and data types, dataset by dataset
    const at = (root: H5Group, p: string) => p.split('/').reduce<H5Node>((g, k) => (g as H5Group).children.get(k)!, root);
    for (const p of paths(reference)) {
      const a = at(reference, p);
      const b = at(ours, p);
      expect(b.kind, p).toBe(a.kind);
      if (a.kind === 'group' || b.kind === 'group') continue;
      expect(b.shape, p).toEqual(a.shape);
      expect(Array.from(b.values as ArrayLike<unknown>), p).toEqual(Array.from(a.values as ArrayLike<unknown>));
      if (a.kind === 'float' && b.kind === 'float') expect(b.values.constructor.name, p).toBe(a.values.constructor.name);
    }
  });
});
