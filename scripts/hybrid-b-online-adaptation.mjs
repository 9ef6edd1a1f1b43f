// Hybrid workflow (b): off-chip pre-training on part of the classes, then on-chip online adaptation
// (batch 1, one slot, a few samples) to the whole task. Pre-training sees only classes 0 and 1 (yin and
// yang) of the canonical train split; the chip then learns from N samples of the train split (shuffled by the seed)
// (all three classes), each seen once, one Adam update per sample. Test accuracy on the canonical test
// split, all classes and class 2 (the dots, never seen off-chip). Writes results/hybrid/b-online-adaptation.*
//
//   npm run build && node scripts/hybrid-b-online-adaptation.mjs [--seed 0] [--samples 25,100,400,1000] [--lr 0.001]
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { arg, root, s2prop, writeTables } from './lib/run-cli.mjs';

const seed = Number(arg('seed', 0));
const counts = arg('samples', '25,100,400,1000').split(',').map(Number);
const lr = arg('lr', '0.001');
const work = mkdtempSync(join(tmpdir(), 's2prop-hybrid-b-'));
const out = join(root, 'results/hybrid');
mkdirSync(out, { recursive: true });
const p = (name) => join(work, name);

// Data: canonical splits as CSV; the pre-training files keep classes 0 and 1 only.
const parse = (file) => Papa.parse(readFileSync(file, 'utf8'), { header: true, skipEmptyLines: true });
const write = (file, csv, keep) => writeFileSync(file, Papa.unparse({ fields: csv.meta.fields, data: csv.data.filter(keep).map((r) => csv.meta.fields.map((f) => r[f])) }, { newline: '\n' }) + '\n');
for (const split of ['train', 'validation', 'test']) s2prop('data', 'yinyang', '--split', split, '--out', p(`${split}.csv`));
for (const split of ['train', 'validation', 'test']) write(p(`${split}-01.csv`), parse(p(`${split}.csv`)), (r) => r.label !== '2');
const test = parse(p('test.csv'));
write(p('test-2.csv'), test, (r) => r.label === '2');

const accuracy = (model, data) => Number(/accuracy ([\d.]+) %/.exec(s2prop('eval', '--model', model, '--data', data))[1]) / 100;

// A network with three outputs, trained on two classes: the third output is there, untrained.
s2prop('init', '--preset', 'twin', '--seed', seed, '--classes', 3, '--out', p('init.json'));
s2prop('train', '--init', p('init.json'), '--train', p('train-01.csv'), '--validation', p('validation-01.csv'), '--test', p('test-01.csv'), '--quiet', '--out', p('pre.json'));
s2prop('export', '--model', p('pre.json'), '--train', '--slots', 1, '--batch', 1, '--lr', lr, '--out', p('cfg'));
const rows = [{ samples: 0, testAccuracy: accuracy(p('pre.json'), p('test.csv')), class2Accuracy: accuracy(p('pre.json'), p('test-2.csv')) }];
console.log(JSON.stringify(rows[0]));
for (const n of counts) {
  const m = p(`adapted-${n}.json`);
  s2prop('chip-train', '--config', p('cfg'), '--data', p('train.csv'), '--epochs', 1, '--samples', n, '--batch', 1, '--slots', 1, '--seed', seed, '--quiet', '--out', m, '--log', join(out, `b-adapt-log-${n}.csv`));
  rows.push({ samples: n, testAccuracy: accuracy(m, p('test.csv')), class2Accuracy: accuracy(m, p('test-2.csv')) });
  console.log(JSON.stringify(rows[rows.length - 1]));
}
await writeTables(out, 'b-online-adaptation', rows);
