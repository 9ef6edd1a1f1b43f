import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetToCsv, parseDatasetCsv, readDatasetCsv, writeDatasetCsv } from '../../src/data/csv.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { UserError } from '../../src/errors.js';

describe('dataset CSV', () => {
  it('round trip of the canonical test split gives bit-identical doubles and labels (the generator is the oracle)', () => {
    const ds = yinyangDataset('test');
    const dir = mkdtempSync(join(tmpdir(), 'csv-'));
    const path = join(dir, 'test.csv');
    writeDatasetCsv(path, ds);
    expect(readdirSync(dir)).toEqual(['test.csv']); // the atomic writer left no temporary file
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe('x,y,x_inv,y_inv,label');
    const back = readDatasetCsv(path);
    expect(back.featureNames).toEqual(ds.featureNames);
    expect(back.count).toBe(ds.count);
    expect(back.source).toBe(path);
    expect(Buffer.from(back.features.buffer).equals(Buffer.from(ds.features.buffer))).toBe(true);
    expect(Array.from(back.labels)).toEqual(Array.from(ds.labels));
  });

  it('accepts the label column anywhere, CRLF, spaces around fields and a blank trailing line (hand-made file)', () => {
    const ds = parseDatasetCsv('label, a ,b\r\n1, 0.25,1\r\n0,0,.5e0\r\n\r\n', 'x.csv');
    expect(ds.featureNames).toEqual(['a', 'b']);
    expect(Array.from(ds.features)).toEqual([0.25, 1, 0, 0.5]);
    expect(Array.from(ds.labels)).toEqual([1, 0]);
    expect(ds.count).toBe(2);
  });

  it('writes the header then label and reads back the hand-written values (hand calculation)', () => {
    const text = datasetToCsv({
      featureNames: ['p', 'q'], features: Float64Array.of(0.1, 1 / 3), labels: Int32Array.of(7), count: 1, source: 's',
    });
    expect(text).toBe('p,q,label\n0.1,0.3333333333333333,7\n');
  });

  // Each bad input: the message must name the file and the offending field (row / column / header).
  const bad: [string, string, RegExp][] = [
    ['empty file', '', /bad\.csv: .*empty/],
    ['whitespace-only file', '\n  \n', /bad\.csv: .*empty/],
    ['missing label column', 'a,b\n0,1\n', /bad\.csv: .*no 'label' column/],
    ['only a label column', 'label\n1\n', /bad\.csv: .*feature column/],
    ['duplicate column names', 'a,a,label\n0,0,1\n', /bad\.csv: .*column 'a' twice/],
    ['unnamed column', 'a,,label\n0,0,1\n', /bad\.csv: .*column 2 has no name/],
    ['too few fields', 'a,b,label\n0,0,1\n0,1\n', /bad\.csv: row 2 \(line 3\) has 2 fields, expected 3/],
    ['too many fields', 'a,label\n0,1,5\n', /bad\.csv: row 1 \(line 2\) has 3 fields, expected 2/],
    ['blank line in the middle', 'a,label\n0,1\n\n1,0\n', /bad\.csv: row 2 \(line 3\) has 1 fields/],
    ['non-numeric feature', 'a,label\n0,1\nabc,0\n', /bad\.csv: row 2 \(line 3\), column 'a': 'abc' is not a number/],
    ['empty feature', 'a,label\n,1\n', /bad\.csv: row 1 \(line 2\), column 'a': '' is not a number/],
    ['hex is not decimal', 'a,label\n0x1,1\n', /bad\.csv: row 1 .*column 'a': '0x1' is not a number/],
    ['feature above 1', 'a,b,label\n0,1.5,1\n', /bad\.csv: row 1 \(line 2\), column 'b': 1.5 is outside \[0, 1\]/],
    ['negative feature', 'a,label\n-0.1,1\n', /bad\.csv: row 1 .*column 'a': -0.1 is outside \[0, 1\]/],
    ['NaN feature', 'a,label\nNaN,1\n', /bad\.csv: row 1 .*column 'a': 'NaN' is not finite/],
    ['Infinity feature', 'a,label\n-Infinity,1\n', /bad\.csv: row 1 .*column 'a': '-Infinity' is not finite/],
    ['overflowing feature', 'a,label\n1e999,1\n', /bad\.csv: row 1 .*column 'a': '1e999' is not finite/],
    ['fractional label', 'a,label\n0,1.5\n', /bad\.csv: row 1 .*column 'label': '1.5' is not a class label/],
    ['negative label', 'a,label\n0,-1\n', /bad\.csv: row 1 .*column 'label': '-1' is not a class label/],
    ['non-numeric label', 'a,label\n0,yang\n', /bad\.csv: row 1 .*column 'label': 'yang' is not a number/],
    ['no data rows', 'a,label\n', /bad\.csv: no data rows/],
    ['unterminated quote', 'a,label\n"0,1\n', /bad\.csv: CSV syntax error at line/],
  ];
  it.each(bad)('rejects %s with a UserError naming file and field (brief: strict validation)', (_, text, msg) => {
    let err: unknown;
    try {
      parseDatasetCsv(text, 'bad.csv');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain('\n');
  });

  it('a missing file is a UserError naming the path', () => {
    expect(() => readDatasetCsv('/nonexistent/nope.csv')).toThrow(/\/nonexistent\/nope\.csv: cannot read the file \(ENOENT\)/);
  });
});
