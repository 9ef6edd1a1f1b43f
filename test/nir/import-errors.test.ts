import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neuronConstants } from '../../src/model/neuron.js';
import { h5, writeHdf5, type H5Group, type H5Node } from '../../src/nir/hdf5.js';
import { importNir } from '../../src/nir/import.js';
import { ensureBuilt, expectUserError, folderState, freshDir, initModelText, readJson, removeTempDirs, runCli, writeText } from '../cli/run-cli.js';

/**
 * Small NIR files written here with h5wasm in the reference layout, one per kind of graph s2prop cannot
 * run: each is refused by `s2prop nir import` with exit 1, one line naming the node or edge, and no
 * output file. Plus the kinds it does read beyond its own exports: LIF, Affine with a zero bias and
 * snnTorch's convention, checked against hand calculations.
 */

type Spec = Record<string, H5Group>;

function input(n: number): H5Group {
  return h5.group([['type', h5.string('Input')], ['shape', h5.ints([n])]]);
}
function output(n: number): H5Group {
  return h5.group([['type', h5.string('Output')], ['shape', h5.ints([n])]]);
}
function linear(w: number[][], type = 'Linear', extra: [string, H5Node][] = []): H5Group {
  return h5.group([['type', h5.string(type)], ['weight', { kind: 'float', shape: [w.length, w[0].length], values: Float32Array.from(w.flat()) }], ...extra]);
}
function cubaLif(n: number, over: Record<string, number[]> = {}, type = 'CubaLIF'): H5Group {
  const base: Record<string, number> =
    type === 'CubaLIF'
      ? { tau_syn: 0.005, tau_mem: 0.02, r: 1, w_in: 1, v_threshold: 1, v_leak: 0, v_reset: 0 }
      : { tau: 0.02, r: 1, v_threshold: 1, v_leak: 0, v_reset: 0 };
  return h5.group([['type', h5.string(type)], ...Object.entries(base).map(([k, v]): [string, H5Node] => [k, h5.float64(over[k] ?? new Array(n).fill(v))])]);
}

async function nirFile(dir: string, name: string, nodes: Spec, edges: [string, string][], metadata: Record<string, number | string> | null = { dt: 0.001 }): Promise<string> {
  const meta: [string, H5Node][] = metadata ? Object.entries(metadata).map(([k, v]) => [k, typeof v === 'string' ? h5.string(v) : h5.scalar(v)]) : [];
  await writeHdf5(
    join(dir, name),
    h5.group([
      ['version', h5.string('1.0.7')],
      [
        'node',
        h5.group([
          ['type', h5.string('NIRGraph')],
          ['nodes', h5.group(Object.entries(nodes))],
          ['edges', h5.strings(edges.flat(), [edges.length, 2])],
          ...(meta.length ? [['metadata', h5.group(meta)] as [string, H5Node]] : []),
        ]),
      ],
    ]),
  );
  return name;
}

const W1 = [
  [0.5, -0.25],
  [1.5, 0.75],
  [-1, 2],
]; // 2 inputs -> 3 neurons, NIR layout [outputs][inputs]
const W2 = [[1, -1, 0.5]]; // 3 -> 1
const CHAIN: [string, string][] = [
  ['input', 'fc0'],
  ['fc0', 'lif0'],
  ['lif0', 'fc1'],
  ['fc1', 'lif1'],
  ['lif1', 'output'],
];
function good(): Spec {
  return { input: input(2), fc0: linear(W1), lif0: cubaLif(3), fc1: linear(W2), lif1: cubaLif(1), output: output(1) };
}

const BAD: { name: string; nodes: () => Spec; edges?: [string, string][]; metadata?: Record<string, number | string> | null; mentions: (string | RegExp)[] }[] = [
  {
    name: 'recurrent',
    nodes: () => ({ ...good(), rec: linear([[0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]]) }),
    edges: [...CHAIN, ['lif0', 'rec'], ['rec', 'lif0']],
    mentions: ['edge rec -> lif0 is recurrent', 'not supported'],
  },
  { name: 'conv', nodes: () => ({ ...good(), fc0: h5.group([['type', h5.string('Conv2d')]]) }), mentions: ['node fc0 is a Conv2d', 'convolutions are not supported'] },
  { name: 'subgraph', nodes: () => ({ ...good(), lif0: h5.group([['type', h5.string('NIRGraph')]]) }), mentions: ['node lif0 is a nested NIRGraph'] },
  { name: 'bias', nodes: () => ({ ...good(), fc1: linear(W2, 'Affine', [['bias', h5.float64([0.25])]]) }), mentions: ['node fc1 is an Affine with a non-zero bias (0.25 at 0)'] },
  { name: 'thresholds', nodes: () => ({ ...good(), lif0: cubaLif(3, { v_threshold: [1, 1, 1.5] }) }), mentions: ['node lif0.v_threshold[2] is 1.5', 'thresholds that differ between neurons are not supported'] },
  { name: 'layer-taus', nodes: () => ({ ...good(), lif1: cubaLif(1, { tau_mem: [0.03] }) }), mentions: ['node lif1.tau_mem is 0.03 but node lif0.tau_mem[0] is 0.02', 'one set of neuron constants'] },
  { name: 'leak', nodes: () => ({ ...good(), lif0: cubaLif(3, { v_leak: [0, 0.1, 0] }) }), mentions: ['node lif0.v_leak[1] is 0.1, expected 0'] },
  { name: 'reset', nodes: () => ({ ...good(), lif1: cubaLif(1, { v_reset: [-0.5] }) }), mentions: ['node lif1.v_reset is -0.5, expected 0'] },
  {
    name: 'branch',
    nodes: () => ({ ...good(), output: output(3), fc1: linear(W2), lif1: cubaLif(1) }),
    edges: [['input', 'fc0'], ['fc0', 'lif0'], ['lif0', 'output'], ['lif0', 'fc1'], ['fc1', 'lif1']],
    mentions: ['node lif0 feeds 2 nodes (output, fc1)', 'expected a chain'],
  },
  { name: 'shape', nodes: () => ({ ...good(), fc1: linear([[1, 2]]) }), mentions: ['node fc1.weight has 2 columns (inputs), expected 3'] },
  { name: 'no-dt', nodes: good, metadata: null, mentions: ['node/metadata has no dt', 'give --dt-ms'] },
];

describe.concurrent('s2prop nir import refuses what it cannot run, in one line', { timeout: 120_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = freshDir('s2prop-nir-');
    for (const b of BAD) await nirFile(dir, `${b.name}.nir`, b.nodes(), b.edges ?? CHAIN, b.metadata === undefined ? { dt: 0.001 } : b.metadata);
    writeFileSync(join(dir, 'text.nir'), 'not hdf5\n');
  }, 120_000);
  afterAll(removeTempDirs);

  for (const b of BAD) {
    it(b.name, async () => {
      const r = await runCli(['nir', 'import', '--nir', `${b.name}.nir`, '--out', `${b.name}.json`], dir);
      expectUserError(r, `${b.name}.nir: `, ...b.mentions);
      expect(existsSync(join(dir, `${b.name}.json`))).toBe(false);
    });
  }

  it('not an HDF5 file, and a missing file', async () => {
    expectUserError(await runCli(['nir', 'import', '--nir', 'text.nir', '--out', 'x.json'], dir), 'text.nir: not an HDF5 file');
    expectUserError(await runCli(['nir', 'import', '--nir', 'absent.nir', '--out', 'x.json'], dir), 'absent.nir: cannot read the file (it does not exist)');
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
  });

  it('bad flags of nir export', async () => {
    const r = await runCli(['nir', 'export', '--model', 'absent.json', '--out', 'y.nir', '--convention', 'norse'], dir);
    expectUserError(r, "--convention: unknown convention 'norse'");
    expectUserError(await runCli(['nir', 'export', '--model', 'absent.json', '--out', 'y.nir'], dir), 'absent.json');
    expect(folderState(dir)['y.nir']).toBeUndefined();
  });

  it('nir export then nir import from the command line give the model back (snntorch convention, seed 3)', async () => {
    writeText(dir, 'init.json', initModelText('twin', 3, [7]));
    const e = await runCli(['nir', 'export', '--model', 'init.json', '--out', 'init.nir', '--convention', 'snntorch'], dir);
    expect(e.status, e.stderr).toBe(0);
    expect(e.stderr).toBe('wrote 5-7-3 as NIR 1.0.7 (snntorch mapping, dt 0.0001 s) to init.nir\n');
    const i = await runCli(['nir', 'import', '--nir', 'init.nir', '--out', 'back.json'], dir);
    expect(i.status, i.stderr).toBe(0);
    const [a, b] = [readJson<Record<string, unknown>>(dir, 'init.json'), readJson<Record<string, unknown>>(dir, 'back.json')];
    for (const key of ['layers', 'neuron', 'constants', 'steps', 'encoding', 'loss', 'features']) expect(b[key], key).toEqual(a[key]);
  });

  it('a good chain imports from the command line with the weights transposed to [inputs][outputs]', async () => {
    await nirFile(dir, 'good.nir', good(), CHAIN);
    const r = await runCli(['nir', 'import', '--nir', 'good.nir', '--out', 'good.json', '--bias'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^wrote 2-3-1 \(s2prop mapping, default\): dt 1 ms, tauSyn 5 ms, tauMem 20 ms, threshold 1 to good.json\n$/);
    const model = readJson<{ layers: { weights: number[][] }[]; encoding: { bias: boolean } }>(dir, 'good.json');
    expect(model.layers[0].weights).toEqual([
      [0.5, 1.5, -1],
      [-0.25, 0.75, 2],
    ]);
    expect(model.layers[1].weights).toEqual([[1], [-1], [0.5]]);
    expect(model.encoding.bias).toBe(true);
  });
});

describe('graphs from other tools that s2prop reads', () => {
  let dir: string;
  beforeAll(() => {
    dir = freshDir('s2prop-nir-');
  });
  afterAll(removeTempDirs);

  it('LIF (no synaptic current) runs with alpha = 0: tauSyn = dt / 1000', async () => {
    const nodes = { ...good(), lif0: cubaLif(3, {}, 'LIF'), lif1: cubaLif(1, {}, 'LIF') };
    const { model } = await importNir(join(dir, await nirFile(dir, 'lif.nir', nodes, CHAIN)));
    expect(model.neuron).toEqual({ dtMs: 1, tauSynMs: 0.001, tauMemMs: 20, threshold: 1 });
    const k = neuronConstants(model.neuron);
    expect(k.alpha).toBe(0);
    expect(k.beta).toBe(Math.fround(Math.exp(-1 / 20)));
  });

  it('an Affine with a zero bias is a Linear; r and w_in fold into the threshold (v_threshold / (r w_in))', async () => {
    const nodes = { ...good(), fc1: linear(W2, 'Affine', [['bias', h5.float64([0])]]), lif0: cubaLif(3, { r: [2, 2, 2], w_in: [4, 4, 4], v_threshold: [3, 3, 3] }), lif1: cubaLif(1, { r: [2], w_in: [4], v_threshold: [3] }) };
    const { model } = await importNir(join(dir, await nirFile(dir, 'affine.nir', nodes, CHAIN)));
    expect(model.neuron.threshold).toBe(3 / 8);
    expect(model.layers[1].weights).toEqual([[1], [-1], [0.5]]);
  });

  it("snnTorch's Synaptic export (dt 1e-4, r = tau_mem/dt, w_in = tau_syn/dt, no metadata) is detected: alpha = 1 - dt/tau_syn, threshold = v_threshold * (1 - beta)", async () => {
    // What snnTorch's export_nir writes for Synaptic(alpha = 0.9, beta = 0.8, threshold = 1), in float32 as torch does.
    const dt = 1e-4;
    const [alpha, beta] = [Math.fround(0.9), Math.fround(0.8)];
    const tauSyn = Math.fround(dt / (1 - alpha));
    const tauMem = Math.fround(dt / (1 - beta));
    const p = (n: number) => ({ tau_syn: new Array(n).fill(tauSyn), tau_mem: new Array(n).fill(tauMem), r: new Array(n).fill(Math.fround(tauMem / dt)), w_in: new Array(n).fill(Math.fround(tauSyn / dt)) });
    const nodes = { ...good(), lif0: cubaLif(3, p(3)), lif1: cubaLif(1, p(1)) };
    const result = await importNir(join(dir, await nirFile(dir, 'snn.nir', nodes, CHAIN, null)), { dtMs: 1 });
    expect(result.convention).toBe('snntorch');
    expect(result.conventionSource).toBe('detected');
    const k = neuronConstants(result.model.neuron);
    // hand calculation: alpha = 1 - dt/tau_syn, beta = 1 - dt/tau_mem (in float64 from the float32 file values)
    expect(k.alpha).toBe(Math.fround(1 - dt / tauSyn));
    expect(k.beta).toBe(Math.fround(1 - dt / tauMem));
    const gain = Math.fround(tauMem / dt) * Math.fround(tauSyn / dt) * (dt / tauSyn);
    expect(result.model.neuron.threshold).toBeCloseTo(1 / gain, 12);
    expect(result.model.neuron.threshold).toBeCloseTo(1 - 0.8, 6);
  });
});
