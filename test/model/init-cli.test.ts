import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureBuilt, expectUserError, folderState, freshDir, initModelText, removeTempDirs, runCli, runCliOk } from '../cli/run-cli.js';

/** `s2prop init` through the built CLI: reproducible, the preset's shapes, the initialisation's statistics. */

vi.setConfig({ testTimeout: 30_000 });

interface Model {
  layers: { weights: number[][] }[];
  features: string[];
  provenance: { seed: number; preset: string; epochs: number };
}

const files: Record<string, string> = {};

beforeAll(async () => {
  await ensureBuilt();
  // Three runs, two of them with the same seed, each in its own folder.
  const runs: [string, string][] = [['a', '3'], ['b', '3'], ['c', '4']];
  await Promise.all(
    runs.map(async ([name, seed]) => {
      const dir = freshDir();
      await runCliOk(['init', '--preset', 'twin', '--seed', seed, '--out', 'model.json'], dir);
      files[name] = readFileSync(join(dir, 'model.json'), 'utf8');
    }),
  );
}, 120_000);
afterAll(removeTempDirs);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

describe('init --preset twin', () => {
  it('the same seed twice gives byte-identical files (determinism)', () => {
    expect(files.a).toBe(files.b);
  });

  it('writes the same bytes as the library (initModel + saveModel) that other suites use as their valid model', () => {
    expect(files.a).toBe(initModelText('twin', 3));
  });

  it('another seed gives other weights', () => {
    expect(files.c).not.toBe(files.a);
    const a = JSON.parse(files.a) as Model;
    const c = JSON.parse(files.c) as Model;
    expect(c.layers[0].weights[0][0]).not.toBe(a.layers[0].weights[0][0]);
    expect(a.provenance.seed).toBe(3);
    expect(c.provenance.seed).toBe(4);
  });

  it('layer shapes are 5x120 (4 features + bias by 120 hidden) and 120x3 (the preset)', () => {
    const m = JSON.parse(files.a) as Model;
    expect(m.layers).toHaveLength(2);
    expect(m.layers[0].weights).toHaveLength(5);
    for (const row of m.layers[0].weights) expect(row).toHaveLength(120);
    expect(m.layers[1].weights).toHaveLength(120);
    for (const row of m.layers[1].weights) expect(row).toHaveLength(3);
    expect(m.features).toEqual(['x', 'y', 'x_inv', 'y_inv']);
    expect(m.provenance).toMatchObject({ preset: 'twin', epochs: 0 });
  });

  it('weights are float32 values (each equals its Math.fround)', () => {
    const m = JSON.parse(files.a) as Model;
    for (const layer of m.layers) for (const row of layer.weights) for (const w of row) expect(w).toBe(Math.fround(w));
  });

  // Statistical, seed 3: 600 draws of Normal(3.2/sqrt(5), 3.2/sqrt(5)) have a standard error of the mean
  // of 0.058; 360 draws of Normal(5.2/sqrt(120), 2.8/sqrt(120)) one of 0.0135. Bounds are about 5 of them.
  it('layer 0 weights have mean near mu/sqrt(N_in) = 3.2/sqrt(5) and spread near 3.2/sqrt(5) (statistical, seed 3)', () => {
    const w = (JSON.parse(files.a) as Model).layers[0].weights.flat();
    const expected = 3.2 / Math.sqrt(5);
    expect(Math.abs(mean(w) - expected), `seed 3: mean ${mean(w)} vs ${expected}`).toBeLessThan(0.3);
    expect(Math.abs(std(w) / expected - 1), `seed 3: std ${std(w)} vs ${expected}`).toBeLessThan(0.15);
  });

  it('output layer weights have mean near 5.2/sqrt(120) and spread near 2.8/sqrt(120) (statistical, seed 3)', () => {
    const w = (JSON.parse(files.a) as Model).layers[1].weights.flat();
    const mu = 5.2 / Math.sqrt(120);
    const sigma = 2.8 / Math.sqrt(120);
    expect(Math.abs(mean(w) - mu), `seed 3: mean ${mean(w)} vs ${mu}`).toBeLessThan(0.07);
    expect(Math.abs(std(w) / sigma - 1), `seed 3: std ${std(w)} vs ${sigma}`).toBeLessThan(0.2);
  });
});

describe.concurrent('init rejects bad settings and writes nothing', () => {
  it.each([
    ['--classes 0', ['--classes', '0'], ['--classes', 'expected an integer of at least 2']],
    ['--out with no path', ['--out', ''], ['--out', 'expected a file path']],
  ] as [string, string[], string[]][])('%s', async (_what, flags, mentions) => {
    const dir = freshDir();
    const r = await runCli(['init', '--out', 'model.json', ...flags], dir);
    expectUserError(r, ...mentions);
    expect(folderState(dir)).toEqual({});
  });
});
