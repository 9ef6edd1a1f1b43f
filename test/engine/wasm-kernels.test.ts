import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MT19937 } from '../../src/data/mt19937.js';
import { useBackend } from '../../src/engine/backend.js';
import { backward, disposeTrace, forward, ttfsLoss, type EngineNetwork } from '../../src/engine/network.js';
import { setUseWasmKernels } from '../../src/engine/typed-kernel.js';
import { wasmKernelsBuilt } from '../../src/engine/wasm-kernels.js';
import { neuronConstants } from '../../src/model/neuron.js';

/**
 * The WebAssembly kernels (native float32, four neurons per SIMD vector) must give bit for bit what the
 * typed-array kernels give: the same operations in the same order. Sizes include neuron counts that
 * are not multiples of four (the scalar tail) and many spikes per neuron.
 */

const K = neuronConstants({ dtMs: 1, tauMemMs: 20, tauSynMs: 5, threshold: 1 });

function run(sizes: number[], T: number, B: number, seed: number) {
  const rng = new MT19937(seed);
  const weights = sizes.slice(1).map((n, l) =>
    tf.tensor2d(Array.from({ length: sizes[l] }, () => Array.from({ length: n }, () => Math.fround((2.5 + 2 * rng.gauss()) / Math.sqrt(sizes[l]) * 1.5)))),
  );
  const net: EngineNetwork = { weights, constants: K, loss: { xi: 1.5, alpha: 0.01, tau1: 100 } };
  const raster = new Uint8Array(B * T * sizes[0]);
  for (let i = 0; i < raster.length; i++) raster[i] = rng.rand() < 0.08 ? 1 : 0;
  const input = tf.tensor3d(raster, [B, T, sizes[0]], 'bool');
  const labels = tf.tensor1d(Array.from({ length: B }, () => rng.randint(sizes[sizes.length - 1])), 'int32');
  const trace = forward(net, input);
  const loss = ttfsLoss(net, trace.spikes[trace.spikes.length - 1], labels);
  const grads = backward(net, trace, loss.errors);
  const out = {
    spikes: trace.spikes.slice(1).map((t) => Array.from(t.dataSync())),
    D: trace.D.map((t) => Array.from(t.dataSync())),
    grads: grads.map((g) => Array.from(g.dataSync())),
  };
  disposeTrace(trace);
  tf.dispose([input, labels, loss.firstSpikes, loss.terms, loss.errors, ...grads, ...weights]);
  return out;
}

describe('WebAssembly kernels = typed-array kernels, bit for bit', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });
  afterAll(() => setUseWasmKernels(true));

  it('are built (npm run build assembles src/engine/wasm/*.wat)', () => {
    expect(wasmKernelsBuilt()).toBe(true);
  });

  for (const [sizes, T, B, seed] of [
    [[5, 120, 3], 27, 22, 1],
    [[7, 13, 6, 5], 30, 9, 2],
    [[16, 33, 31, 2], 25, 5, 3],
  ] as [number[], number, number, number][]) {
    it(`network ${sizes.join('-')}, T=${T}, batch ${B}`, () => {
      setUseWasmKernels(false);
      const js = run(sizes, T, B, seed);
      setUseWasmKernels(true);
      const wasm = run(sizes, T, B, seed);
      expect(js.spikes.flat().some((v) => v !== 0)).toBe(true);
      expect(js.grads.flat().some((v) => v !== 0)).toBe(true);
      expect(wasm.spikes).toEqual(js.spikes);
      expect(wasm.D).toEqual(js.D);
      expect(wasm.grads).toEqual(js.grads);
    });
  }
});
