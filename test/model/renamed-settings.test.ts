import { describe, expect, it } from 'vitest';
import { presetConfig, optimiserOf, resolveConfig, withCurrentNames } from '../../src/model/train-config.js';
import { initModel } from '../../src/model/init.js';
import { parseSpace } from '../../src/sweep/space/space-file.js';
import { trialConfig } from '../../src/sweep/worker.js';
import { CheckpointSchema } from '../../src/train/checkpoint.js';
import { trainConfigFromArgs } from '../../src/cli/train-flags.js';

/**
 * The optimiser's settings were once called `optimizer`. Files written with the old name (config files,
 * sweep spaces, models' stored settings, checkpoints) still mean the same settings.
 */
describe('settings written under their old names', () => {
  it('a config layer with optimizer sets the optimiser; where both names are given the current one wins', () => {
    expect(resolveConfig('twin', [{ optimizer: { lr: 0.003 } }], 'old').optimiser.lr).toBe(0.003);
    expect(resolveConfig('twin', [{ optimizer: { lr: 0.003 } }], 'old')).toEqual(resolveConfig('twin', [{ optimiser: { lr: 0.003 } }], 'new'));
    expect(resolveConfig('twin', [{ optimizer: { lr: 1e-3 } }, { optimiser: { lr: 2e-3 } }], 'flags later').optimiser.lr).toBe(2e-3);
    expect(resolveConfig('twin', [{ optimiser: { lr: 2e-3 } }, { optimizer: { lr: 1e-3 } }], 'old file later').optimiser.lr).toBe(1e-3);
    expect(withCurrentNames({ optimiser: { lr: 2 }, optimizer: { lr: 1, gamma: 0.5 } })).toEqual({ optimiser: { lr: 2, gamma: 0.5 } });
  });

  it('--optimizer.lr as a flag is --optimiser.lr', () => {
    const flags = { preset: 'twin', out: 'm.json', resume: false, backend: 'wasm' };
    expect(trainConfigFromArgs({ ...flags, optimizer: { lr: 0.003 } })).toEqual(trainConfigFromArgs({ ...flags, optimiser: { lr: 0.003 } }));
    expect(trainConfigFromArgs({ ...flags, optimizer: { lr: 0.003 } }).optimiser.lr).toBe(0.003);
  });

  it('a sweep space with optimizer.lr trains the optimiser with it', () => {
    const space = parseSpace(
      {
        format: 's2prop-space',
        version: 1,
        base: { preset: 'twin', settings: { optimizer: { gamma: 0.9 } } },
        objective: { metric: 'validationAccuracy', direction: 'maximize' },
        budget: { trials: 1, epochs: 1 },
        sampler: { type: 'random', seed: 0 },
        parameters: { 'optimizer.lr': { type: 'fixed', value: 0.0042 } },
      },
      'old-space.json',
    );
    const config = trialConfig(space, { 'optimizer.lr': 0.0042 }, 'trial 0');
    expect(config.optimiser).toEqual({ ...presetConfig('twin').optimiser, lr: 0.0042, gamma: 0.9 });
  });

  it("a model's stored settings under optimizer give its optimiser (not the preset's)", () => {
    const model = initModel(presetConfig('twin'), 5, 3);
    model.provenance = { ...model.provenance!, config: { ...model.provenance!.config, optimiser: undefined, optimizer: { ...presetConfig('twin').optimiser, lr: 0.0042 } } };
    expect(optimiserOf(model).optimiser.lr).toBe(0.0042);
  });

  it('a checkpoint with optimizer state reads as the optimiser state', () => {
    const state = { step: 3, m: [[[0.5]]], v: [[[0.25]]] };
    const ckpt = { format: 's2prop-checkpoint', version: 1, config: {}, data: {}, features: [], classes: 3, backend: 'cpu', epochsDone: 1, weights: [[[1]]], optimizer: state, best: null, history: [] };
    expect(CheckpointSchema.parse(ckpt).optimiser).toEqual(state);
  });
});
