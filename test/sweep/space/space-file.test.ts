import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { mergeSettings, presetConfig, TrainConfigSchema } from '../../../src/model/train-config.js';
import { loadSpaceFile, paramsToSettings, parseSpace } from '../../../src/sweep/space/space-file.js';

const YAML_TEXT = `format: s2prop-space
version: 1
base: {preset: twin, settings: {}}        # the training config the parameters override
objective: {metric: validationAccuracy, direction: maximize}
budget: {trials: 50, epochs: 40, seconds: 3600}
sampler: {type: tpe, seed: 0, startupTrials: 10}
pruner: {type: median, warmupEpochs: 5, minTrials: 5}
parameters:
  optimiser.lr: {type: loguniform, low: 0.0005, high: 0.01}
  loss.xi: {type: uniform, low: 0.5, high: 2}
  hidden: {type: categorical, choices: [[60], [120], [200]]}
  batch: {type: int, low: 16, high: 64, step: 8}
  steps: {type: fixed, value: 27}
`;

function example(): Record<string, any> {
  return {
    format: 's2prop-space',
    version: 1,
    base: { preset: 'twin', settings: {} },
    objective: { metric: 'validationAccuracy', direction: 'maximize' },
    budget: { trials: 50, epochs: 40, seconds: 3600 },
    sampler: { type: 'tpe', seed: 0, startupTrials: 10 },
    pruner: { type: 'median', warmupEpochs: 5, minTrials: 5 },
    parameters: {
      'optimiser.lr': { type: 'loguniform', low: 0.0005, high: 0.01 },
      'loss.xi': { type: 'uniform', low: 0.5, high: 2 },
      hidden: { type: 'categorical', choices: [[60], [120], [200]] },
      batch: { type: 'int', low: 16, high: 64, step: 8 },
      steps: { type: 'fixed', value: 27 },
    },
  };
}

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 's2prop-space-')), name);
  writeFileSync(path, text);
  return path;
}

/** The one-line UserError parseSpace throws for `data`. */
function errorOf(data: unknown): string {
  try {
    parseSpace(data, 'space.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error('expected parseSpace to throw');
}

describe('space file', () => {
  it('reads the YAML example of the format with every field as written, defaults filled in', () => {
    const space = loadSpaceFile(tempFile('space.yaml', YAML_TEXT));
    expect(space.base).toEqual({ preset: 'twin', settings: {} });
    expect(space.objective).toEqual({ metric: 'validationAccuracy', direction: 'maximize' });
    expect(space.budget).toEqual({ trials: 50, epochs: 40, seconds: 3600 });
    expect(space.sampler).toEqual({ type: 'tpe', seed: 0, startupTrials: 10, nCandidates: 24 });
    expect(space.pruner).toEqual({ type: 'median', warmupEpochs: 5, minTrials: 5 });
    expect(Object.keys(space.parameters)).toEqual(['optimiser.lr', 'loss.xi', 'hidden', 'batch', 'steps']);
    expect(space.parameters.hidden).toEqual({ type: 'categorical', choices: [[60], [120], [200]] });
  });

  it('reads the same space from JSON as from YAML', () => {
    const fromJson = loadSpaceFile(tempFile('space.json', JSON.stringify(example())));
    expect(fromJson).toEqual(loadSpaceFile(tempFile('space.yml', YAML_TEXT)));
  });

  it('defaults: pruner none, random seed 0, int step absent, settings {}', () => {
    const d = example();
    delete d.pruner;
    delete d.base.settings;
    d.sampler = { type: 'random' };
    const space = parseSpace(d, 'space.yaml');
    expect(space.pruner).toEqual({ type: 'none' });
    expect(space.sampler).toEqual({ type: 'random', seed: 0 });
    expect(space.base.settings).toEqual({});
  });

  it('accepts asha with its defaults and a grid over int, categorical and fixed parameters', () => {
    const d = example();
    d.pruner = { type: 'asha', minEpochs: 2 };
    d.sampler = { type: 'grid' };
    delete d.parameters['optimiser.lr'];
    delete d.parameters['loss.xi'];
    d.budget.trials = 21; // 3 hidden x 7 batch
    const space = parseSpace(d, 'space.yaml');
    expect(space.pruner).toEqual({ type: 'asha', minEpochs: 2, reductionFactor: 3 });
  });

  it('objective.seeds: absent stays absent (1 seed, stored spaces still match), a number is kept', () => {
    expect(parseSpace(example(), 'space.yaml').objective).not.toHaveProperty('seeds');
    const d = example();
    d.objective.seeds = 3;
    const space = parseSpace(d, 'space.yaml');
    expect(space.objective).toEqual({ metric: 'validationAccuracy', direction: 'maximize', seeds: 3 });
    expect(parseSpace(JSON.parse(JSON.stringify(space)), 'b')).toEqual(space);
  });

  it('a space that has been parsed parses again to itself (as a study store keeps it)', () => {
    const space = parseSpace(example(), 'a');
    expect(parseSpace(JSON.parse(JSON.stringify(space)), 'b')).toEqual(space);
  });

  const bad: [string, (d: Record<string, any>) => void, string][] = [
    ['format', (d) => (d.format = 's2prop-model'), 'space.yaml: format: expected s2prop-space'],
    ['version', (d) => (d.version = 2), 'space.yaml: version: expected 1'],
    ['missing objective', (d) => delete d.objective, 'space.yaml: objective is missing'],
    ['unknown key', (d) => (d.budget.minutes = 5), 'space.yaml: budget.minutes: unknown key'],
    ['unknown preset', (d) => (d.base.preset = 'fast'), 'space.yaml: base.preset: expected one of twin, exact'],
    ['bad base settings', (d) => (d.base.settings = { optimiser: { lrr: 1 } }), 'space.yaml: base.settings: optimiser.lrr: unknown key'],
    ['direction against metric', (d) => (d.objective.direction = 'minimize'), 'space.yaml: objective.direction is minimize, expected maximize for validationAccuracy'],
    ['seeds 0', (d) => (d.objective.seeds = 0), 'space.yaml: objective.seeds: expected at least 1 seed per trial'],
    ['seeds not an integer', (d) => (d.objective.seeds = 2.5), 'space.yaml: objective.seeds: expected int'],
    ['trials 0', (d) => (d.budget.trials = 0), 'space.yaml: budget.trials: expected at least 1 trial'],
    ['epochs 0', (d) => (d.budget.epochs = 0), 'space.yaml: budget.epochs: expected at least 1 epoch'],
    ['unknown sampler', (d) => (d.sampler.type = 'cmaes'), 'space.yaml: sampler.type: expected one of grid, random, tpe'],
    ['unknown pruner', (d) => (d.pruner = { type: 'hyperband' }), 'space.yaml: pruner.type: expected one of none, median, asha'],
    ['asha factor 1', (d) => (d.pruner = { type: 'asha', reductionFactor: 1 }), 'space.yaml: pruner.reductionFactor'],
    ['unknown parameter type', (d) => (d.parameters['loss.xi'].type = 'normal'), 'space.yaml: parameters.loss.xi.type: expected one of uniform, loguniform, int, categorical, fixed'],
    ['low = high', (d) => (d.parameters['loss.xi'].low = 2), 'space.yaml: parameters.loss.xi.high is 2, expected more than low = 2'],
    ['low > high (int)', (d) => (d.parameters.batch.low = 72), 'space.yaml: parameters.batch.high is 64, expected more than low = 72'],
    ['loguniform low 0', (d) => (d.parameters['optimiser.lr'].low = 0), 'space.yaml: parameters.optimiser.lr.low: expected a number > 0'],
    ['int bound not integer', (d) => (d.parameters.batch.low = 16.5), 'space.yaml: parameters.batch.low: expected int'],
    ['int high off the step', (d) => (d.parameters.batch.high = 60), 'space.yaml: parameters.batch.high is 60, expected low + a multiple of step'],
    ['no choices', (d) => (d.parameters.hidden.choices = []), 'space.yaml: parameters.hidden.choices: expected at least one choice'],
    ['repeated choice', (d) => (d.parameters.hidden.choices = [[60], [60]]), 'space.yaml: parameters.hidden.choices[1]: [60] appears twice'],
    ['fixed without value', (d) => (d.parameters.steps = { type: 'fixed' }), 'space.yaml: parameters.steps.value is missing'],
    ['grid with loguniform', (d) => (d.sampler = { type: 'grid' }), 'space.yaml: parameters.optimiser.lr.type is loguniform, which a grid cannot enumerate'],
    [
      'grid smaller than the trials',
      (d) => {
        d.sampler = { type: 'grid' };
        delete d.parameters['optimiser.lr'];
        delete d.parameters['loss.xi'];
      },
      'space.yaml: budget.trials is 50, expected at most 21',
    ],
    ['no parameters', (d) => (d.parameters = {}), 'space.yaml: parameters: expected at least one parameter'],
    ['malformed name', (d) => (d.parameters['optimiser..lr'] = { type: 'fixed', value: 1 }), 'space.yaml: parameters.optimiser..lr is not a setting name'],
    ['overlapping names', (d) => (d.parameters.optimiser = { type: 'fixed', value: {} }), 'space.yaml: parameters.optimiser: overlaps optimiser.lr'],
    ['not a setting', (d) => (d.parameters['optimiser.lrr'] = { type: 'fixed', value: 1 }), 'space.yaml: parameters.optimiser.lrr: not a setting of the training config (optimiser has type, lr,'],
    ['value of the wrong type', (d) => (d.parameters.steps.value = 'many'), 'space.yaml: parameters.steps: the value "many" does not fit the training config'],
    ['uniform over an integer setting', (d) => (d.parameters.batch = { type: 'uniform', low: 16, high: 64 }), 'space.yaml: parameters.batch: the value 34.33'],
  ];
  it.each(bad)('refuses %s with one line naming the file and field', (_, mutate, expected) => {
    const d = example();
    mutate(d);
    const message = errorOf(d);
    expect(message.startsWith(expected), message).toBe(true);
    expect(message).not.toContain('\n');
  });

  it('refuses malformed YAML and JSON, and a missing file, in one line naming the file', () => {
    const y = tempFile('space.yaml', 'format: s2prop-space\nparameters: [a,\n  b: 2: 3\n');
    expect(() => loadSpaceFile(y)).toThrow(new RegExp(`^${y}: not valid YAML \\(.*line 3`));
    const j = tempFile('space.json', '{"format": "s2prop-space",');
    expect(() => loadSpaceFile(j)).toThrow(new RegExp(`^${j}: not valid JSON`));
    expect(() => loadSpaceFile('/nonexistent/space.yaml')).toThrow('/nonexistent/space.yaml: cannot read the file (it does not exist)');
    for (const p of [y, j]) {
      try {
        loadSpaceFile(p);
      } catch (err) {
        expect((err as Error).message).not.toContain('\n');
      }
    }
  });

  it('YAML duplicate keys are refused rather than one silently winning', () => {
    const p = tempFile('space.yaml', YAML_TEXT + '  steps: {type: fixed, value: 30}\n');
    expect(() => loadSpaceFile(p)).toThrow(/not valid YAML/);
  });
});

describe('paramsToSettings', () => {
  it('turns dotted names into nested objects (hand-written expectation)', () => {
    expect(paramsToSettings({ 'optimiser.lr': 0.003, 'optimiser.beta1': 0.8, 'loss.xi': 1, hidden: [60], steps: 27 })).toEqual({
      optimiser: { lr: 0.003, beta1: 0.8 },
      loss: { xi: 1 },
      hidden: [60],
      steps: 27,
    });
    expect(paramsToSettings({})).toEqual({});
  });

  it('merged onto the preset, overrides just those settings and keeps the others', () => {
    const merged = TrainConfigSchema.parse(mergeSettings(presetConfig('twin'), paramsToSettings({ 'optimiser.lr': 0.004, hidden: [200] })));
    const twin = presetConfig('twin');
    expect(merged.optimiser).toEqual({ ...twin.optimiser, lr: 0.004 });
    expect(merged.hidden).toEqual([200]);
    expect(merged.loss).toEqual(twin.loss);
  });

  it('a name such as __proto__ becomes an own key, not the prototype', () => {
    const s = paramsToSettings({ '__proto__.x': 1 });
    expect(Object.getPrototypeOf(s)).toBe(Object.prototype);
    expect(Object.hasOwn(s, '__proto__')).toBe(true);
  });
});
