import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/chip/config-dir.js';
import { exportModel, type TrainingExport } from '../../src/chip/export.js';
import { OnChipTrainer } from '../../src/chip/host/on-chip-training.js';
import { BUILTIN_MACHINES, type Machine } from '../../src/chip/machine.js';
import type { QuantType } from '../../src/quant/quantise.js';
import { loadChipConfig } from '../../src/chip/sim/load-config.js';
import { ChipSimulator } from '../../src/chip/sim/simulator.js';
import { MT19937 } from '../../src/data/mt19937.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { UserError } from '../../src/errors.js';
import { initModel } from '../../src/model/init.js';
import { resolveConfig } from '../../src/model/train-config.js';

/**
 * Fuzz: mutate the files of small exported config directories — JSON values replaced by another type
 * or an out-of-range number, keys deleted or added, array entries duplicated or dropped; image bytes
 * flipped, words overwritten, images truncated or extended (with the checksum in spec.json recomputed,
 * so that the mutation reaches the image parser and the programs) — then load and run each one. Every
 * run must either succeed or end in one UserError line naming the file; anything else (a TypeError, a
 * RangeError, an internal assertion) is a crash. Seeded: S2PROP_FUZZ_SEED=N runs another seed, and
 * S2PROP_FUZZ_LOG=1 prints every mutation with its outcome.
 */

const SEED = Number(process.env.S2PROP_FUZZ_SEED ?? 20240611);
const MUTATIONS = 400;
const SAMPLES = 3;

type Files = Map<string, string | Uint8Array>;

function baseConfigs(): { name: string; files: Files; training?: boolean }[] {
  const model = initModel(resolveConfig('twin', [{ hidden: [12], steps: 12, encoding: { tMin: 1, tMax: 11 }, seed: 2 }], 'fuzz'), 5, 3, ['x', 'y', 'x_inv', 'y_inv']);
  const small: Machine = structuredClone(BUILTIN_MACHINES.chip);
  small.memory.dataBytesPerPe.value = 420; // layer 1 is cut into slices: the source-slice tables matter
  // Images as plain Uint8Arrays (a Buffer's slice() is a view, and the bases must stay unmutated).
  const make = (quant: QuantType, machine: Machine, slots: number, training?: TrainingExport): Files =>
    new Map([...exportModel(model, { quant, clipPercentile: 100, machine, slots, training }).files].map(([k, v]) => [k, typeof v === 'string' ? v : new Uint8Array(v)]));
  const trainSmall: Machine = structuredClone(BUILTIN_MACHINES.chip);
  trainSmall.memory.dataBytesPerPe.value = 1400; // training regions: layer 1 sliced, several optimisers
  const training: TrainingExport = { batchSize: 3, packetsPerTick: 8, optimiser: { lr: 0.002, gamma: 0.95, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-6 } };
  return [
    { name: 'int8, 2 slots', files: make('int8', structuredClone(BUILTIN_MACHINES.chip), 2) },
    { name: 'int4, sliced', files: make('int4', small, 1) },
    { name: 'float32, board', files: make('float32', structuredClone(BUILTIN_MACHINES.board), 1) },
    { name: 'training, 2 slots, sliced', files: make('float32', trainSmall, 2, training), training: true },
  ];
}

/** A small random generator over MT19937. */
class Rand {
  private readonly mt: MT19937;
  constructor(seed: number) {
    this.mt = new MT19937(seed);
  }
  int(n: number): number {
    return Math.floor(this.mt.rand() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.mt.rand() < p;
  }
}

type Path = (string | number)[];

/** Every position in a JSON value (the root excluded). */
function positions(value: unknown, path: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(value)) value.forEach((v, i) => (out.push([...path, i]), positions(v, [...path, i], out)));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push([...path, k]), positions(v, [...path, k], out);
  return out;
}

function parentOf(root: unknown, path: Path): Record<string | number, unknown> {
  let at = root as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) at = at[p] as Record<string | number, unknown>;
  return at;
}

const OTHER_VALUES: unknown[] = [null, true, false, '', 'x', '../outside.bin', '/etc/passwd', 'images', '.', {}, [], [1, 2], { a: 1 }, -1, 0, 1, 2, 3, 1.5, -0.5, 1e9, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 1e308];

function numberEdit(rng: Rand, n: number): number {
  return rng.pick([n + 1, n - 1, -n, 2 * n, 0, n + 4096, 2 ** 31, 2 ** 32 - 1, 1e6, n / 2, 100001]);
}

/** Mutate a JSON document in place; returns a description. */
function mutateJson(rng: Rand, doc: unknown): string {
  const all = positions(doc);
  if (all.length === 0) return 'nothing to mutate';
  const path = rng.pick(all);
  const parent = parentOf(doc, path);
  const key = path[path.length - 1];
  const where = path.join('.');
  const old = parent[key];
  switch (rng.int(6)) {
    case 0:
    case 1: {
      const v = typeof old === 'number' && rng.chance(0.7) ? numberEdit(rng, old) : rng.pick(OTHER_VALUES);
      parent[key] = structuredClone(v);
      return `${where}: ${JSON.stringify(old)?.slice(0, 60)} -> ${JSON.stringify(v)}`;
    }
    case 2:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      return `${where}: deleted`;
    case 3:
      if (Array.isArray(parent)) {
        parent.splice(key as number, 0, structuredClone(old));
        return `${where}: duplicated`;
      }
      parent[`${String(key)}Extra`] = 1;
      return `${where}: sibling key added`;
    case 4: {
      // A number anywhere below this position.
      const nums = positions(old, []).filter((p) => typeof parentOf(old, p)[p[p.length - 1]] === 'number');
      if (typeof old === 'number' || nums.length === 0) {
        const v = typeof old === 'number' ? numberEdit(rng, old) : rng.pick(OTHER_VALUES);
        parent[key] = v;
        return `${where}: ${JSON.stringify(old)?.slice(0, 60)} -> ${JSON.stringify(v)}`;
      }
      const p = rng.pick(nums);
      const inner = parentOf(old, p);
      const was = inner[p[p.length - 1]] as number;
      inner[p[p.length - 1]] = numberEdit(rng, was);
      return `${[...path, ...p].join('.')}: ${was} -> ${inner[p[p.length - 1]]}`;
    }
    default: {
      // Swap with another entry of the same array / object (reorders, e.g., regions or PEs).
      const sibs = (Array.isArray(parent) ? parent.map((_, i) => i) : Object.keys(parent)) as (string | number)[];
      const others = sibs.filter((k) => k !== key);
      if (others.length === 0) {
        delete parent[key];
        return `${where}: deleted`;
      }
      const other = rng.pick(others);
      [parent[key], parent[other]] = [parent[other], parent[key]];
      return `${where}: swapped with ${String(other)}`;
    }
  }
}

const WORD_VALUES = [0, 1, 2, 3, 4, 5, 11, 12, 13, 63, 64, 100, 255, 256, 4095, 4096, 100000, 2 ** 20, 2 ** 31, 2 ** 32 - 1, 0x52503253, 0x7fc00000, 0x7f800000];

/** Mutate an image's bytes; returns the new bytes and a description. */
function mutateImage(rng: Rand, bytes: Uint8Array): { bytes: Uint8Array; what: string; resized: boolean } {
  const words = bytes.length >> 2;
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (rng.int(6)) {
    case 0: {
      const out = bytes.slice();
      const i = rng.int(out.length);
      const bit = 1 << rng.int(8);
      out[i] ^= bit;
      return { bytes: out, what: `byte ${i} ^= ${bit}`, resized: false };
    }
    case 1:
    case 2: {
      // A word of the header (the first 64, where the layout lives) or anywhere.
      const out = bytes.slice();
      const w = rng.chance(0.6) ? rng.int(Math.min(64, words)) : rng.int(words);
      const old = view(out).getUint32(4 * w, true);
      const v = rng.chance(0.5) ? rng.pick(WORD_VALUES) : (old + rng.pick([1, -1, 2, 32, -32])) >>> 0;
      view(out).setUint32(4 * w, v >>> 0, true);
      return { bytes: out, what: `word ${w}: ${old} -> ${v >>> 0}`, resized: false };
    }
    case 3: {
      const cut = rng.pick([1, 2, 3, 4, 8, 4 * rng.int(words)]);
      return { bytes: bytes.slice(0, Math.max(0, bytes.length - cut)), what: `truncated by ${cut} bytes`, resized: true };
    }
    case 4: {
      const extra = rng.pick([1, 2, 4, 8, 64]);
      const out = new Uint8Array(bytes.length + extra);
      out.set(bytes);
      for (let i = bytes.length; i < out.length; i++) out[i] = rng.int(256);
      return { bytes: out, what: `extended by ${extra} bytes`, resized: true };
    }
    default: {
      // Several random words at once.
      const out = bytes.slice();
      const edits: string[] = [];
      for (let e = 0; e < 3; e++) {
        const w = rng.int(words);
        const v = rng.pick(WORD_VALUES);
        view(out).setUint32(4 * w, v >>> 0, true);
        edits.push(`${w}=${v}`);
      }
      return { bytes: out, what: `words ${edits.join(', ')}`, resized: false };
    }
  }
}

/** One mutation of a copy of `files`: returns the mutated files and what was done. */
function mutate(rng: Rand, base: Files): { files: Files; what: string } {
  const files: Files = new Map(base);
  const names = [...files.keys()];
  const jsonNames = names.filter((n) => n.endsWith('.json') && n !== 'export.json' && n !== 'report.json');
  const imageNames = names.filter((n) => n.endsWith('.bin'));
  const edits = rng.chance(0.15) ? 2 : 1;
  const whats: string[] = [];
  for (let e = 0; e < edits; e++) {
    if (rng.chance(0.45)) {
      const name = rng.chance(0.3) ? 'spec.json' : rng.pick(jsonNames);
      const doc = JSON.parse(files.get(name) as string);
      whats.push(`${name}: ${mutateJson(rng, doc)}`);
      files.set(name, JSON.stringify(doc, null, 1));
    } else {
      const name = rng.pick(imageNames);
      const { bytes, what, resized } = mutateImage(rng, files.get(name) as Uint8Array);
      files.set(name, bytes);
      // The checksum follows the edit, so the image parser and the programs see it.
      const spec = JSON.parse(files.get('spec.json') as string);
      for (const pe of Array.isArray(spec?.pes) ? spec.pes : []) if (pe?.image === name) pe.sha256 = sha256(bytes);
      let also = '';
      if (resized && bytes.length % 4 === 0 && rng.chance(0.5)) {
        // ... and sometimes the region map's size too, to reach the region checks.
        const mapName = name.replace(/\.bin$/, '.regions.json');
        const map = JSON.parse(files.get(mapName) as string);
        if (map && typeof map === 'object') map.words = bytes.length / 4;
        files.set(mapName, JSON.stringify(map));
        also = ' (region map words updated)';
      }
      files.set('spec.json', JSON.stringify(spec));
      whats.push(`${name}: ${what}${also}`);
    }
  }
  return { files, what: whats.join('; ') };
}

function writeFiles(dir: string, files: Files): void {
  for (const [name, contents] of files) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), contents);
  }
}

describe('fuzz: mutated config directories never crash the loader or the simulator', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 's2prop-fuzz-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it(`${MUTATIONS} seeded mutations: each run succeeds or ends in one UserError line naming the file (seed ${SEED})`, () => {
    const rng = new Rand(SEED);
    const bases = baseConfigs();
    const ds = yinyangDataset({ size: SAMPLES, seed: 3 });
    // On-chip training of one batch (two rounds on 2 slots, with an update) on a training config.
    const train = (dir: string) =>
      new OnChipTrainer(loadChipConfig(dir), dir).runBatch(
        Array.from({ length: SAMPLES }, (_, i) => ({ features: ds.features.subarray(4 * i, 4 * i + 4), label: ds.labels[i] })),
        { update: true, lr: 0.002 },
      );
    // The unmutated configs run.
    for (const b of bases) {
      const dir = join(root, `base-${b.name.replace(/\W+/g, '-')}`);
      writeFiles(dir, b.files);
      const sim = new ChipSimulator(loadChipConfig(dir)).run(ds.features, ds.count, ds.labels, true);
      expect(sim.samples).toHaveLength(SAMPLES);
      if (b.training) expect(train(dir)).toHaveLength(SAMPLES);
    }
    const outcomes = { ok: 0, refused: 0 };
    const crashes: string[] = [];
    for (let m = 0; m < MUTATIONS; m++) {
      const base = bases[m % bases.length];
      const { files, what } = mutate(rng, base.files);
      const dir = join(root, `m${m}`);
      writeFiles(dir, files);
      const label = `seed ${SEED}, mutation ${m} of '${base.name}': ${what}`;
      try {
        const sim = new ChipSimulator(loadChipConfig(dir)).run(ds.features, ds.count, ds.labels, m % 2 === 0);
        expect(sim.samples, label).toHaveLength(SAMPLES);
        if (base.training) expect(train(dir), label).toHaveLength(SAMPLES);
        outcomes.ok++;
        if (process.env.S2PROP_FUZZ_LOG) console.log(`${label}\n  => ok`);
      } catch (err) {
        if (err instanceof UserError && !err.message.includes('\n') && err.message.startsWith(dir)) {
          outcomes.refused++;
          if (process.env.S2PROP_FUZZ_LOG) console.log(`${label}\n  => ${err.message.slice(dir.length)}`);
        }
        else crashes.push(`${label}\n  -> ${err instanceof UserError ? `UserError not naming a file of the directory: ${err.message}` : (err as Error)?.stack ?? String(err)}`);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    expect(crashes, `${crashes.length} crash(es) (replay with S2PROP_FUZZ_SEED=${SEED}):\n${crashes.slice(0, 8).join('\n')}`).toEqual([]);
    // Not vacuous: mutations are both refused and (harmless ones) accepted.
    expect(outcomes.refused, `seed ${SEED}`).toBeGreaterThan(MUTATIONS / 3);
    expect(outcomes.ok, `seed ${SEED}`).toBeGreaterThan(0);
  }, 60_000);
});
