import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it, vi } from 'vitest';
import { useBackend } from '../../src/engine/backend.js';
import { batchGradients } from '../../src/engine/gradients.js';
import { lifAdjointKernel } from '../../src/engine/lif-adjoint-kernel.js';
import { lifForwardKernel } from '../../src/engine/lif-forward-kernel.js';
import { ttfsLossKernel } from '../../src/engine/ttfs-loss-kernel.js';
import type { ModelFile } from '../../src/model/schema.js';

// Stand in for @tensorflow/tfjs-node (not installable here): a package that, when imported, registers a
// backend named 'tensorflow' — what the real one does. Its ops are the cpu backend's and it has no
// custom kernels, so the engine must run there as plain tf ops (the op path).
vi.mock('@tensorflow/tfjs-node', () => {
  tf.registerBackend('tensorflow', () => new MathBackendCPU());
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'tensorflow' });
  return {};
});

const MODEL: ModelFile = {
  format: 's2prop-model',
  version: 1,
  steps: 12,
  neuron: { dtMs: 1, tauMemMs: 20, tauSynMs: 5, threshold: 1 },
  loss: { type: 'ttfs-ce', xi: 1.5, alpha: 0.01, tau1: 100 },
  encoding: { type: 'latency', tMin: 0, tMax: 11, bias: false },
  layers: [{ weights: [[8, 3], [2, 7]] }, { weights: [[6, 1], [1, 6]] }],
};
const BATCH = { steps: 12, inputs: 2, samples: [{ spikes: [[0, 1], [1, 4]] as [number, number][], label: 0 }, { spikes: [[1, 0]] as [number, number][], label: 1 }] };

describe('backend selection', () => {
  it('auto picks the native tensorflow backend when its package loads; the engine runs there as tf ops, not CPU loops, with the same numbers', async () => {
    const onCpu = (await useBackend('cpu'), await batchGradients(MODEL, BATCH));
    expect(await useBackend('auto')).toBe('tensorflow');
    const loops = [lifForwardKernel, ttfsLossKernel, lifAdjointKernel].map((k) => vi.spyOn(k, 'compute'));
    const onNative = await batchGradients(MODEL, BATCH);
    for (const loop of loops) expect(loop).not.toHaveBeenCalled();
    loops.forEach((l) => l.mockRestore());
    expect(onNative.firstSpikes).toEqual(onCpu.firstSpikes);
    expect(onNative.loss).toBeCloseTo(onCpu.loss, 6);
    const scale = Math.max(...onCpu.grads.flat(2).map(Math.abs));
    expect(scale).toBeGreaterThan(0);
    onNative.grads.flat(2).forEach((g, i) => expect(Math.abs(g - onCpu.grads.flat(2)[i])).toBeLessThan(1e-5 * scale));
  });

  it('--backend tensorflow selects it explicitly; wasm and cpu by name', async () => {
    expect(await useBackend('tensorflow')).toBe('tensorflow');
    expect(await useBackend('wasm')).toBe('wasm');
    expect(await useBackend('cpu')).toBe('cpu');
  });
});
