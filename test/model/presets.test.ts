import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { presetConfig, TrainConfigSchema } from '../../src/model/train-config.js';

// The presets against the contract's "Reference settings" table (docs/contract.md).
describe('presets', () => {
  it('twin is the on-chip twin column: 5-120-3, T = 27 steps of 1 ms, xi 1.5, a 0.01, tau1 100 steps', () => {
    const c = TrainConfigSchema.parse(presetConfig('twin'));
    expect(c.hidden).toEqual([120]);
    expect([c.steps, c.neuron.dtMs, c.encoding.tMin, c.encoding.tMax]).toEqual([27, 1, 2, 26]);
    expect([c.loss.xi, c.loss.alpha, c.loss.tau1]).toEqual([1.5, 0.01, 100]);
    expect([c.optimiser.lr, c.optimiser.weightDecay, c.optimiser.gamma, c.batch, c.epochs]).toEqual([0.0019, 6.5e-7, 0.95, 22, 40]);
  });

  // The network, window and encoding of the exact-EventProp column in milliseconds; the loss, optimiser
  // initialisation, batch and epochs of the worst-seed sweep's trial 50 and the silent-label nudge instead of the
  // table's values (results/training-collapse/README.md, results/sweep/exact-1/summary.md).
  it('exact is the exact-EventProp network and window in milliseconds (inputs 0-30 ms of 40), with the nudge and swept settings', () => {
    const c = TrainConfigSchema.parse(presetConfig('exact'));
    const ms = (steps: number) => steps * c.neuron.dtMs;
    expect(c.hidden).toEqual([200]);
    expect(c.neuron.dtMs).toBeLessThan(1); // at 1 ms steps the 0.5 ms softmax temperature is sharper than the grid
    expect([ms(c.encoding.tMin), ms(c.encoding.tMax!), ms(c.steps)]).toEqual([0, 30, 40]);
    expect([c.neuron.tauSynMs, c.neuron.tauMemMs]).toEqual([5, 20]);
    expect(c.loss.nudge).toBe(0.01);
    const sweep = JSON.parse(readFileSync(new URL('../../results/sweep/exact-1/ten-seeds/t50.json', import.meta.url), 'utf8'));
    expect({ loss: c.loss, init: c.init, optimiser: c.optimiser, batch: c.batch }).toEqual({ loss: { ...sweep.loss, nudge: 0.01 }, init: sweep.init, optimiser: sweep.optimiser, batch: sweep.batch });
    expect(c.epochs).toBe(40);
  });
});
