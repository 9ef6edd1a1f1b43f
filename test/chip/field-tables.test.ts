import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FieldTable, RecordTable, type FieldType } from '../../src/chip/field-table.js';
import { designRulesMarkdown, fieldTablesMarkdown } from '../../src/chip/layout-doc.js';
import {
  ADJOINT,
  FIELD_TABLES,
  H,
  HEADER_WORDS,
  INBOX,
  inputRegions,
  layerRegions,
  lossRegions,
  MAX_REGIONS,
  MOMENTS,
  optimiserRegions,
  STATE,
  type ProgramName,
  type RegionSpec,
} from '../../src/chip/memory-layout.js';
import { CONFIG_RULES, PE_ENTRY_RULES, READ_RULES, TRAINING_RULES, WRITE_RULES } from '../../src/chip/sim/config-rules.js';
import { HEADER_RULES, IMAGE_FILE_RULES, PROGRAM_RULES, REGION_RULES } from '../../src/chip/sim/image-rules.js';
import { MT19937 } from '../../src/data/mt19937.js';

/**
 * The field tables of the PE memory regions (src/chip/memory-layout.ts): every region's words round-trip
 * through its encode/decode pair, with each word's bits checked against an independent encoding (DataView,
 * little-endian float32 and two's complement); every table's offsets are distinct and inside the size the
 * region is allocated with; and docs/chip-memory-layout.md holds the tables as generated from them.
 */

const SEED = 20250301;

/** The tables of one region: a plain table, or a record table's head and record. */
function parts(t: FieldTable<string> | RecordTable<string, string>): FieldTable<string>[] {
  return t instanceof RecordTable ? [t.head, t.record] : [t];
}

/** A random value a field of `type` can hold exactly (float32 values incl. -0, subnormals, infinities). */
function randomValue(rng: MT19937, type: FieldType): number {
  const u = rng.randint(2 ** 31) * 2 + rng.randint(2);
  if (type === 'u32') return u;
  if (type === 'i32') return u - 2 ** 31;
  const special = [0, -0, 1, -1, 2 ** -149, -(2 ** -130), Infinity, -Infinity, 3.4028234663852886e38];
  if (rng.randint(4) === 0) return special[rng.randint(special.length)];
  return Math.fround((rng.rand() - 0.5) * 2 ** (rng.randint(60) - 30));
}

/** The word an independent encoder writes for `value`. */
function expectedWord(type: FieldType, value: number): number {
  const view = new DataView(new ArrayBuffer(4));
  if (type === 'f32') view.setFloat32(0, value, true);
  else if (type === 'i32') view.setInt32(0, value, true);
  else view.setUint32(0, value, true);
  return view.getUint32(0, true);
}

/** The region `name` of a program, allocated for a sample shape (`count` records of a record table). */
function allocated(programs: ProgramName[], name: string, count: number): { program: ProgramName; words: number }[] {
  const of = (specs: RegionSpec[]) => specs.find((r) => r.name === name)?.words;
  const shapes: Record<ProgramName, () => RegionSpec[]> = {
    input: () => inputRegions({ features: 4, inputs: 5, steps: 20, training: true }),
    layer: () => layerRegions({ neurons: 7, inputs: 5, steps: 20, quant: 'float32', sourceSlices: count, training: true }),
    loss: () => lossRegions(3, count),
    optimiser: () => optimiserRegions(count, 35),
  };
  return programs.map((program) => ({ program, words: of(shapes[program]())! }));
}

describe('field tables of the PE memory regions', () => {
  it('encode then decode gives back every field of every region, and each word holds the bits of an independent DataView encoding', () => {
    const rng = new MT19937(SEED);
    for (const { region, table } of FIELD_TABLES) {
      for (let trial = 0; trial < 50; trial++) {
        const records = 1 + rng.randint(4);
        const size = table instanceof RecordTable ? table.wordsFor(records) : table.words;
        const base = 1 + rng.randint(8);
        const sentinel = 0xdeadbeef;
        const words = new Uint32Array(base + size + 4).fill(sentinel);
        const encodeAll = (t: FieldTable<string>, at: number) => {
          const values = Object.fromEntries(t.names.map((k) => [k, randomValue(rng, t.fields[k].type)]));
          t.encode(words, at, values);
          return { t, at, values };
        };
        const written =
          table instanceof RecordTable
            ? [encodeAll(table.head, base), ...Array.from({ length: records }, (_, i) => encodeAll(table.record, table.recordAt(base, i)))]
            : [encodeAll(table, base)];
        for (const { t, at, values } of written) {
          const decoded = t.decode(words, at);
          for (const k of t.names) {
            const where = `seed ${SEED}, ${region} ${t.name}.${k} = ${values[k]}`;
            expect(Object.is(decoded[k], values[k]), `${where}: decoded ${decoded[k]}`).toBe(true);
            expect(t.get(words, at, k), where).toBe(decoded[k]);
            expect(words[at + t.fields[k].at], where).toBe(expectedWord(t.fields[k].type, values[k]));
          }
        }
        // nothing written outside the region
        for (let i = 0; i < words.length; i++) if (i < base || i >= base + size) expect(words[i], `${region}: word ${i} outside the region`).toBe(sentinel);
      }
    }
  });

  it('set writes one field and leaves the others', () => {
    const t = FIELD_TABLES.find((e) => e.region === 'control' && e.programs.includes('optimiser'))!.table as FieldTable<'update' | 'lr'>;
    const words = new Uint32Array(t.words).fill(7);
    t.set(words, 0, 'lr', 0.5);
    expect([...words]).toEqual([7, 0x3f000000]);
  });

  it("every table's offsets are distinct whole words inside the size the region is allocated with", () => {
    for (const { programs, region, table } of FIELD_TABLES) {
      for (const t of parts(table)) {
        const offsets = t.names.map((k) => t.fields[k].at);
        expect(new Set(offsets).size, `${t.name}: offsets ${offsets}`).toBe(offsets.length);
        for (const at of offsets) {
          expect(Number.isInteger(at) && at >= 0 && at < t.words, `${t.name}: offset ${at} of ${t.words} words`).toBe(true);
        }
      }
      for (const count of [1, 3]) {
        const declared = table instanceof RecordTable ? table.wordsFor(count) : table.words;
        for (const a of allocated(programs, region, count)) {
          if (region === 'header') expect(a.words, 'header').toBe(HEADER_WORDS);
          else expect(a.words, `${a.program} ${region} (${count} records)`).toBe(declared);
        }
      }
    }
    // The header: fixed fields, then MAX_REGIONS region-table entries, exactly filling it.
    const header = FIELD_TABLES.find((e) => e.region === 'header')!.table as RecordTable<string, string>;
    expect(header.wordsFor(MAX_REGIONS)).toBe(HEADER_WORDS);
  });

  it('the header fields sit at the words of layout version 1 (the image format does not move)', () => {
    // The layout as first written (memory-layout.ts before the field tables): word index of each field.
    const v1 = ['magic', 'version', 'program', 'slot', 'layer', 'slice', 'neuronStart', 'neuronCount', 'inputs', 'steps', 'quant', 'weightExp', 'keyBase', 'regionCount', 'sends', 'training'];
    v1.forEach((name, i) => expect(H[name as keyof typeof H], name).toBe(i));
    expect(H.regionTable).toBe(16);
  });

  it('plane regions are allocated as planes of equal size', () => {
    expect(layerRegions({ neurons: 7, inputs: 40, steps: 5, quant: 'int8', sourceSlices: 1 }).find((r) => r.name === 'state')!.words).toBe(STATE.planes.length * 7);
    expect(layerRegions({ neurons: 7, inputs: 40, steps: 5, quant: 'int8', sourceSlices: 1 }).find((r) => r.name === 'inbox')!.words).toBe(INBOX.planes.length * 2);
    expect(layerRegions({ neurons: 7, inputs: 40, steps: 5, quant: 'float32', sourceSlices: 1, training: true }).find((r) => r.name === 'adjoint')!.words).toBe(14);
    expect(optimiserRegions(2, 35).find((r) => r.name === 'moments')!.words).toBe(70);
    expect([STATE.planeAt(10, 'V', 7), ADJOINT.planeAt(0, 'lamI', 7), MOMENTS.planeAt(3, 'v', 35)]).toEqual([17, 0, 38]);
  });
});

describe('design rules of the config loader', () => {
  it('every rule is a named function with a one-line description, named once in its list', () => {
    const lists = [PE_ENTRY_RULES, IMAGE_FILE_RULES, HEADER_RULES, ...Object.values(PROGRAM_RULES), REGION_RULES, CONFIG_RULES, WRITE_RULES, READ_RULES, TRAINING_RULES];
    for (const rules of lists) {
      expect(new Set(rules.map((r) => r.name)).size).toBe(rules.length);
      for (const r of rules) {
        expect(r.name, r.description).toMatch(/^[a-z][A-Za-z0-9]+$/);
        expect(r.description.length, r.name).toBeGreaterThan(10);
        expect(r.description, r.name).not.toMatch(/\n/);
      }
    }
  });
});

describe('docs/chip-memory-layout.md', () => {
  const doc = readFileSync(new URL('../../docs/chip-memory-layout.md', import.meta.url), 'utf8');
  it('holds the field tables and the design rules as generated from the definitions (regenerate: node scripts/chip-layout-doc.mjs)', () => {
    expect(doc).toContain(fieldTablesMarkdown());
    expect(doc).toContain(designRulesMarkdown());
  });
});
