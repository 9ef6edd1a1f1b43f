import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256, writeDirAtomic } from '../../src/chip/config-dir.js';
import { exportModel } from '../../src/chip/export.js';
import { OnChipTrainer } from '../../src/chip/host/on-chip-training.js';
import { BUILTIN_MACHINES } from '../../src/chip/machine.js';
import { H } from '../../src/chip/memory-layout.js';
import type { QuantType } from '../../src/quant/quantise.js';
import { loadChipConfig } from '../../src/chip/sim/load-config.js';
import { ChipSimulator, TickRecorder } from '../../src/chip/sim/simulator.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { useBackend } from '../../src/engine/backend.js';
import { networkFromModel } from '../../src/engine/model-network.js';
import { parseModel } from '../../src/model/model-file.js';
import type { ModelFile } from '../../src/model/schema.js';
import { countSubnormals, FLT_MIN } from '../../src/numerics/flush.js';
import { encodeSet } from '../../src/train/batch-runner.js';
import { engineSpikeTrains } from '../../src/train/spike-trains.js';

/**
 * The subnormal rule on the chip simulator (docs/contract.md, "The subnormal rule"): the layer program flushes
 * I and V every step (in the layer's scaled domain for quantised weights), the export writes no subnormal
 * weights, and an image written before the rule (subnormal float32 weights) runs as the engine runs the
 * model: with those weights as +0.
 */

const TWIN = parseModel(JSON.parse(readFileSync(new URL('../../test/fixtures/twin-seed0-before-subnormal-rule.json', import.meta.url), 'utf8')), 'test/fixtures/twin-seed0-before-subnormal-rule.json');
const isSubnormal = (x: number) => x !== 0 && Math.abs(x) < FLT_MIN;

function writeConfig(files: Map<string, string | Uint8Array>): string {
  const dir = join(mkdtempSync(join(tmpdir(), 's2prop-subnormal-')), 'cfg');
  writeDirAtomic(dir, files);
  return dir;
}

/**
 * A one-layer model whose bias input (spiking at step 0) reaches 5 output neurons through weights 2^c,
 * alpha = beta = 1 - beta = 1/2 (tauSyn = tauMem = 1/ln 2 steps), threshold 1, T = 160: no neuron ever
 * spikes, and I, V decay into the subnormal range. By hand, with the rule (I[i] = 2^(c-i+1) while normal;
 * V[i] = min(i, 127 + c) * 2^(c-i) while normal; +0 after):
 */
const CS = [0, -1, -2, 0, -3];
const T = 160;
const expectedI = (c: number, i: number) => (c - i + 1 >= -126 ? 2 ** (c - i + 1) : 0);
const expectedV = (c: number, i: number) => {
  const v = Math.min(i, 127 + c) * 2 ** (c - i);
  return v < FLT_MIN ? 0 : v;
};

const DECAY: ModelFile = parseModel(
  {
    format: 's2prop-model',
    version: 1,
    steps: T,
    neuron: { dtMs: 1, tauMemMs: 1 / Math.LN2, tauSynMs: 1 / Math.LN2, threshold: 1 },
    loss: { type: 'ttfs-ce', xi: 1.5, alpha: 0.01, tau1: 100 },
    encoding: { type: 'latency', tMin: 2, tMax: 26, bias: true },
    features: ['x'],
    layers: [{ weights: [CS.map(() => 0), CS.map((c) => 2 ** c)] }],
  },
  'decay model',
);

describe('chip layer program: I and V flushed every step', () => {
  for (const quant of ['float32', 'int8'] as QuantType[]) {
    it(`${quant}: the state after every step is the hand value (int8: in the scaled domain, flushed below 2^-126 / 2^exp)`, () => {
      const exported = exportModel(DECAY, { quant, clipPercentile: 100, machine: BUILTIN_MACHINES.chip, slots: 1 });
      const sim = new ChipSimulator(loadChipConfig(writeConfig(exported.files)));
      const layer = sim.pes.find((p) => p.program === 'layer')!;
      const exp = layer.words[H.weightExp] | 0;
      expect(exp).toBe(quant === 'int8' ? -6 : 0);
      let sawFlushI = false;
      for (let i = 1; i < T; i++) {
        sim.reset();
        sim.writeFeatures(0, [0.5]);
        sim.runWindow(i + 1, new TickRecorder(sim.pes, i + 1, 1));
        const words = sim.region(layer.id, 'state');
        const state = new Float32Array(words.buffer, words.byteOffset, words.length);
        CS.forEach((c, j) => {
          const I = state[j] * 2 ** exp;
          const V = state[CS.length + j] * 2 ** exp;
          expect(I, `I of neuron ${j} at step ${i}`).toBe(expectedI(c, i));
          expect(V, `V of neuron ${j} at step ${i}`).toBe(expectedV(c, i));
          expect(Object.is(state[j], -0) || Object.is(state[CS.length + j], -0)).toBe(false);
          if (expectedI(c, i) === 0 && expectedI(c, i - 1) !== 0) sawFlushI = true;
        });
      }
      expect(sawFlushI).toBe(true);
      // without the rule I would be nonzero for another 22 steps: at step 140 it would be 2^(c - 139), a subnormal
      expect(isSubnormal(Math.fround(2 ** (0 - 139)))).toBe(true);
    });
  }
});

/** Rewrite the float32 weights of an export's layer images as an older version wrote them (not flushed). */
function asWrittenBeforeTheRule(files: Map<string, string | Uint8Array>, model: ModelFile): Map<string, string | Uint8Array> {
  const out = new Map(files);
  const spec = JSON.parse(files.get('spec.json') as string);
  for (const pe of spec.pes) {
    if (pe.program !== 'layer') continue;
    const bytes = Uint8Array.from(files.get(pe.image) as Uint8Array);
    const words = new Uint32Array(bytes.buffer);
    const f32 = new Float32Array(bytes.buffer);
    const regions = JSON.parse(files.get(pe.regions) as string).regions as { name: string; offset: number }[];
    const w = regions.find((r) => r.name === 'weights')!.offset;
    const [l, start, n, inputs] = [words[H.layer] - 1, words[H.neuronStart], words[H.neuronCount], words[H.inputs]];
    for (let k = 0; k < inputs; k++) for (let j = 0; j < n; j++) f32[w + k * n + j] = model.layers[l].weights[k][start + j];
    out.set(pe.image, bytes);
    pe.sha256 = sha256(bytes);
  }
  out.set('spec.json', JSON.stringify(spec, null, 2));
  return out;
}

describe('weights entering the chip are flushed', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('the committed twin model (written before the rule) holds subnormal weights; its export holds none', () => {
    expect(countSubnormals(TWIN.layers.map((l) => l.weights))).toBe(166 + 201);
    const exported = exportModel(TWIN, { quant: 'float32', clipPercentile: 100, machine: BUILTIN_MACHINES.chip, slots: 2 });
    const sim = new ChipSimulator(loadChipConfig(writeConfig(exported.files)));
    const layers = sim.pes.filter((p) => p.program === 'layer');
    expect(layers.length).toBeGreaterThan(0);
    for (const pe of layers) expect(countSubnormals([sim.layerWeights(pe.id)])).toBe(0);
  });

  it('an image written before the rule (subnormal weights) runs as the engine runs the model: spike for spike', async () => {
    const exported = exportModel(TWIN, { quant: 'float32', clipPercentile: 100, machine: BUILTIN_MACHINES.chip, slots: 2 });
    const old = asWrittenBeforeTheRule(exported.files, TWIN);
    const config = loadChipConfig(writeConfig(old));
    // the old image does hold subnormal weights ...
    const layerPe = [...config.pes.values()].find((p) => p.program === 'layer')!;
    const w = layerPe.regions.get('weights')!.offset;
    const raw = new Float32Array(layerPe.words.buffer, layerPe.words.byteOffset + 4 * w, layerPe.words[H.inputs] * layerPe.words[H.neuronCount]);
    expect(Array.from(raw).some(isSubnormal)).toBe(true);
    // ... which the layer program flushes as it starts
    const sim = new ChipSimulator(config);
    for (const pe of sim.pes.filter((p) => p.program === 'layer')) expect(countSubnormals([sim.layerWeights(pe.id)])).toBe(0);
    const test = yinyangDataset('test');
    const count = 40;
    const ds = { ...test, count, features: test.features.subarray(0, count * 4), labels: test.labels.subarray(0, count) };
    const run = sim.run(ds.features, ds.count, ds.labels, true);
    const net = networkFromModel(TWIN);
    const engine = await engineSpikeTrains(net, encodeSet(ds, { steps: TWIN.steps, ...TWIN.encoding }), 64);
    tf.dispose(net.weights);
    run.samples.forEach((s, i) => expect(s.spikes, `sample ${i}`).toEqual(engine.spikes[i]));
  });

  it('training export and one on-chip Adam update: no subnormal weights or moments', () => {
    const exported = exportModel(TWIN, {
      quant: 'float32',
      clipPercentile: 100,
      machine: BUILTIN_MACHINES.chip,
      slots: 2,
      training: { batchSize: 2, optimiser: { lr: 0.0019, gamma: 0.95, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 6.5e-7 }, packetsPerTick: 64 },
    });
    const dir = writeConfig(exported.files);
    const trainer = new OnChipTrainer(loadChipConfig(dir), dir);
    expect(countSubnormals(trainer.weights())).toBe(0);
    const spikes: [number, number][] = [
      [0, 5],
      [1, 9],
      [2, 20],
      [3, 14],
      [4, 0],
    ];
    trainer.runBatch(
      [
        { spikes, label: 0 },
        { spikes, label: 2 },
      ],
      { update: true, lr: 0.0019 },
    );
    expect(countSubnormals(trainer.weights())).toBe(0);
    const sim = trainer.sim;
    for (const pe of sim.pes.filter((p) => p.program === 'optimiser')) {
      const m = sim.region(pe.id, 'moments');
      const values = Array.from(new Float32Array(m.buffer, m.byteOffset, m.length));
      expect(values.some(isSubnormal)).toBe(false);
    }
  });
});
