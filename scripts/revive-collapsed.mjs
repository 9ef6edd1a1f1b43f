// Does the silent-label nudge revive a network that has already collapsed? Trains one seed that
// collapses without the nudge up to epoch --collapse-at (keeping its checkpoint: weights, Adam state,
// schedule), then continues that very state twice to --epochs: once as it was, once with
// loss.nudge set. The only difference between the two continuations is the nudge. Writes both metrics
// logs, a CSV of the curves and an SVG (PNG beside it where rsvg-convert is installed).
//
//   npm run build && node scripts/revive-collapsed.mjs [--config results/sweep/exact-1/ten-seeds/t50.json]
//       [--seed 9] [--collapse-at 25] [--epochs 40] [--nudge 0.01] [--out results/training-collapse/revive]
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { linePanels } from './lib/line-panels.mjs';
import { arg, readColumns, root } from './lib/run-cli.mjs';

const config = resolve(arg('config', join(root, 'results/sweep/exact-1/ten-seeds/t50.json')));
const seed = arg('seed', '9');
const collapseAt = Number(arg('collapse-at', 25));
const epochs = Number(arg('epochs', 40));
const nudge = Number(arg('nudge', 0.01));
const out = resolve(arg('out', join(root, 'results/training-collapse/revive')));
mkdirSync(out, { recursive: true });

/** `s2prop train` with the study's settings; exits on failure. */
function train(name, more) {
  const args = ['--no-wasm-dynamic-tiering', join(root, 'dist/cli/main.js'), 'train', '--preset', 'exact', '--config', config, '--seed', seed, '--backend', 'wasm', '--quiet'];
  const r = spawnSync(process.execPath, [...args, '--out', join(out, `${name}.json`), '--log', join(out, `${name}.csv`), ...more], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`train ${name} exited with ${r.status}`);
}

// 1. Up to the collapse without the nudge (the preset's is switched off), keeping the checkpoint (the
// state after epoch collapseAt).
train('plain', ['--epochs', String(collapseAt), '--keep-checkpoint', '--loss.nudge', '0']);
// 2. The same state, with the nudge: the checkpoint's settings say loss.nudge, as the flag will.
const ckpt = JSON.parse(readFileSync(join(out, 'plain.json.ckpt.json'), 'utf8'));
ckpt.config.loss.nudge = nudge;
writeFileSync(join(out, 'nudged.json.ckpt.json'), JSON.stringify(ckpt));
copyFileSync(join(out, 'plain.csv'), join(out, 'nudged.csv'));
train('plain', ['--epochs', String(epochs), '--resume', '--loss.nudge', '0']);
train('nudged', ['--epochs', String(epochs), '--resume', '--loss.nudge', String(nudge)]);

// The curves are the result; the two models are not needed.
for (const name of ['plain', 'nudged']) rmSync(join(out, `${name}.json`));

const plain = readColumns(join(out, 'plain.csv'));
const nudged = readColumns(join(out, 'nudged.csv'));
const rows = plain.epoch.map((e, i) => [e, plain.validationAccuracy[i], nudged.validationAccuracy[i], plain.spikesPerSample2[i], nudged.spikesPerSample2[i]]);
writeFileSync(
  join(out, 'curves.csv'),
  ['epoch,validationPlain,validationNudged,outputSpikesPerSamplePlain,outputSpikesPerSampleNudged', ...rows.map((r) => r.join(','))].join('\n') + '\n',
);
const after = (d) => ({ x: d.epoch.filter((e) => e >= collapseAt), pick: (col) => d[col].filter((_, i) => d.epoch[i] >= collapseAt) });
const [p, n] = [after(plain), after(nudged)];
const series = (col, scale = 1) => [
  { name: 'until the fork', x: plain.epoch.filter((e) => e <= collapseAt), y: plain[col].filter((_, i) => plain.epoch[i] <= collapseAt).map((v) => v * scale), color: '#7f7f7f' },
  { name: 'as it was', x: p.x, y: p.pick(col).map((v) => v * scale), color: '#d62728' },
  { name: `nudge ${nudge}`, x: n.x, y: n.pick(col).map((v) => v * scale), color: '#2ca02c' },
];
const svgPath = join(out, 'revive.svg');
writeFileSync(
  svgPath,
  linePanels({
    title: `${basename(config, '.json')}, seed ${seed}: the state after epoch ${collapseAt} continued as it was, and with the silent-label nudge`,
    panels: [
      { label: 'validation accuracy (%)', min: 30, max: 100, series: series('validationAccuracy', 100) },
      { label: 'output spikes / sample', log: true, series: series('spikesPerSample2') },
    ],
    panelHeight: 200,
  }),
);
try {
  execFileSync('rsvg-convert', ['-o', svgPath.replace(/\.svg$/, '.png'), svgPath]);
} catch {
  process.stderr.write('rsvg-convert failed or missing: revive.png not written\n');
}
const pct = (v) => `${(100 * v).toFixed(1)} %`;
const last = plain.epoch.length - 1;
console.log(`epoch ${collapseAt}: validation ${pct(plain.validationAccuracy[collapseAt - 1])}; epoch ${epochs}: as it was ${pct(plain.validationAccuracy[last])}, with the nudge ${pct(nudged.validationAccuracy[last])}`);
console.log(`wrote ${out}/curves.csv and ${svgPath}`);
