import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { niceTicks, textWidth, tickLabel } from '../../src/report/plots/svg.js';
import { historyPlot, importancePlot, parallelCoordinates, trainingCurves } from '../../src/report/svg-plots.js';
import { curvesPath, writeTrainingLog } from '../../src/report/training-log.js';
import { UserError } from '../../src/errors.js';
import type { ParamSpec, Trial } from '../../src/sweep/types.js';
import type { EpochMetrics } from '../../src/train/trainer.js';

const tmp = mkdtempSync(join(tmpdir(), 's2prop-plots-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** rsvg-convert (Debian's librsvg2-bin) renders a plot when it is installed: the SVG is well-formed for a real renderer. */
const RSVG = spawnSync('rsvg-convert', ['--version']).status === 0;
function renders(svg: string, name: string): void {
  if (!RSVG) return;
  const path = join(tmp, `${name}.svg`);
  writeFileSync(path, svg);
  const r = spawnSync('rsvg-convert', [path, '-o', join(tmp, `${name}.png`)], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}
if (!RSVG) console.warn('plot rendering checks skipped: rsvg-convert is not installed (apt-get install librsvg2-bin)');

const trial = (number: number, value: number | null, state: Trial['state'], params: Record<string, unknown> = {}): Trial => ({
  number, params, state, value, intermediate: [], worker: null, heartbeatAt: null, startedAt: 0, finishedAt: 0, attrs: {},
});

/** The text contents of <text> elements (tooltips inside them removed). */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>(.*?)<\/text>/g)].map((m) => m[1].replace(/<title>.*?<\/title>/g, '').replace(/<[^>]+>/g, ''));
}

describe('axis ticks (hand calculation)', () => {
  it('0.31..0.97 in about 5 steps: step 0.2 (1, 2 or 5 x 10^k), from 0.2 to 1.0', () => {
    const t = niceTicks(0.31, 0.97, 5);
    expect(t.step).toBeCloseTo(0.2, 12);
    expect(t.ticks).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    expect(t.ticks.map((v) => tickLabel(v, t.step))).toEqual(['0.2', '0.4', '0.6', '0.8', '1.0']);
  });
  it('1..38 in about 5 steps: step 10 (raw 7.4 rounds up to 10), 0 to 40; a single value is widened', () => {
    expect(niceTicks(1, 38, 5)).toMatchObject({ ticks: [0, 10, 20, 30, 40], step: 10 });
    const one = niceTicks(0.5, 0.5, 4);
    expect(one.lo).toBeLessThan(0.5);
    expect(one.hi).toBeGreaterThan(0.5);
  });
});

describe('optimisation history', () => {
  const trials = [trial(0, 0.52, 'complete'), trial(1, 0.48, 'complete'), trial(2, 0.61, 'pruned'), trial(3, 0.4, 'complete'), trial(4, null, 'failed'), trial(5, 0.45, 'complete')];
  const svg = historyPlot(trials, 'validationLoss', false);
  it('one dot per finished trial (pruned hollow), trial numbers 0..5 on the x axis, y ticks, a legend', () => {
    expect(svg.match(/<circle [^>]*r="4"/g)).toHaveLength(5);
    expect(svg.match(/<circle [^>]*r="4" fill="white"/g)).toHaveLength(1);
    const t = texts(svg);
    for (const n of ['0', '1', '2', '3', '4', '5']) expect(t).toContain(n);
    // values 0.40..0.61 in about 6 steps: raw 0.035 -> step 0.05, ticks 0.40..0.65 (hand calculation)
    expect(t).toEqual(expect.arrayContaining(['0.40', '0.45', '0.50', '0.55', '0.60', '0.65']));
    expect(t).not.toContain('0.35');
    expect(t).toEqual(expect.arrayContaining(['complete trial', 'pruned trial (last epoch)', 'best so far (min)', 'trial number', 'validationLoss']));
    renders(svg, 'history');
  });
  it('the best-so-far line steps down at trials 1 and 3 only (minimise; the pruned trial 2 does not count)', () => {
    const pts = /<polyline points="([^"]+)"/.exec(svg)![1].split(' ').map((p) => p.split(',').map(Number));
    const ys = [...new Set(pts.map((p) => p[1]))];
    expect(ys).toHaveLength(3); // 0.52, 0.48, 0.40
  });
});

describe('parallel coordinates', () => {
  const params: Record<string, ParamSpec> = {
    'optimiser.lr': { type: 'loguniform', low: 0.001, high: 0.1 },
    'optimiser.weightDecay': { type: 'categorical', choices: [0, 6.5e-7] },
    'init.hidden.sigma': { type: 'uniform', low: 2, high: 4 },
    'encoding.tMin': { type: 'int', low: 0, high: 4 },
    'loss.regularisationStrengthOfTheFirstSpike': { type: 'uniform', low: 0, high: 1 },
    fixedOne: { type: 'fixed', value: 3 },
  };
  const trials = [0, 1, 2, 3].map((n) =>
    trial(n, 0.5 + 0.1 * n, 'complete', { 'optimiser.lr': 0.01, 'optimiser.weightDecay': 0, 'init.hidden.sigma': 3, 'encoding.tMin': n, 'loss.regularisationStrengthOfTheFirstSpike': 0.5, fixedOne: 3 }),
  );
  const svg = parallelCoordinates(trials, params, 'validationAccuracy');
  it('an axis per swept parameter and the objective, each with its own range labels (log axis in real values)', () => {
    const t = texts(svg);
    expect(t).toEqual(expect.arrayContaining(['optimiser.lr', 'optimiser.weightDecay', 'init.hidden.sigma', 'encoding.tMin', 'validationAccuracy']));
    expect(t).not.toContain('fixedOne');
    // loguniform 0.001..0.1: ends and the geometric middle 0.01; categorical: each choice; int 0..4: 0, 2, 4
    expect(t).toEqual(expect.arrayContaining(['0.001', '0.01', '0.1', '0', '6.5e-7', '2', '3', '4']));
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    renders(svg, 'parallel');
  });
  it('axis names do not overlap: same-row neighbours are further apart than half their widths; a long one is shortened with its full name as tooltip', () => {
    const names = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" text-anchor="middle" font-weight="bold"><title>([^<]*)<\/title>([^<]*)<\/text>/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), full: m[3], shown: m[4] }));
    expect(names).toHaveLength(6);
    for (let i = 0; i < names.length; i++) {
      for (let j = i + 1; j < names.length; j++) {
        if (names[i].y !== names[j].y) continue;
        expect(Math.abs(names[i].x - names[j].x), `${names[i].shown} / ${names[j].shown}`).toBeGreaterThan((textWidth(names[i].shown) + textWidth(names[j].shown)) / 2);
      }
    }
    const long = names.find((n) => n.full.startsWith('loss.'))!;
    expect(long.shown).toContain('…');
    expect(long.shown.length).toBeLessThan(long.full.length);
    // every name lies inside the picture
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    for (const n of names) {
      expect(n.x - textWidth(n.shown) / 2).toBeGreaterThanOrEqual(0);
      expect(n.x + textWidth(n.shown) / 2).toBeLessThanOrEqual(width);
    }
  });
});

describe('training curves', () => {
  const row = (epoch: number, trainLoss: number, validationLoss: number, trainAccuracy: number, validationAccuracy: number): EpochMetrics => ({ epoch, trainLoss, validationLoss, trainAccuracy, validationAccuracy, trainSeconds: 1 });
  const history = [row(1, 1.2, 1.1, 0.4, 0.45), row(2, 0.9, 0.95, 0.6, 0.58), row(3, 0.7, 0.8, 0.75, 0.7)];
  it('a loss panel and an accuracy panel (in %), each with train and validation lines through every epoch', () => {
    const svg = trainingCurves(history);
    const lines = [...svg.matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1].split(' '));
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l).toHaveLength(3);
    const t = texts(svg);
    expect(t).toEqual(expect.arrayContaining(['loss', 'accuracy', 'accuracy (%)', 'epoch', 'train', 'validation', '1', '2', '3']));
    // accuracy 40..75 % with step 10: ticks 40..80 (hand calculation)
    expect(t).toEqual(expect.arrayContaining(['40', '50', '60', '70', '80']));
    renders(svg, 'curves');
  });
  it('go beside the metrics CSV with the same base name; a log named .svg is refused', () => {
    expect(curvesPath(join('runs', 'm.csv'))).toBe(join('runs', 'm.svg'));
    expect(curvesPath('metrics')).toBe('metrics.svg');
    expect(() => curvesPath('m.svg')).toThrow(UserError);
    const log = join(tmp, 'run.csv');
    writeTrainingLog(log, history);
    expect(readFileSync(join(tmp, 'run.svg'), 'utf8')).toContain('training curves (run.csv)');
    expect(readFileSync(log, 'utf8').split('\n')[0]).toContain('validationAccuracy');
  });
});

describe('parameter importance plot', () => {
  it('a bar per parameter, most important first', () => {
    const svg = importancePlot({ a: 0.2, bb: 0.9 });
    const t = texts(svg);
    expect(t.indexOf('bb')).toBeLessThan(t.indexOf('a'));
    renders(svg, 'importance');
  });
});
