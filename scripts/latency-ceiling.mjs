// The accuracy ceiling the latency code puts on any classifier of Yin-Yang: a network sees each feature
// only as its spike step, so two points with the same steps get the same answer. For each (T, tMin)
// (tMax = T - 1, the encoding of the contract), this script fills a look-up table from step codes to the
// majority class of a large generated sample (the data's own distribution, another seed than the
// canonical splits) and reports
//   - bayes: the table's accuracy on a second, independent large sample (estimates the Bayes accuracy
//     of the quantised inputs: no classifier of the code can do better on average), and
//   - test / validation: the table's accuracy on the canonical test and validation splits (1000 points
//     each: what a perfect classifier of the code would score there).
// Writes results/latency-ceiling.json.
//
//   npm run build && node scripts/latency-ceiling.mjs [--points 2000000] [--steps 27,40,45,50,60]
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { generateYinYang, yinyangSplit } = await import(join(root, 'dist/data/yinyang.js'));
const { latencyStep } = await import(join(root, 'dist/data/encoding.js'));

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const points = Number(arg('points', 2_000_000));
const stepsList = arg('steps', '27,30,36,40,45,50,55,60,64').split(',').map(Number);
const tMins = arg('tmin', '0,2,4,6').split(',').map(Number);

const fit = generateYinYang({ size: points, seed: 1001 });
const check = generateYinYang({ size: points, seed: 1002 });
const splits = { test: yinyangSplit('test'), validation: yinyangSplit('validation') };

/** The step code of point i (the 4 features' steps; the bias input is the same for all). */
function code(data, i, enc) {
  let key = 0;
  for (let k = 0; k < 4; k++) key = key * 128 + latencyStep(data.features[i * 4 + k], enc);
  return key;
}

function accuracy(table, data, enc) {
  let right = 0;
  const n = data.labels.length;
  for (let i = 0; i < n; i++) {
    const counts = table.get(code(data, i, enc));
    // A code the fitting sample never saw: guess class 0 (counts as wrong unless it is right).
    const guess = counts ? counts.indexOf(Math.max(...counts)) : 0;
    if (guess === data.labels[i]) right++;
  }
  return right / n;
}

const rows = [];
for (const steps of stepsList) {
  for (const tMin of tMins) {
    const enc = { steps, tMin, tMax: steps - 1, bias: true };
    const table = new Map();
    for (let i = 0; i < points; i++) {
      const key = code(fit, i, enc);
      let counts = table.get(key);
      if (!counts) table.set(key, (counts = [0, 0, 0]));
      counts[fit.labels[i]]++;
    }
    const row = { steps, tMin, bayes: accuracy(table, check, enc), test: accuracy(table, splits.test, enc), validation: accuracy(table, splits.validation, enc) };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
writeFileSync(join(root, 'results/latency-ceiling.json'), JSON.stringify({ points, rows }, null, 2) + '\n');
