import { describe, expect, it } from 'vitest';
import { checkMemory, estimateMemory } from '../../src/engine/memory-estimate.js';

describe('estimateMemory', () => {
  it('the twin 5-120-3 at T 27, batch 22, evaluation batch 250 on wasm: bytes by hand', () => {
    // forward per sample: 27 * (5 input bytes + 5 bytes (spike + D) * 123 neurons) = 16 740
    // backward per sample: 27 * 4 * 120 (eps_in of layer 2) = 12 960; weights 16 * (600 + 360) = 15 360
    const e = estimateMemory({ sizes: [5, 120, 3], steps: 27, batch: 22, evalBatch: 250, trials: 1 }, 'wasm');
    expect(e).toEqual({ trainingBatch: 22 * (16740 + 12960), evaluationBatch: 250 * 16740, weights: 15360, peak: 250 * 16740 + 15360 });
  });

  it('webgpu stores spikes as int32 and keeps per-step adjoint buffers and input-step lists', () => {
    // forward: 27 * (5 + 8 * 123) = 26 703; backward: 27 * (480 + 8 * 123 + 8 * (5 + 120)) = 66 528
    const e = estimateMemory({ sizes: [5, 120, 3], steps: 27, batch: 22, evalBatch: 250, trials: 4 }, 'webgpu');
    expect(e.trainingBatch).toBe(22 * (26703 + 66528));
    expect(e.weights).toBe(4 * 15360);
  });
});

describe('checkMemory', () => {
  it('passes the presets and refuses 5-5000-3 at 2000 steps, batch 256 on wasm with the estimate and the limit', () => {
    expect(() => checkMemory({ sizes: [5, 200, 3], steps: 160, batch: 32, evalBatch: 250, trials: 1 }, 'wasm', 'exact')).not.toThrow();
    // 256 * 2000 * (5 + 5 * 5003 + 4 * 5000) = 23.05e9 bytes = 21.5 GiB for a training batch
    expect(() => checkMemory({ sizes: [5, 5000, 3], steps: 2000, batch: 256, evalBatch: 250, trials: 1 }, 'wasm', 'a 5-5000-3 network at 2000 steps')).toThrow(
      "a 5-5000-3 network at 2000 steps: needs about 21.5 GiB of tensor memory (a training batch of 256 samples x 2000 steps x 5008 neurons), more than the wasm backend's 2 GiB memory; use fewer steps, neurons or samples per batch",
    );
  });
});
