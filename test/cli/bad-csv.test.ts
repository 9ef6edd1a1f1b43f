import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  copyData,
  ensureBuilt,
  expectUserError,
  folderState,
  freshDir,
  initModelText,
  prepareData,
  removeTempDirs,
  runCli,
  SMALL_TRAIN,
  writeText,
} from './run-cli.js';

/**
 * Bad data files through the built CLI: each is rejected with exit code 1 and one stderr line naming
 * the file, the row/column and what was expected, and nothing is written.
 */

vi.setConfig({ testTimeout: 30_000 });

let model = '';
let modelWithoutNames = '';

beforeAll(async () => {
  await ensureBuilt();
  prepareData();
  // An initialised 5-120-3 model (features x,y,x_inv,y_inv plus the bias input), and one without the names.
  model = initModelText('twin', 1);
  const parsed = JSON.parse(model) as Record<string, unknown>;
  delete parsed.features;
  modelWithoutNames = JSON.stringify(parsed);
}, 120_000);
afterAll(removeTempDirs);

const HEADER = 'x,y,x_inv,y_inv,label\n';

/** A folder with small.csv, v.csv, t.csv and `name` holding `text`. */
function dirWith(name: string, text: string): string {
  const dir = freshDir();
  copyData(dir);
  writeText(dir, name, text);
  return dir;
}

describe.concurrent('train rejects a malformed CSV with one line naming file, place and expectation, and writes nothing', () => {
  const cases: [string, string, (string | RegExp)[]][] = [
    ['a row with the wrong field count', `${HEADER}0.1,0.2,0.3,2\n`, ['row 1 (line 2) has 4 fields, expected 5']],
    ['a non-number feature', `${HEADER}0.1,abc,0.3,0.4,2\n`, ["row 1 (line 2), column 'y'", "'abc' is not a number", 'expected a decimal number']],
    ['a feature outside [0,1]', `${HEADER}0.1,0.2,0.3,0.4,0\n0.5,1.5,0.3,0.4,2\n`, ["row 2 (line 3), column 'y'", '1.5 is outside [0, 1]', 'expected a feature value in [0, 1]']],
    ['a missing label column', 'x,y,x_inv,y_inv\n0.1,0.2,0.3,0.4\n', ["header (line 1) has no 'label' column", "expected the feature columns and a 'label' column"]],
    ['an empty file', '', ['the file is empty', 'expected a header line']],
    ['a negative label', `${HEADER}0.1,0.2,0.3,0.4,-1\n`, ["row 1 (line 2), column 'label'", "'-1' is not a class label", 'expected a non-negative integer']],
    ['a fractional label', `${HEADER}0.1,0.2,0.3,0.4,1.5\n`, ["column 'label'", "'1.5' is not a class label", 'expected a non-negative integer']],
  ];

  it.each(cases)('%s (as --train)', async (_what, text, mentions) => {
    const dir = dirWith('bad.csv', text);
    const before = folderState(dir);
    const r = await runCli(['train', ...SMALL_TRAIN, '--train', 'bad.csv', '--epochs', '1', '--out', 'out.json', '--log', 'log.csv'], dir);
    expectUserError(r, /^s2prop: bad\.csv: /, ...mentions);
    expect(folderState(dir)).toEqual(before);
  });

  it('a bad --test CSV is found before the first epoch: no model, checkpoint or log is written', async () => {
    const dir = dirWith('bad.csv', `${HEADER}0.1,0.2,0.3,0.4,2\n0.1,0.2\n`);
    const before = folderState(dir);
    const r = await runCli(['train', ...SMALL_TRAIN, '--test', 'bad.csv', '--epochs', '1', '--out', 'out.json', '--log', 'log.csv'], dir);
    expectUserError(r, 'bad.csv: row 2 (line 3) has 2 fields, expected 5');
    expect(folderState(dir)).toEqual(before);
  });
});

describe.concurrent('train rejects CSVs that disagree with each other', () => {
  it('validation CSV with other feature columns than the training CSV names both column lists', async () => {
    const dir = dirWith('v2.csv', 'x,y,label\n0.1,0.2,1\n0.3,0.4,0\n');
    const before = folderState(dir);
    const r = await runCli(['train', ...SMALL_TRAIN, '--validation', 'v2.csv', '--epochs', '1', '--out', 'out.json'], dir);
    expectUserError(r, /^s2prop: v2\.csv: /, 'feature columns are x,y', 'expected x,y,x_inv,y_inv');
    expect(folderState(dir)).toEqual(before);
  });

  it('validation label beyond the classes of the training CSV names the row and the classes 0..2', async () => {
    const dir = dirWith('v7.csv', `${HEADER}0.1,0.2,0.3,0.4,7\n`);
    const before = folderState(dir);
    const r = await runCli(['train', ...SMALL_TRAIN, '--validation', 'v7.csv', '--epochs', '1', '--out', 'out.json'], dir);
    expectUserError(r, /^s2prop: v7\.csv: /, "row 1, column 'label'", '7 is not a class', 'expected 0..2');
    expect(folderState(dir)).toEqual(before);
  });
});

describe.concurrent('eval rejects a CSV that does not fit the model', () => {
  function modelDir(withFeatureNames: boolean): string {
    const dir = freshDir();
    writeText(dir, 'model.json', withFeatureNames ? model : modelWithoutNames);
    return dir;
  }

  it('feature count differing from the model inputs less the bias: names the count expected (4)', async () => {
    const dir = modelDir(false);
    writeText(dir, 'two.csv', 'a,b,label\n0.1,0.2,1\n');
    const r = await runCli(['eval', '--model', 'model.json', '--data', 'two.csv', '--backend', 'wasm'], dir);
    expectUserError(r, /^s2prop: two\.csv: /, 'has 2 feature columns, expected 4');
  });

  it('feature columns differing from the names stored in the model: names both lists', async () => {
    const dir = modelDir(true);
    writeText(dir, 'two.csv', 'x,y,label\n0.1,0.2,1\n');
    const r = await runCli(['eval', '--model', 'model.json', '--data', 'two.csv', '--backend', 'wasm'], dir);
    expectUserError(r, /^s2prop: two\.csv: /, 'feature columns are x,y', 'expected x,y,x_inv,y_inv');
  });

  it('a label >= the model outputs (3) names the row and the classes 0..2', async () => {
    const dir = modelDir(true);
    writeText(dir, 'l3.csv', `${HEADER}0.1,0.2,0.9,0.8,0\n0.1,0.2,0.9,0.8,3\n`);
    const r = await runCli(['eval', '--model', 'model.json', '--data', 'l3.csv', '--backend', 'wasm', '--json'], dir);
    expectUserError(r, /^s2prop: l3\.csv: /, "row 2, column 'label'", '3 is not a class', 'expected 0..2');
  });
});
