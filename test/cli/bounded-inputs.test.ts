import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyData, expectUserError, freshDir, REPO, runCli, setUpCliTests } from './run-cli.js';

/**
 * Inputs are bounded before any work: settings whose tensors cannot fit, weights that are not float32,
 * training data that skips a class. One line each, nothing written; a split without some class warns.
 */

setUpCliTests();

const RUN = ['--train', 'small.csv', '--validation', 'v.csv', '--test', 't.csv', '--backend', 'wasm', '--quiet', '--epochs', '1', '--out', 'm.json'];

/** Rows of a CSV in `dir` whose label passes `keep`, written as `name`. */
function filterCsv(dir: string, from: string, name: string, keep: (label: number) => boolean): void {
  const [head, ...rows] = readFileSync(join(dir, from), 'utf8').trimEnd().split('\n');
  writeFileSync(join(dir, name), [head, ...rows.filter((r) => keep(Number(r.split(',').at(-1))))].join('\n') + '\n');
}

describe('bounded inputs', () => {
  it.each([
    ['--hidden 5000 --steps 2000 --batch 256', ['--hidden', '5000', '--steps', '2000', '--batch', '256'], 'a 5-5000-3 network at 2000 steps: needs about 21.5 GiB of tensor memory (a training batch of 256 samples'],
    ['--steps 100000 (the evaluation batch of 250 does not fit)', ['--steps', '100000'], 'a 5-120-3 network at 100000 steps: needs about 14.4 GiB of tensor memory (an evaluation batch of 250'],
  ])('train %s is refused at once with the estimate and the 2 GiB limit, nothing written', async (_name, flags, mention) => {
    const dir = freshDir();
    copyData(dir);
    const started = Date.now();
    expectUserError(await runCli(['train', ...RUN, ...flags], dir), mention, "more than the wasm backend's 2 GiB memory");
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(readdirSync(dir).sort()).toEqual(['small.csv', 't.csv', 'v.csv']);
  });

  it('a model weight that is not finite in float32 (1e39) is refused by eval naming the weight', async () => {
    const dir = freshDir();
    const model = JSON.parse(readFileSync(join(REPO, 'test/fixtures/twin-seed0-before-subnormal-rule.json'), 'utf8')) as { layers: { weights: number[][] }[] };
    model.layers[1].weights[2][1] = 1e39;
    writeFileSync(join(dir, 'big.json'), JSON.stringify(model));
    expectUserError(await runCli(['eval', '--model', 'big.json', '--split', 'test'], dir), 'big.json: layers[1].weights[2][1] is 1e+39, which is not finite in float32');
  });

  it('training data that skips a class (labels 0 and 2) is refused; a validation split without class 2 trains with a warning', async () => {
    const dir = freshDir();
    copyData(dir);
    filterCsv(dir, 'small.csv', 'skip.csv', (l) => l !== 1);
    expectUserError(await runCli(['train', ...RUN, '--train', 'skip.csv'], dir), "skip.csv: column 'label' has no sample of class 1 (labels are 0, 2; every class 0..2 needs training samples)");
    filterCsv(dir, 'v.csv', 'v01.csv', (l) => l !== 2);
    const r = await runCli(['train', ...RUN, '--validation', 'v01.csv'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: v01.csv (validation) has no sample of class 2: the validation accuracy that selects the epoch does not cover it\n');
  });
});
