import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import type { Dataset } from './dataset.js';
import { inFile } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';

/**
 * Data sets as CSV: a header naming the feature columns and a `label` column (anywhere), then one row
 * per sample. Numbers are written in JavaScript's shortest round-trip form, so they read back as the
 * identical doubles.
 */

const LABEL = 'label';
// A plain decimal number; anything else (hex, "Infinity", empty) is rejected rather than coerced.
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(inf|infinity|nan)$/i;

const num = (v: number) => (Object.is(v, -0) ? '-0' : String(v));

export function datasetToCsv(ds: Dataset): string {
  const nf = ds.featureNames.length;
  if (ds.featureNames.includes(LABEL)) throw new Error(`datasetToCsv: a feature may not be named '${LABEL}'`);
  if (ds.features.length !== ds.count * nf || ds.labels.length !== ds.count) {
    throw new Error(`datasetToCsv: features/labels do not match count ${ds.count} x ${nf}`);
  }
  const data: string[][] = [];
  for (let i = 0; i < ds.count; i++) {
    const row = Array.from(ds.features.subarray(i * nf, (i + 1) * nf), num);
    row.push(String(ds.labels[i]));
    data.push(row);
  }
  return Papa.unparse({ fields: [...ds.featureNames, LABEL], data }, { newline: '\n' }) + '\n';
}

export function writeDatasetCsv(path: string, ds: Dataset): void {
  writeFileAtomic(path, datasetToCsv(ds));
}

export function readDatasetCsv(path: string): Dataset {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw inFile(path, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseDatasetCsv(text, path);
}

/** Parse and strictly validate CSV text; every problem is a UserError naming file, row and column. */
export function parseDatasetCsv(text: string, fileName: string): Dataset {
  const fail = (msg: string) => inFile(fileName, msg);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') {
    throw fail(`the file is empty, expected a header line naming the feature columns and a '${LABEL}' column`);
  }
  const parsed = Papa.parse<string[]>(text, { delimiter: ',', skipEmptyLines: false });
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0];
    throw fail(`CSV syntax error at line ${(e.row ?? 0) + 1}: ${e.message}`);
  }
  const rows = parsed.data;
  // Blank lines at the end are fine; one in the middle is reported as a row with the wrong field count.
  while (rows.length > 0 && rows[rows.length - 1].length === 1 && rows[rows.length - 1][0].trim() === '') rows.pop();

  const header = rows[0].map((h) => h.trim());
  header.forEach((h, c) => {
    if (h === '') throw fail(`header column ${c + 1} has no name, expected a column name`);
  });
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) throw fail(`header names column '${h}' twice, expected unique column names`);
    seen.add(h);
  }
  const labelCol = header.indexOf(LABEL);
  if (labelCol < 0) {
    throw fail(`header (line 1) has no '${LABEL}' column, expected the feature columns and a '${LABEL}' column`);
  }
  const featureNames = header.filter((_, c) => c !== labelCol);
  if (featureNames.length === 0) throw fail(`header has only a '${LABEL}' column, expected at least one feature column`);
  const count = rows.length - 1;
  if (count === 0) throw fail('no data rows after the header, expected at least one sample');

  const nf = featureNames.length;
  const features = new Float64Array(count * nf);
  const labels = new Int32Array(count);
  for (let r = 1; r <= count; r++) {
    // Line numbers assume no quoted line breaks, which no valid numeric row contains.
    const where = `row ${r} (line ${r + 1})`;
    const row = rows[r];
    if (row.length !== header.length) {
      throw fail(`${where} has ${row.length} fields, expected ${header.length} (one per header column)`);
    }
    let f = (r - 1) * nf;
    for (let c = 0; c < row.length; c++) {
      const raw = row[c].trim();
      const col = `column '${header[c]}'`;
      if (NON_FINITE.test(raw)) throw fail(`${where}, ${col}: '${raw}' is not finite, expected a finite number`);
      if (!NUMBER.test(raw)) throw fail(`${where}, ${col}: '${raw}' is not a number, expected a decimal number`);
      const v = Number(raw);
      if (!Number.isFinite(v)) throw fail(`${where}, ${col}: '${raw}' is not finite, expected a finite number`);
      if (c === labelCol) {
        if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
          throw fail(`${where}, ${col}: '${raw}' is not a class label, expected a non-negative integer`);
        }
        labels[r - 1] = v;
      } else {
        if (v < 0 || v > 1) throw fail(`${where}, ${col}: ${raw} is outside [0, 1], expected a feature value in [0, 1]`);
        features[f++] = v;
      }
    }
  }
  return { featureNames, features, labels, count, source: fileName };
}
