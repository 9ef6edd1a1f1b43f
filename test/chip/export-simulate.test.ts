import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDirAtomic } from '../../src/chip/config-dir.js';
import { exportModel } from '../../src/chip/export.js';
import { KIND_SPIKE, keyFields, makeKey, POPULATION_MASK } from '../../src/chip/key-layout.js';
import { BUILTIN_MACHINES, type Machine } from '../../src/chip/machine.js';
import type { QuantType } from '../../src/quant/quantise.js';
import { mergeEntries } from '../../src/chip/routing.js';
import { loadChipConfig } from '../../src/chip/sim/load-config.js';
import { ChipSimulator } from '../../src/chip/sim/simulator.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { useBackend } from '../../src/engine/backend.js';
import { networkFromModel } from '../../src/engine/model-network.js';
import { parseModel } from '../../src/model/model-file.js';
import type { ModelFile } from '../../src/model/schema.js';
import { encodeSet } from '../../src/train/batch-runner.js';
import { engineSpikeTrains } from '../../src/train/spike-trains.js';
import { UserError } from '../../src/errors.js';

/**
 * The chip simulator, running only the exported directory, against the tensor engine's forward pass
 * with the weights as exported (dequantised): every spike of every layer must be identical.
 */

const TWIN = parseModel(JSON.parse(readFileSync(new URL('../../test/fixtures/twin-seed0-before-subnormal-rule.json', import.meta.url), 'utf8')), 'test/fixtures/twin-seed0-before-subnormal-rule.json');
const TEST = yinyangDataset('test');
const N = 120; // samples of the test split checked here (the validate command checks all 1000)

function subset(count: number) {
  return { ...TEST, count, features: TEST.features.subarray(0, count * 4), labels: TEST.labels.subarray(0, count) };
}

function asExported(model: ModelFile, quant: QuantType, clipPercentile: number): ModelFile {
  const { quantisation: _q, ...rest } = model;
  return quant === 'float32' ? rest : { ...rest, quantisation: { type: quant, clipPercentile } };
}

function exportTo(model: ModelFile, quant: QuantType, machine: Machine, slots: number, clipPercentile = 100) {
  const dir = join(mkdtempSync(join(tmpdir(), 's2prop-chip-')), 'cfg');
  const result = exportModel(model, { quant, clipPercentile, machine, slots });
  writeDirAtomic(dir, result.files);
  return { dir, report: result.report };
}

async function compare(model: ModelFile, quant: QuantType, machine: Machine, slots: number, count = N) {
  const { dir, report } = exportTo(model, quant, machine, slots);
  const ds = subset(count);
  const sim = new ChipSimulator(loadChipConfig(dir)).run(ds.features, ds.count, ds.labels, true);
  const net = networkFromModel(asExported(model, quant, 100));
  const engine = await engineSpikeTrains(net, encodeSet(ds, { steps: model.steps, ...model.encoding }), 64);
  net.weights.forEach((w) => w.dispose());
  sim.samples.forEach((s, i) => {
    expect(s.spikes, `sample ${i}: spikes of every layer`).toEqual(engine.spikes[i]);
    expect(s.firstSpikes, `sample ${i}: first spikes`).toEqual(engine.firstSpikes[i]);
  });
  // not vacuous: the hidden layer fires and the outputs answer
  expect(sim.samples.reduce((a, s) => a + s.spikes![0].length, 0)).toBeGreaterThan(count * 5);
  return { sim, report };
}

/** The built-in chip, with less data memory per PE (forces layers to be sliced) or fewer PEs per chip. */
function tinyMachine(overrides: { dataBytes?: number; pesPerChip?: number; chips?: number; gridWidth?: number }): Machine {
  const m = structuredClone(BUILTIN_MACHINES.chip);
  if (overrides.dataBytes) m.memory.dataBytesPerPe.value = overrides.dataBytes;
  if (overrides.pesPerChip) m.qpe.applicationPesPerChip.value = overrides.pesPerChip;
  if (overrides.chips) m.chips.count.value = overrides.chips;
  if (overrides.gridWidth) m.chips.gridWidth.value = overrides.gridWidth;
  return m;
}

describe('chip simulator = tensor engine with the exported weights, spike for spike', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  for (const quant of ['int8', 'int4', 'float32'] as const) {
    it(`twin model, ${quant}, ${N} test samples, 4 slots`, async () => {
      const { report } = await compare(TWIN, quant, BUILTIN_MACHINES.chip, 4);
      expect(report.activePes).toBe(12);
      expect(report.realTime.every((r) => r.fits)).toBe(true);
    });
  }

  it('a model of 0.25 ms steps: spike-exact, and the report says the 1 ms ticks run it at 0.25 × its time', async () => {
    expect(exportTo(TWIN, 'int8', BUILTIN_MACHINES.chip, 1).report.time).toEqual({ stepMs: 1, tickMicroseconds: 1000, speed: 1 });
    const fine: ModelFile = { ...TWIN, neuron: { ...TWIN.neuron, dtMs: 0.25 } };
    const { report } = await compare(fine, 'float32', BUILTIN_MACHINES.chip, 2, 60);
    expect(report.time).toEqual({ stepMs: 0.25, tickMicroseconds: 1000, speed: 0.25 });
  });

  it('a layer sliced across PEs (small PE memory): slices gather their inputs correctly', async () => {
    const { report } = await compare(TWIN, 'int8', tinyMachine({ dataBytes: 1200 }), 2, 60);
    const layer1 = report.pes.filter((p) => p.slot === 0 && p.layer === 1);
    expect(layer1.length).toBeGreaterThanOrEqual(3);
    expect(layer1.every((p) => p.bytes <= 1200)).toBe(true);
    expect(layer1.reduce((a, p) => a + p.neurons, 0)).toBe(120);
  });

  it('a slot spread over several chips: packets cross chip links and arrive exactly', async () => {
    const machine = tinyMachine({ dataBytes: 1200, pesPerChip: 4, chips: 16, gridWidth: 4 });
    const { sim, report } = await compare(TWIN, 'int8', machine, 2, 40);
    expect(report.chipsUsed).toBeGreaterThan(2);
    expect(sim.stats.packetHops).toBeGreaterThan(0);
    expect(sim.stats.packetsDropped).toBe(0);
  });

  it('each simulator runs its own copy of the images: one built after another has run (with other weights) runs as exported', () => {
    const config = loadChipConfig(exportTo(TWIN, 'int8', BUILTIN_MACHINES.chip, 2).dir);
    const data = subset(40);
    const fresh = new ChipSimulator(config).run(data.features, data.count, data.labels).samples.map((s) => s.firstSpikes);
    const first = new ChipSimulator(config);
    first.writeWeights(TWIN.layers.map((l) => l.weights.map((row) => row.map(() => 0))));
    const silent = first.run(data.features, data.count, data.labels).samples.map((s) => s.firstSpikes);
    expect(silent).not.toEqual(fresh); // zero weights: no output spikes
    const later = new ChipSimulator(config).run(data.features, data.count, data.labels).samples.map((s) => s.firstSpikes);
    expect(later).toEqual(fresh);
  });

  it('an export that cannot fit names the problem: an input PE larger than a PE\'s data memory', () => {
    expect(() => exportModel(TWIN, { quant: 'int8', clipPercentile: 100, machine: tinyMachine({ dataBytes: 200 }), slots: 1 })).toThrow(
      'the input program needs 308 bytes on a PE (header 256, params 16, features 16, spikeTimes 20), but a PE has 200 bytes for data',
    );
  });

  it('an export that cannot fit names the problem: too many slots for one chip', () => {
    expect(() => exportModel(TWIN, { quant: 'int8', clipPercentile: 100, machine: BUILTIN_MACHINES.chip, slots: 40 })).toThrow(/37 slot\(s\) fit.*the built-in board/);
  });
});

describe('a network too large for one chip', () => {
  // 5-1200-1200-1200-1200-3 in float32: each 1200-input layer needs 64 PEs; one slot needs about 200 PEs.
  const rng = () => 0.01;
  const sizes = [5, 1200, 1200, 1200, 1200, 3];
  const big: ModelFile = {
    ...TWIN,
    features: undefined,
    layers: sizes.slice(1).map((n, l) => ({ weights: Array.from({ length: sizes[l] }, () => new Array(n).fill(rng())) })),
  };

  it('is refused on one chip, saying how much it needs', () => {
    expect(() => exportModel(big, { quant: 'float32', clipPercentile: 100, machine: BUILTIN_MACHINES.chip, slots: 1 })).toThrow(UserError);
    expect(() => exportModel(big, { quant: 'float32', clipPercentile: 100, machine: BUILTIN_MACHINES.chip, slots: 1 })).toThrow(/PEs .* has 1 chip/);
  });

  it('is placed on the 48-chip board, every PE within its memory, routed across chips', () => {
    const { report } = exportModel(big, { quant: 'float32', clipPercentile: 100, machine: BUILTIN_MACHINES.board, slots: 2 });
    expect(report.chipsUsed).toBeGreaterThan(1);
    expect(report.pes.every((p) => p.bytes <= BUILTIN_MACHINES.board.memory.dataBytesPerPe.value)).toBe(true);
    expect(report.routerEntries.length).toBeGreaterThan(1);
  }, 60_000);
});

describe('routing keys and tables', () => {
  it('a key holds kind, slot, layer, slice and neuron and gives them back (key layout)', () => {
    const f = { kind: KIND_SPIKE, slot: 255, layer: 15, slice: 63, neuron: 4095 };
    expect(keyFields(makeKey(f))).toEqual(f);
    expect(makeKey({ kind: 1, slot: 0, layer: 0, slice: 0, neuron: 0 })).toBe(0x40000000);
    expect((makeKey({ ...f, slice: 3, neuron: 7 }) & POPULATION_MASK) >>> 0).toBe((makeKey({ ...f, slice: 0, neuron: 0 }) & POPULATION_MASK) >>> 0);
  });

  it('entries with one route whose keys differ in one bit merge into one (hand-made table)', () => {
    const k = (slot: number) => makeKey({ kind: 0, slot, layer: 1, slice: 0, neuron: 0 });
    const merged = mergeEntries([
      { key: k(2), mask: POPULATION_MASK, pes: ['c0q1p0'], links: [] },
      { key: k(3), mask: POPULATION_MASK, pes: ['c0q1p0'], links: [] },
      { key: k(4), mask: POPULATION_MASK, pes: ['c0q2p0'], links: [] },
    ]);
    expect(merged).toHaveLength(2);
    const both = merged.find((e) => e.pes[0] === 'c0q1p0')!;
    expect(((k(2) & both.mask) >>> 0) === both.key && ((k(3) & both.mask) >>> 0) === both.key).toBe(true);
    expect(((k(4) & both.mask) >>> 0) === both.key).toBe(false);
  });
});
