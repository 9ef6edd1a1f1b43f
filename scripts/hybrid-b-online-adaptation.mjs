// Hybrid workflow (b): off-chip pre-training on one task, then on-chip online adaptation (batch 1, one
// slot, a few samples) to a transformed task. Pre-training: the twin on the canonical Yin-Yang train split.
// New task: the same data rotated by --angle degrees about the centre of the circle (labels kept), so
// the network must move its decision boundaries. The chip learns from the first N samples of the rotated
// train split, --epochs passes over them, one Adam update per sample (the last pass is kept: no validation
// data on the device). Test accuracy on the rotated and the original canonical test split, before and
// after. Writes results/hybrid/b-online-adaptation.* and the logs.
//
//   npm run build && node scripts/hybrid-b-online-adaptation.mjs [--seed 0] [--angle 20] [--samples 25,50,100,200,500] [--epochs 10] [--lr 0.0005]
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { arg, root, s2prop, testAccuracy, writeTables } from './lib/run-cli.mjs';

const seed = Number(arg('seed', 0));
const angle = Number(arg('angle', 20));
const counts = arg('samples', '25,50,100,200,500').split(',').map(Number);
const epochs = Number(arg('epochs', 10));
const lr = arg('lr', '0.0005');
const work = mkdtempSync(join(tmpdir(), 's2prop-hybrid-b-'));
const out = join(root, 'results/hybrid');
mkdirSync(out, { recursive: true });
const p = (name) => join(work, name);

// The rotated splits: (x, y) rotated about (0.5, 0.5); x_inv and y_inv follow. The data lies inside the
// circle of radius 0.5 about the centre, so rotated points stay in [0, 1].
const rad = (angle * Math.PI) / 180;
const clamp = (v) => Math.min(1, Math.max(0, v));
for (const split of ['train', 'validation', 'test']) {
  s2prop('data', 'yinyang', '--split', split, '--out', p(`${split}.csv`));
  const csv = Papa.parse(readFileSync(p(`${split}.csv`), 'utf8'), { header: true, dynamicTyping: true, skipEmptyLines: true });
  const rows = csv.data.map((r) => {
    const [dx, dy] = [r.x - 0.5, r.y - 0.5];
    const x = clamp(0.5 + dx * Math.cos(rad) - dy * Math.sin(rad));
    const y = clamp(0.5 + dx * Math.sin(rad) + dy * Math.cos(rad));
    return { x, y, x_inv: 1 - x, y_inv: 1 - y, label: r.label };
  });
  writeFileSync(p(`rot-${split}.csv`), Papa.unparse(rows, { newline: '\n' }) + '\n');
  if (split === 'train') for (const n of counts) writeFileSync(p(`rot-train-${n}.csv`), Papa.unparse(rows.slice(0, n), { newline: '\n' }) + '\n');
}

const accuracy = (model, data) => testAccuracy(model, ['--data', data]);

s2prop('train', '--preset', 'twin', '--seed', seed, '--quiet', '--out', p('pre.json'));
s2prop('export', '--model', p('pre.json'), '--train', '--slots', 1, '--batch', 1, '--lr', lr, '--out', p('cfg'));
const rows = [{ samples: 0, originalTask: accuracy(p('pre.json'), p('test.csv')), rotatedTask: accuracy(p('pre.json'), p('rot-test.csv')) }];
console.log(JSON.stringify(rows[0]));
for (const n of counts) {
  const m = p(`adapted-${n}.json`);
  s2prop('chip-train', '--config', p('cfg'), '--data', p(`rot-train-${n}.csv`), '--epochs', epochs, '--batch', 1, '--slots', 1, '--seed', seed, '--quiet', '--out', m, '--log', join(out, `b-adapt-log-${n}.csv`));
  rows.push({ samples: n, originalTask: accuracy(m, p('test.csv')), rotatedTask: accuracy(m, p('rot-test.csv')) });
  console.log(JSON.stringify(rows[rows.length - 1]));
}
await writeTables(out, 'b-online-adaptation', rows);
