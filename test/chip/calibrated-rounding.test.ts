import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { calibrateRounding } from '../../src/chip/calibrated-rounding.js';
import { writeDirAtomic } from '../../src/chip/config-dir.js';
import { exportModel } from '../../src/chip/export.js';
import { BUILTIN_MACHINES } from '../../src/chip/machine.js';
import { quantiseModel } from '../../src/chip/model-quantisation.js';
import { dequantise, mantissaMax, quantiseLayer, type LayerQuantisation } from '../../src/chip/quantise.js';
import { loadChipConfig } from '../../src/chip/sim/load-config.js';
import { ChipSimulator } from '../../src/chip/sim/simulator.js';
import { encodeDataset } from '../../src/data/encoding.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { useBackend } from '../../src/engine/backend.js';
import { networkFromModel } from '../../src/engine/model-network.js';
import { parseModel } from '../../src/model/model-file.js';
import { neuronConstants } from '../../src/model/neuron.js';
import type { ModelFile } from '../../src/model/schema.js';
import { encodeSet } from '../../src/train/batch-runner.js';
import { evaluate } from '../../src/train/evaluate.js';
import { engineSpikeTrains } from '../../src/train/spike-trains.js';

/**
 * Calibrated rounding (src/chip/calibrated-rounding.ts): a case small enough to follow by hand, and the
 * committed twin model, whose calibration is checked against the tensor engine (an independent
 * implementation of the same network) and exported to the simulator.
 */

vi.setConfig({ testTimeout: 60_000 });

const TWIN = parseModel(JSON.parse(readFileSync(new URL('../../results/main/model.json', import.meta.url), 'utf8')), 'results/main/model.json');

/** The twin model running the given quantised layers (dequantised), as the chip does. */
function withLayers(model: ModelFile, layers: LayerQuantisation[]): ModelFile {
  const { quantisation: _q, ...rest } = model;
  return { ...rest, layers: layers.map((l) => ({ weights: dequantise(l) })) };
}

describe('calibrated rounding, by hand', () => {
  // alpha = beta = 1 - beta = 0.5, threshold 1, T = 4; one input spiking at step 0 with weight w gives
  // I = w, V = 0.5 w in step 1, then V = 0.5 w, 0.375 w: the neuron spikes (in step 1) iff w > 2.
  const c = { alpha: 0.5, beta: 0.5, oneMinusBeta: 0.5, threshold: 1 };
  const weights = [[[1.0, 2.05]]]; // one layer: output 0 never spikes; output 1 spikes in step 1 (V = 1.025)
  const set = { encoded: Int32Array.from([0, 0, 0]), labels: [1, 1, 1] }; // three samples, one input pattern

  it('int4: exp = ceil(log2(2.05/7)) = -1; nearest mantissas 2, 4 (w 2.0: V = 1, no spike) misclassify all 3; calibrated 2, 5 (w 2.5) classify all 3', () => {
    const { layers, report } = calibrateRounding(weights, 'int4', 100, set, 4, c);
    expect(layers[0].exp).toBe(-1);
    expect([...layers[0].mantissas]).toEqual([2, 5]);
    expect(dequantise(layers[0])).toEqual([[1, 2.5]]);
    // Finer exponents: -2 clips 2.05 to 7 * 0.25 = 1.75 and -3 to 0.875, which never spike: -1 stays.
    expect(report).toMatchObject({ samples: 3, patterns: 1, errorsNearest: 3, errors: 0, exponents: [-1], exponentsRule: [-1], changed: [1] });
    // First-spike distance from float ([T, 1] = [4, 1]): nearest [4, 4] is 3 per sample, calibrated [4, 1] is 0.
    expect([report.distanceNearest, report.distance]).toEqual([9, 0]);
  });

  it('radius 1 (floor or ceil only) finds the same; a mantissa never moves when no sample changes (output 0 stays at 2)', () => {
    const { layers } = calibrateRounding(weights, 'int4', 100, set, 4, c, { radius: 1, finerExponents: 0, rounds: 1 });
    expect([...layers[0].mantissas]).toEqual([2, 5]);
  });

  it('fixed exponents are kept: exp -2 clips 2.05 to 7 (1.75, silent), no move can help, all 3 stay misclassified', () => {
    const { layers, report } = calibrateRounding(weights, 'int4', 100, set, 4, c, { exponents: [-2] });
    expect(layers[0].exp).toBe(-2);
    expect([...layers[0].mantissas]).toEqual([4, 7]);
    expect(layers[0].clipped).toBe(1);
    expect(report.errors).toBe(3);
  });
});

describe('calibrated rounding of the twin model (200 training samples, 2 rounds, 1 finer exponent)', () => {
  const train = yinyangDataset({ size: 200, seed: 11 });
  const options = { rounds: 2, finerExponents: 1 };
  const encoded = encodeDataset(train, { steps: TWIN.steps, ...TWIN.encoding });
  const c = neuronConstants(TWIN.neuron);

  beforeAll(async () => {
    await useBackend('wasm');
  });

  for (const q of ['int8', 'int4'] as const) {
    it(`${q}: the misclassifications it reports are the tensor engine's, before and after; fewer after; mantissas in range and < 2 steps from w / 2^exp`, async () => {
      const w = TWIN.layers.map((l) => l.weights);
      const { layers, report } = calibrateRounding(w, q, 100, { encoded, labels: train.labels }, TWIN.steps, c, options);
      const set = encodeSet(train, { steps: TWIN.steps, ...TWIN.encoding });
      const errors = async (model: ModelFile) => {
        const net = networkFromModel(model);
        const e = await evaluate(net, set, 100);
        net.weights.forEach((t) => t.dispose());
        return e.count - Math.round(e.accuracy * e.count);
      };
      const nearest = w.map((l) => quantiseLayer(l, q, 100));
      expect(await errors(withLayers(TWIN, nearest))).toBe(report.errorsNearest);
      expect(await errors(withLayers(TWIN, layers))).toBe(report.errors);
      expect(report.errors).toBeLessThan(report.errorsNearest);
      expect(report.patterns).toBeLessThan(200); // samples with the same input spikes are run once
      layers.forEach((layer, l) => {
        expect(layer.exp).toBeLessThanOrEqual(nearest[l].exp);
        expect(layer.exp).toBeGreaterThanOrEqual(nearest[l].exp - 1);
        const scale = 2 ** layer.exp;
        w[l].flat().forEach((v, i) => {
          expect(Math.abs(layer.mantissas[i])).toBeLessThanOrEqual(mantissaMax(q));
          if (Math.abs(v / scale) <= mantissaMax(q)) expect(Math.abs(layer.mantissas[i] - v / scale)).toBeLessThan(2);
        });
      });
    });
  }

  it('int8 export with calibrated rounding: the simulator equals the engine on the calibrated weights, spike for spike (60 test samples), and export.json holds the mantissas', async () => {
    const quantised = quantiseModel(TWIN, 'int8', 100, 'calibrated', train, options);
    expect(quantised.calibration).toMatchObject({ data: train.source, samples: 200 });
    const dir = join(mkdtempSync(join(tmpdir(), 's2prop-chip-')), 'cfg');
    const { files, report } = exportModel(TWIN, { quant: 'int8', clipPercentile: 100, machine: BUILTIN_MACHINES.chip, slots: 2, quantised });
    writeDirAtomic(dir, files);
    expect(report.rounding).toBe('calibrated');
    const info = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as { quant: { rounding: string; layers: { exp: number; mantissas: string }[] } };
    expect(info.quant.rounding).toBe('calibrated');
    info.quant.layers.forEach((l, i) => {
      expect(l.exp).toBe(quantised.layers[i].exp);
      expect([...new Int8Array(Buffer.from(l.mantissas, 'base64'))]).toEqual([...quantised.layers[i].mantissas]);
    });

    const test = yinyangDataset('test');
    const ds = { ...test, count: 60, features: test.features.subarray(0, 240), labels: test.labels.subarray(0, 60) };
    const sim = new ChipSimulator(loadChipConfig(dir)).run(ds.features, ds.count, ds.labels, true);
    const net = networkFromModel(withLayers(TWIN, quantised.layers));
    const engine = await engineSpikeTrains(net, encodeSet(ds, { steps: TWIN.steps, ...TWIN.encoding }), 64);
    net.weights.forEach((t) => t.dispose());
    sim.samples.forEach((s, i) => expect(s.spikes, `sample ${i}`).toEqual(engine.spikes[i]));
    // not vacuous: calibration moved mantissas, so nearest rounding would give other spikes somewhere
    expect(quantised.calibration!.changed.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});
