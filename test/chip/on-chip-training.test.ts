import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDirAtomic } from '../../src/chip/config-dir.js';
import { exportModel } from '../../src/chip/export.js';
import { BUILTIN_MACHINES, type Machine } from '../../src/chip/machine.js';
import { loadChipConfig } from '../../src/chip/sim/load-config.js';
import { OnChipTrainer, type TrainSample } from '../../src/chip/host/on-chip-training.js';
import { MT19937 } from '../../src/data/mt19937.js';
import { useBackend } from '../../src/engine/backend.js';
import { batchGradients } from '../../src/engine/gradients.js';
import type { BatchFile } from '../../src/formats/batch-file.js';
import { initModel } from '../../src/model/init.js';
import { parseModel } from '../../src/model/model-file.js';
import type { ModelFile } from '../../src/model/schema.js';
import { presetConfig } from '../../src/model/train-config.js';
import { Optimiser } from '../../src/train/optimiser.js';
import * as tf from '@tensorflow/tfjs-core';
import { H } from '../../src/chip/memory-layout.js';

/**
 * The on-chip EventProp programs (input, layer forward/backward, loss, optimiser), running only the
 * exported training directory, against `s2prop grad` (the tensor engine) on the same model and batch.
 */

const TWIN = parseModel(JSON.parse(readFileSync(new URL('../../test/fixtures/twin-seed0-before-subnormal-rule.json', import.meta.url), 'utf8')), 'test/fixtures/twin-seed0-before-subnormal-rule.json');
const ADAM = { lr: 0.0019, gamma: 0.95, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 6.5e-7 };

function exportTraining(model: ModelFile, slots: number, opts: { machine?: Machine; packetsPerTick?: number; batchSize?: number } = {}) {
  const dir = join(mkdtempSync(join(tmpdir(), 's2prop-train-')), 'cfg');
  const result = exportModel(model, {
    quant: 'float32',
    clipPercentile: 100,
    machine: opts.machine ?? BUILTIN_MACHINES.chip,
    slots,
    training: { batchSize: opts.batchSize ?? slots, optimiser: ADAM, packetsPerTick: opts.packetsPerTick ?? 64 },
  });
  writeDirAtomic(dir, result.files);
  return { dir, report: result.report };
}

/** Latency-coded Yin-Yang-like inputs plus random extra spikes, seeded. */
function randomBatch(model: ModelFile, count: number, seed: number, classes: number): BatchFile {
  const rng = new MT19937(seed);
  const T = model.steps;
  const inputs = model.layers[0].weights.length;
  return {
    steps: T,
    inputs,
    samples: Array.from({ length: count }, () => {
      const spikes: [number, number][] = [];
      for (let k = 0; k < inputs; k++) {
        spikes.push([k, k === inputs - 1 ? 0 : 2 + rng.randint(T - 3)]);
        if (rng.randint(10) < 3) spikes.push([k, rng.randint(T)]);
      }
      return { spikes, label: rng.randint(classes) };
    }),
  };
}

function maxAbs(m: number[][][]): number {
  return Math.max(...m.flat(2).map(Math.abs));
}

function expectClose(chip: number[][][], engine: number[][][], rel: number) {
  const scale = maxAbs(engine);
  expect(scale, 'not vacuous: the engine gradient is nonzero').toBeGreaterThan(0);
  engine.forEach((layer, l) => {
    const worst = Math.max(...layer.flatMap((row, k) => row.map((g, j) => Math.abs(g - chip[l][k][j]))));
    expect(worst / scale, `layer ${l + 1}: largest difference relative to the largest entry`).toBeLessThan(rel);
    expect(Math.max(...layer.flat().map(Math.abs)), `layer ${l + 1} gets a gradient`).toBeGreaterThan(0);
  });
}

function chipGradients(dir: string, batch: BatchFile) {
  const trainer = new OnChipTrainer(loadChipConfig(dir), dir);
  const samples: TrainSample[] = batch.samples.map((s) => ({ spikes: s.spikes, label: s.label }));
  const outcomes = trainer.runBatch(samples, { update: false, lr: 0 });
  return { trainer, outcomes, grads: trainer.gradients() };
}

describe('chip-grad: on-chip gradients = s2prop grad (within 1e-5 of the largest entry)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('twin model (1 hidden layer), batch 7 on 3 slots (3 rounds), first spikes and loss equal', async () => {
    const batch = randomBatch(TWIN, 7, 11, 3);
    const { dir } = exportTraining(TWIN, 3);
    const { outcomes, grads } = chipGradients(dir, batch);
    const engine = await batchGradients(TWIN, batch);
    expectClose(grads, engine.grads, 1e-5);
    expect(outcomes.map((o) => o.firstSpikes)).toEqual(engine.firstSpikes);
    const loss = outcomes.reduce((a, o) => a + o.ce + o.r, 0) / outcomes.length;
    expect(Math.abs(loss - engine.loss) / engine.loss).toBeLessThan(1e-5);
  });

  it('2 hidden layers (5-40-30-3), errors travel back two layers; sliced layers on a small-SRAM machine', async () => {
    const config = { ...presetConfig('twin'), hidden: [40, 30], seed: 5 };
    const model = initModel(config, 5, 3);
    const batch = randomBatch(model, 6, 12, 3);
    const engine = await batchGradients(model, batch);
    expectClose(chipGradients(exportTraining(model, 4).dir, batch).grads, engine.grads, 1e-5);
    // The same on PEs whose data memory holds only a few neurons of a layer: slices gather correctly.
    const small = structuredClone(BUILTIN_MACHINES.chip);
    small.memory.dataBytesPerPe.value = 12000;
    const { dir, report } = exportTraining(model, 2, { machine: small, packetsPerTick: 40 });
    expect(report.pes.filter((p) => p.program === 'layer' && p.layer === 2 && p.slot === 0).length).toBeGreaterThan(1);
    expectClose(chipGradients(dir, batch).grads, engine.grads, 1e-5);
  });
});

describe('on-chip Adam = the engine optimiser', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('one update of the twin (batch 5 in 2 rounds of 3 slots): weights within 1e-6, every slot\'s layer PEs receive them', async () => {
    const batch = randomBatch(TWIN, 5, 13, 3);
    const { dir } = exportTraining(TWIN, 3);
    const trainer = new OnChipTrainer(loadChipConfig(dir), dir);
    const lr = 0.0019;
    trainer.runBatch(batch.samples.map((s) => ({ spikes: s.spikes, label: s.label })), { update: true, lr });
    const chip = trainer.weights();
    // The engine: gradients of the same batch, then the trainer's Adam step.
    const engine = await batchGradients(TWIN, batch);
    const opt = new Optimiser('adam', TWIN.layers.map((l) => [l.weights.length, l.weights[0].length] as [number, number]), [{ type: 'adam', momentum: 0, ...ADAM }]);
    const weights = TWIN.layers.map((l) => tf.tensor3d([l.weights]));
    const grads = engine.grads.map((g) => tf.tensor3d([g]));
    opt.apply(weights, grads, [lr]);
    const expected = weights.map((w) => w.arraySync()[0]);
    tf.dispose([...weights, ...grads]);
    opt.dispose();
    let moved = 0;
    expected.forEach((layer, l) =>
      layer.forEach((row, k) =>
        row.forEach((w, j) => {
          expect(Math.abs(chip[l][k][j] - w), `layer ${l + 1} weight (${k}, ${j})`).toBeLessThan(1e-6);
          moved = Math.max(moved, Math.abs(w - TWIN.layers[l].weights[k][j]));
        }),
      ),
    );
    expect(moved, 'not vacuous: Adam moved weights by about lr').toBeGreaterThan(0.5 * lr);
    // Every layer PE of every slot now holds the optimiser's weights.
    for (const pe of trainer.sim.pes.filter((p) => p.program === 'layer')) {
      const [l, n, start] = [pe.words[H.layer] - 1, pe.words[H.neuronCount], pe.words[H.neuronStart]];
      const words = trainer.sim.region(pe.id, 'weights');
      const w = new Float32Array(words.buffer, words.byteOffset, words.length);
      chip[l].forEach((row, k) => row.slice(start, start + n).forEach((v, j) => expect(w[k * n + j]).toBe(v)));
    }
  });

  it('state() and restore() round-trip the chip state (weights, moments, counters) exactly', () => {
    const batch = randomBatch(TWIN, 4, 14, 3);
    const { dir } = exportTraining(TWIN, 2);
    const a = new OnChipTrainer(loadChipConfig(dir), dir);
    const samples = batch.samples.map((s) => ({ spikes: s.spikes, label: s.label }));
    a.runBatch(samples, { update: true, lr: 0.002 });
    const b = new OnChipTrainer(loadChipConfig(dir), dir);
    b.restore(a.state());
    expect(b.state()).toEqual(a.state());
    a.runBatch(samples, { update: true, lr: 0.002 });
    b.runBatch(samples, { update: true, lr: 0.002 });
    expect(b.weights()).toEqual(a.weights());
  });
});
