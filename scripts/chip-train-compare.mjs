// On-chip training from scratch vs off-chip training, same seeds: for each seed, `s2prop init` (twin preset),
// `s2prop export --train --slots 22` (one sample per QPE, batch 22 in one round), `s2prop chip-train` for
// the twin's 40 epochs with the same data order, and `s2prop train` with the same preset and seed; both
// select the best validation epoch and are evaluated on the canonical test split. Writes
// results/chip-train/compare.csv, summary.json (mean ± std, cost per sample and per epoch) and the logs.
//
//   npm run build && node scripts/chip-train-compare.mjs [--seeds 3] [--first 0] [--epochs 40]
// Seeds first..first+seeds-1 are run; rows of other seeds already in compare.csv are kept.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { arg, pct, readJson, root, s2prop, stats, testAccuracy } from './lib/run-cli.mjs';

const seeds = Number(arg('seeds', 3));
const first = Number(arg('first', 0));
const epochs = Number(arg('epochs', 40));
const out = join(root, 'results/chip-train');
const work = mkdtempSync(join(tmpdir(), 's2prop-chip-train-'));
mkdirSync(out, { recursive: true });

const previous = existsSync(join(out, 'compare.csv')) ? Papa.parse(readFileSync(join(out, 'compare.csv'), 'utf8'), { header: true, dynamicTyping: true, skipEmptyLines: true }).data : [];
const rows = previous.filter((r) => r.seed < first || r.seed >= first + seeds);
for (let seed = first; seed < first + seeds; seed++) {
  const init = join(work, `init-${seed}.json`);
  const cfg = join(work, `cfg-${seed}`);
  s2prop('init', '--preset', 'twin', '--seed', seed, '--out', init);
  s2prop('export', '--model', init, '--train', '--slots', 22, '--out', cfg);
  const t0 = performance.now();
  s2prop('chip-train', '--config', cfg, '--split', 'train', '--epochs', epochs, '--seed', seed, '--quiet', '--out', join(work, `chip-${seed}.json`), '--log', join(out, `chip-log-seed${seed}.csv`));
  const chipSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  s2prop('train', '--preset', 'twin', '--seed', seed, '--epochs', epochs, '--quiet', '--backend', 'wasm', '--out', join(work, `off-${seed}.json`));
  const offSeconds = (performance.now() - t1) / 1000;
  const chipModel = readJson(join(work, `chip-${seed}.json`));
  const offModel = readJson(join(work, `off-${seed}.json`));
  const row = {
    seed,
    offChipTest: testAccuracy(join(work, `off-${seed}.json`)),
    onChipTest: testAccuracy(join(work, `chip-${seed}.json`)),
    offChipBestEpoch: offModel.metrics.bestEpoch,
    onChipBestEpoch: chipModel.provenance.bestEpoch,
    offChipWallSeconds: +offSeconds.toFixed(1),
    onChipWallSeconds: +chipSeconds.toFixed(1),
  };
  if (seed === 0) copyFileSync(join(work, `chip-${seed}.json`), join(out, 'chip-trained-seed0.json'));
  console.log(JSON.stringify(row));
  rows.push(row);
}
rows.sort((a, b) => a.seed - b.seed);

const log = Papa.parse(readFileSync(join(out, 'chip-log-seed0.csv'), 'utf8'), { header: true, dynamicTyping: true, skipEmptyLines: true }).data;
const last = log[log.length - 1];
const off = stats(rows.map((r) => r.offChipTest));
const on = stats(rows.map((r) => r.onChipTest));
const summary = {
  seeds: rows.map((r) => r.seed),
  epochs,
  setup: 'twin preset 5-120-3, T = 27, batch 22 on 22 slots (one round per batch), Adam lr 0.0019 gamma 0.95; best validation epoch; canonical test split',
  offChipTest: off,
  onChipTest: on,
  differencePoints: 100 * (on.mean - off.mean),
  costPerSample: Object.fromEntries(Object.entries(last).filter(([k]) => /PerSample|realTimeFactor|worstTick/.test(k))),
  costPerEpoch: { samples: 5000, chipSeconds: last.chipSecondsPerEpoch, simulatorWallSeconds: last.wallSeconds },
  note: 'cycles, energy and real-time factors are cost-model values (machine.json); real-time factor 1 = every tick fits its budget',
};
writeFileSync(join(out, 'compare.csv'), Papa.unparse(rows, { newline: '\n' }) + '\n');
writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
console.log(`off-chip ${pct(off.mean)} ± ${pct(off.std)}, on-chip ${pct(on.mean)} ± ${pct(on.std)} (difference ${summary.differencePoints.toFixed(2)} points)`);
