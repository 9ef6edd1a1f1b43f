import { describe, expect, it } from 'vitest';
import { lifForwardKernel } from '../../src/engine/lif-forward-kernel.js';
import { firstSpikeFrom, runLayer, traceNeuron } from '../../src/quant/calibration-lif.js';

/**
 * Calibrated rounding runs the contract's step with its subnormal rule, as the engine does. Hand case where
 * the flush decides a spike: alpha = 2^-100, beta = 0, 1 - beta = 1, threshold 0, one input spike in step 0
 * with weight 2^-30. Step 1: I = V = 2^-30 > 0, a spike. Step 2: I = 2^-130, subnormal, flushed to +0, so
 * V = 0 and no spike (unflushed, V = 2^-130 > 0 would spike). Then nothing more.
 */
describe('calibration LIF runs flush stored I and V like the engine (hand calculation)', () => {
  const steps = 5;
  const c = { alpha: 2 ** -100, beta: 0, oneMinusBeta: 1, threshold: 0 };
  const x = Float64Array.from({ length: steps }, (_, t) => (t === 0 ? 2 ** -30 : 0));
  const expected = [0, 1, 0, 0, 0];

  it('runLayer, traceNeuron and firstSpikeFrom: one spike, in step 1', () => {
    const out = new Uint8Array(steps);
    runLayer(x, 0, steps, 1, c, out, 0, new Float64Array(1), new Float64Array(1));
    expect([...out]).toEqual(expected);

    const I = new Float32Array(steps);
    const V = new Float32Array(steps);
    expect(traceNeuron(x, 0, 1, 0, steps, c, I, V, null)).toBe(1);
    expect(Object.is(I[2], 0)).toBe(true);
    // From the state after step 1 (reset): no later spike.
    expect(firstSpikeFrom(x, 0, 1, 1, steps, c, I, V)).toBe(steps);
  });

  it("the engine's typed kernel gives the same spikes", () => {
    const s = new Uint8Array(steps);
    const D = new Float32Array(steps);
    const sIn = Uint8Array.from(expected.map((_, t) => (t === 0 ? 1 : 0)));
    lifForwardKernel.compute([sIn, Float32Array.of(2 ** -30)], [[1, steps, 1], [1, 1]], [s, D], c);
    expect([...s]).toEqual(expected);
  });
});
