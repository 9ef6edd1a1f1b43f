// Engine agreement between two backends (default: wasm the reference, webgpu the candidate), one child
// process per check (lib/checks.mjs), so that a crash or a hang in one check leaves the others. Writes
// agreement.json after every check.
//
//   node scripts/gpu-check/agree.mjs [--out FILE] [--reference wasm] [--candidate webgpu]
//                                    [--only forward-twin,training] [--budget SECONDS]
//
// --budget: total seconds for all checks (default 240); a check gets at most its own limit and what
// is left, and checks that no longer fit are recorded as skipped.
import { writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runJsonChild } from './lib/run-child.mjs';

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const reference = option('--reference', 'wasm');
const candidate = option('--candidate', 'webgpu');

/** Each check with its own time limit in seconds (generous: an H200 machine needs far less). */
const LIMITS = {
  'forward-twin': 60,
  'forward-exact': 90,
  'forward-deep3': 60,
  'gradients-twin': 45,
  'gradients-exact': 45,
  'gradients-deep3': 45,
  'stacked-twin': 45,
  training: 120,
};

if (process.argv[2] === '--child') {
  const name = process.argv[3];
  let out;
  try {
    const { CHECKS } = await import('./lib/checks.mjs');
    if (!CHECKS[name]) throw new Error(`unknown check '${name}'`);
    out = await CHECKS[name]({ reference, candidate });
  } catch (err) {
    out = { name, pass: false, error: String(err?.stack ?? err).split('\n').slice(0, 5).join(' | ') };
  }
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
} else {
  await main();
}

async function runChild(name, limitSeconds) {
  const args = ['--no-wasm-dynamic-tiering', fileURLToPath(import.meta.url), '--child', name, '--reference', reference, '--candidate', candidate];
  const answer = await runJsonChild(args, limitSeconds);
  return 'error' in answer && !('name' in answer) ? { name, pass: false, error: answer.error } : answer;
}

async function main() {
  const outPath = resolve(option('--out', 'agreement.json'));
  const only = option('--only', null)?.split(',');
  const budget = Number(option('--budget', 240));
  const names = Object.keys(LIMITS).filter((n) => !only || only.includes(n));
  const report = {
    what: `engine agreement, ${candidate} against ${reference}: forward spikes on the canonical Yin-Yang test split, one batch's gradients, stacked vs unstacked trials on ${candidate}, a 3-epoch training run`,
    reference,
    candidate,
    node: process.version,
    date: new Date().toISOString(),
    checks: [],
    skipped: [],
  };
  mkdirSync(dirname(outPath), { recursive: true });
  const write = () => {
    report.passed = report.checks.filter((c) => c.pass).length;
    report.failed = report.checks.filter((c) => !c.pass).map((c) => c.name);
    writeFileSync(outPath + '.tmp', JSON.stringify(report, null, 2) + '\n');
    renameSync(outPath + '.tmp', outPath);
  };
  write();
  const start = performance.now();
  for (const name of names) {
    const left = budget - (performance.now() - start) / 1000;
    if (left < 10) {
      report.skipped.push({ name, why: `the total budget of ${budget} s was spent` });
      write();
      continue;
    }
    const t0 = performance.now();
    const r = await runChild(name, Math.min(LIMITS[name], left));
    r.wallSeconds = +((performance.now() - t0) / 1000).toFixed(1);
    report.checks.push(r);
    write();
    const numbers = r.error
      ? r.error
      : r.name.startsWith('forward')
        ? `${r.samplesDiffering} of ${r.samples} samples differ, max first-spike diff ${r.maxFirstSpikeDiff}`
        : r.name.startsWith('gradients')
          ? `relative diff per layer ${r.layers.map((l) => l.relative.toExponential(2)).join(', ')}`
          : r.name.startsWith('stacked')
            ? JSON.stringify(r.differing)
            : `test accuracy ${reference} ${r.runs?.[reference]?.testAccuracy}, ${candidate} ${r.runs?.[candidate]?.testAccuracy}`;
    console.log(`${r.pass ? 'PASS' : 'FAIL'} ${name} (${r.wallSeconds} s): ${numbers}`);
  }
  report.seconds = +((performance.now() - start) / 1000).toFixed(1);
  write();
  // Where the candidate's results lived (lib/checks.mjs residency): 'host' on webgpu means the
  // engine's fallback computed them on the CPU, so the check says nothing about GPU kernels yet.
  const onHost = report.checks.filter((c) => {
    const r = c.outputResidency?.[candidate] ?? c.residency?.[candidate]?.spikes ?? c.residency?.spikes;
    return r === 'host';
  });
  if (candidate === 'webgpu' && onHost.length) {
    report.note = `${onHost.map((c) => c.name).join(', ')}: the ${candidate} results stayed on the host (the engine's download/compute/upload fallback, not GPU kernels)`;
    console.log(report.note);
    write();
  }
  console.log(`agreement: ${report.passed} of ${report.checks.length} checks passed${report.skipped.length ? `, ${report.skipped.length} skipped` : ''}; wrote ${outPath}`);
  process.exitCode = report.failed.length || report.skipped.length ? 1 : 0;
}
