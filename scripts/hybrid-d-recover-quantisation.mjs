// Hybrid workflow (d): recovering quantisation loss by fine-tuning after export. For each seed: the twin
// trained off-chip for 40 epochs, exported directly as int8 and as int4 (round to nearest, clip percentile 100: nothing
// clipped), tested on the simulator; then fine-tuned chip-in-the-loop on that very export (its scales stay
// as exported; only the mantissas change), lr 0.0005, and tested on the simulator again.
// Writes results/hybrid/d-recover-quantisation.*
//
//   npm run build && node scripts/hybrid-d-recover-quantisation.mjs [--seeds 3] [--epochs 5] [--lr 0.0005]
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, readJson, root, s2prop, testAccuracy, validation, writeTables } from './lib/run-cli.mjs';

const seeds = Number(arg('seeds', 3));
const epochs = Number(arg('epochs', 5));
const lr = arg('lr', '0.0005');
const work = mkdtempSync(join(tmpdir(), 's2prop-hybrid-d-'));
const out = join(root, 'results/hybrid');
mkdirSync(out, { recursive: true });
const p = (name) => join(work, name);
const chipAccuracy = (model, cfg) => validation(model, cfg, 0).chipAccuracy;

const rows = [];
for (let seed = 0; seed < seeds; seed++) {
  const model = p(`twin-${seed}.json`);
  s2prop('train', '--preset', 'twin', '--seed', seed, '--quiet', '--out', model);
  const row = { seed, float32: testAccuracy(model) };
  for (const quant of ['int8', 'int4']) {
    const cfg = p(`${quant}-${seed}`);
    s2prop('export', '--model', model, '--quant', quant, '--clip-percentile', 100, '--rounding', 'nearest', '--out', cfg);
    row[`${quant}Direct`] = chipAccuracy(model, cfg);
    const tuned = p(`${quant}-tuned-${seed}.json`);
    s2prop('chip-loop', '--config', cfg, '--model', model, '--epochs', epochs, '--lr', lr, '--seed', seed, '--quiet', '--out', tuned);
    row[`${quant}AfterLoop`] = readJson(tuned).metrics.chipTestAccuracy;
  }
  console.log(JSON.stringify(row));
  rows.push(row);
}
const mean = (k) => rows.reduce((a, r) => a + r[k], 0) / rows.length;
rows.push(Object.fromEntries(Object.keys(rows[0]).map((k) => [k, k === 'seed' ? 'mean' : mean(k)])));
await writeTables(out, 'd-recover-quantisation', rows);
