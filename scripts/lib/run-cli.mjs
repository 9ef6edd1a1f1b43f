// Shared by the experiment scripts: run the built CLI (dist/) as a child process, and summarise numbers.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Run `s2prop ...args`; throw with its stderr when it fails; return its stdout. */
export function s2prop(...args) {
  const r = spawnSync(process.execPath, ['--no-wasm-dynamic-tiering', join(root, 'dist/cli/main.js'), ...args.map(String)], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`s2prop ${args.join(' ')} exited with ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

/** Run `s2prop ...args --json` and parse its one JSON object. */
export function s2propJson(...args) {
  return JSON.parse(s2prop(...args, '--json'));
}

/** Test-split accuracy of a model file (s2prop eval). */
export function testAccuracy(model, data = ['--split', 'test']) {
  return s2propJson('eval', '--model', model, ...data).accuracy;
}

/** `s2prop validate --json` of a model and its export on the test split; exits 1 below 100 % agreement unless `minAgreement` is lower. */
export function validation(model, config, minAgreement = 100) {
  return s2propJson('validate', '--model', model, '--config', config, '--split', 'test', '--min-agreement', minAgreement);
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Mean and sample standard deviation (n - 1). */
export function stats(xs) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std, min: Math.min(...xs), max: Math.max(...xs) };
}

/** A numeric CSV (a metrics log: `train --log`, diagnose-training.mjs) as one array per column. */
export function readColumns(path) {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = head.split(',');
  const rows = lines.map((l) => l.split(',').map(Number));
  return Object.fromEntries(cols.map((c, i) => [c, rows.map((r) => r[i])]));
}

export const pct = (x) => `${(100 * x).toFixed(2)} %`;

export const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};

/** Write rows as NAME.csv and a Markdown table NAME.md (accuracies as percentages) into `dir`. */
export async function writeTables(dir, name, rows) {
  const { default: Papa } = await import('papaparse');
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  writeFileSync(join(dir, `${name}.csv`), Papa.unparse(rows, { newline: '\n' }) + '\n');
  const cols = Object.keys(rows[0]);
  const counts = /^(seed|samples|bestEpoch|spikeMismatches|wallSeconds)$/;
  const cell = (c, v) => (v == null ? '' : typeof v === 'number' && v <= 1 && v >= 0 && !counts.test(c) ? pct(v) : String(v));
  const md = [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cols.map((c) => cell(c, r[c])).join(' | ')} |`)];
  writeFileSync(join(dir, `${name}.md`), md.join('\n') + '\n');
}
