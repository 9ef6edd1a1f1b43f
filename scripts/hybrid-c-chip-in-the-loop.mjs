// Hybrid workflow (c): chip-in-the-loop training. Forward passes run on the simulated chip (a float32
// inference export of a fresh twin model); after each batch the host reads back every layer's spikes,
// computes the gradients off-chip (loss and adjoint on the engine, I - Vpre recomputed from the recorded
// input spikes) and writes the updated weights into the chip. On the bit-faithful simulator the loop must
// reproduce off-chip training exactly; the table shows both, and the spike mismatches (0 expected).
// Writes results/hybrid/c-chip-in-the-loop.*
//
//   npm run build && node scripts/hybrid-c-chip-in-the-loop.mjs [--seed 0] [--epochs 40]
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, readJson, root, s2prop, testAccuracy, writeTables } from './lib/run-cli.mjs';

const seed = Number(arg('seed', 0));
const epochs = Number(arg('epochs', 40));
const work = mkdtempSync(join(tmpdir(), 's2prop-hybrid-c-'));
const out = join(root, 'results/hybrid');
mkdirSync(out, { recursive: true });
const p = (name) => join(work, name);

s2prop('init', '--preset', 'twin', '--seed', seed, '--out', p('init.json'));
s2prop('export', '--model', p('init.json'), '--quant', 'float32', '--slots', 22, '--out', p('f32'));
const t0 = performance.now();
s2prop('chip-loop', '--config', p('f32'), '--model', p('init.json'), '--epochs', epochs, '--seed', seed, '--quiet', '--out', p('loop.json'), '--log', join(out, 'c-chip-loop-log.csv'));
const loopSeconds = (performance.now() - t0) / 1000;
s2prop('train', '--preset', 'twin', '--seed', seed, '--epochs', epochs, '--quiet', '--out', p('off.json'));
const loop = readJson(p('loop.json'));
const off = readJson(p('off.json'));
const mismatches = readFileSync(join(out, 'c-chip-loop-log.csv'), 'utf8').trim().split('\n').slice(1).reduce((a, line) => a + Number(line.split(',').at(-1)), 0);
const rows = [
  { training: 'off-chip (s2prop train)', bestEpoch: off.metrics.bestEpoch, testAccuracy: testAccuracy(p('off.json')), spikeMismatches: '-', wallSeconds: '-' },
  { training: 'chip-in-the-loop (s2prop chip-loop)', bestEpoch: loop.provenance.bestEpoch, testAccuracy: loop.metrics.chipTestAccuracy, spikeMismatches: mismatches, wallSeconds: loopSeconds.toFixed(0) },
];
rows.push({ training: 'weights identical', bestEpoch: '', testAccuracy: JSON.stringify(loop.layers) === JSON.stringify(off.layers) ? 'yes' : 'no', spikeMismatches: '', wallSeconds: '' });
console.log(rows);
await writeTables(out, 'c-chip-in-the-loop', rows);
