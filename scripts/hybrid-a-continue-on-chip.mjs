// Hybrid workflow (a): pre-train off-chip, export float32 for training, continue on the (simulated) chip,
// import the result back as a normal model file. For each seed: `s2prop train` for half the twin's epochs,
// `s2prop export --train` (at the learning rate the off-chip schedule reached), `s2prop chip-train` for the other half, then `s2prop eval` (engine) and
// `s2prop validate` on an int8 export of the imported model. Reference: off-chip training for all epochs.
// Writes results/hybrid/a-continue-on-chip.csv and .md.
//
//   npm run build && node scripts/hybrid-a-continue-on-chip.mjs [--seeds 1] [--epochs 40]
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, root, s2prop, testAccuracy, validation, writeTables } from './lib/run-cli.mjs';

const seeds = Number(arg('seeds', 1));
const epochs = Number(arg('epochs', 40));
const half = epochs / 2;
const work = mkdtempSync(join(tmpdir(), 's2prop-hybrid-a-'));
const out = join(root, 'results/hybrid');
mkdirSync(out, { recursive: true });

const rows = [];
for (let seed = 0; seed < seeds; seed++) {
  const f = (name) => join(work, `${name}-${seed}`);
  s2prop('train', '--preset', 'twin', '--seed', seed, '--epochs', half, '--quiet', '--out', `${f('pre')}.json`);
  // Continue at the learning rate the off-chip schedule has reached (Adam's moments start afresh).
  s2prop('export', '--model', `${f('pre')}.json`, '--train', '--slots', 22, '--lr', 0.0019 * 0.95 ** half, '--out', f('cfg'));
  s2prop('chip-train', '--config', f('cfg'), '--split', 'train', '--epochs', half, '--seed', seed, '--quiet', '--out', `${f('chip')}.json`, '--log', join(out, `a-chip-log-seed${seed}.csv`));
  s2prop('train', '--preset', 'twin', '--seed', seed, '--epochs', epochs, '--quiet', '--out', `${f('full')}.json`);
  // Import back: the chip-trained model file runs on the engine and exports again (int8, validated).
  s2prop('export', '--model', `${f('chip')}.json`, '--quant', 'int8', '--clip-percentile', 100, '--out', f('int8'));
  const checked = validation(`${f('chip')}.json`, f('int8'), 0);
  const row = {
    seed,
    [`offChip${half}Epochs`]: testAccuracy(`${f('pre')}.json`),
    [`plusOnChip${half}Epochs`]: testAccuracy(`${f('chip')}.json`),
    [`offChip${epochs}Epochs`]: testAccuracy(`${f('full')}.json`),
    importedInt8SpikeAgreement: checked.spikeTrainAgreement,
  };
  console.log(JSON.stringify(row));
  rows.push(row);
}
await writeTables(out, 'a-continue-on-chip', rows);
