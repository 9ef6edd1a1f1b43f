import { describe, expect, it } from 'vitest';
import { presetConfig, TrainConfigSchema } from '../../src/model/train-config.js';

// The presets against the contract's "Reference settings" table (shared/reference/docs/contract.md).
describe('presets', () => {
  it('twin is the on-chip twin column: 5-120-3, T = 27 steps of 1 ms, xi 1.5, a 0.01, tau1 100 steps', () => {
    const c = TrainConfigSchema.parse(presetConfig('twin'));
    expect(c.hidden).toEqual([120]);
    expect([c.steps, c.neuron.dtMs, c.encoding.tMin, c.encoding.tMax]).toEqual([27, 1, 2, 26]);
    expect([c.loss.xi, c.loss.alpha, c.loss.tau1]).toEqual([1.5, 0.01, 100]);
    expect([c.optimiser.lr, c.optimiser.weightDecay, c.optimiser.gamma, c.batch, c.epochs]).toEqual([0.0019, 6.5e-7, 0.95, 22, 40]);
  });

  // a is 0.01, not the table's 0.003: with 0.003 the output layer fell silent and seeds collapsed
  // (results/training-collapse/README.md).
  it('exact is the exact-EventProp column in milliseconds: inputs 0-30 ms, tau0 0.5 ms, tau1 6.4 ms, a 0.01 (not 0.003)', () => {
    const c = TrainConfigSchema.parse(presetConfig('exact'));
    const ms = (steps: number) => steps * c.neuron.dtMs;
    expect(c.hidden).toEqual([200]);
    expect(c.neuron.dtMs).toBeLessThan(1); // at 1 ms steps the 0.5 ms softmax temperature is sharper than the grid
    expect([ms(c.encoding.tMin), ms(c.encoding.tMax!), ms(c.steps)]).toEqual([0, 30, 40]);
    expect([ms(c.loss.xi), c.loss.alpha, ms(c.loss.tau1)]).toEqual([0.5, 0.01, 6.4]);
    expect([c.neuron.tauSynMs, c.neuron.tauMemMs]).toEqual([5, 20]);
    expect([c.optimiser.lr, c.optimiser.gamma, c.batch, c.epochs]).toEqual([0.005, 0.95, 32, 100]);
  });
});
