/**
 * Field tables: the named words of a fixed-layout memory region (a PE image's header, a program's params,
 * the host's control words, ...). A table gives each field its word offset in the region, how the word is
 * read (unsigned, signed two's complement, or float32 bits) and a one-line meaning, and declares the
 * region's size; the image writer, the config loader, the programs and the host all read and write the
 * region through its table, so no word is addressed by a bare number anywhere else (as a chip's C program
 * and its host tools would share a struct definition).
 *
 * Values are JavaScript numbers: a u32 field holds 0..2^32-1, an i32 field -2^31..2^31-1, an f32 field
 * the float32 the word's bits encode (written rounded to float32, as a Float32Array stores it).
 */

export type FieldType = 'u32' | 'i32' | 'f32';

export interface Field {
  /** Word offset from the start of the region (or of the record, in a table of records). */
  readonly at: number;
  readonly type: FieldType;
  /** One line: what the word holds. */
  readonly doc: string;
}

export const u32 = (at: number, doc: string): Field => ({ at, type: 'u32', doc });
export const i32 = (at: number, doc: string): Field => ({ at, type: 'i32', doc });
export const f32 = (at: number, doc: string): Field => ({ at, type: 'f32', doc });

export type FieldValues<K extends string> = Record<K, number>;

/** One scratch word seen as the three types: float32 bits are converted exactly as a typed-array view does. */
const scratch = new ArrayBuffer(4);
const scratchU32 = new Uint32Array(scratch);
const scratchF32 = new Float32Array(scratch);

function toWord(type: FieldType, value: number): number {
  if (type === 'f32') {
    scratchF32[0] = value;
    return scratchU32[0];
  }
  return value >>> 0;
}

function fromWord(type: FieldType, word: number): number {
  if (type === 'f32') {
    scratchU32[0] = word;
    return scratchF32[0];
  }
  return type === 'i32' ? word | 0 : word >>> 0;
}

/** The field table of one region (or of one record of a region that is a table of records). */
export class FieldTable<K extends string> {
  /** The word offset of each field, for loops that index the words directly. */
  readonly at: Readonly<Record<K, number>>;
  readonly names: readonly K[];
  /** (name, offset, type) of every field, for the encode and decode loops. */
  private readonly list: readonly (readonly [K, number, FieldType])[];

  constructor(
    /** The region (or record) this table describes, for messages and the documentation. */
    readonly name: string,
    /** Words of the region (or of one record): every field lies below it. */
    readonly words: number,
    readonly fields: Readonly<Record<K, Field>>,
  ) {
    this.names = Object.keys(fields) as K[];
    this.at = Object.fromEntries(this.names.map((k) => [k, fields[k].at])) as Record<K, number>;
    this.list = this.names.map((k) => [k, fields[k].at, fields[k].type] as const);
  }

  /** Write every field of `values` into the region starting at word `base`. */
  encode(words: Uint32Array, base: number, values: FieldValues<K>): void {
    for (const [k, at, type] of this.list) words[base + at] = toWord(type, values[k]);
  }

  /** Read every field of the region starting at word `base`. */
  decode(words: Uint32Array, base: number): FieldValues<K> {
    const out = {} as FieldValues<K>;
    for (const [k, at, type] of this.list) out[k] = fromWord(type, words[base + at]);
    return out;
  }

  /** Read one field. */
  get(words: Uint32Array, base: number, k: K): number {
    return fromWord(this.fields[k].type, words[base + this.fields[k].at]);
  }

  /** Write one field (the host's per-sample control words). */
  set(words: Uint32Array, base: number, k: K, value: number): void {
    words[base + this.fields[k].at] = toWord(this.fields[k].type, value);
  }
}

/**
 * A region that is a counted table of records: a head (its first field the record count), then `count`
 * records of `record.words` words each.
 */
export class RecordTable<H extends string, R extends string> {
  constructor(
    readonly name: string,
    readonly head: FieldTable<H>,
    readonly record: FieldTable<R>,
  ) {}

  /** Words of the region holding `count` records. */
  wordsFor(count: number): number {
    return this.head.words + this.record.words * count;
  }

  /** The word where record `i` starts, in the region starting at word `base`. */
  recordAt(base: number, i: number): number {
    return base + this.head.words + this.record.words * i;
  }

  encodeRecord(words: Uint32Array, base: number, i: number, values: FieldValues<R>): void {
    this.record.encode(words, this.recordAt(base, i), values);
  }

  decodeRecord(words: Uint32Array, base: number, i: number): FieldValues<R> {
    return this.record.decode(words, this.recordAt(base, i));
  }
}

/**
 * A region made of equal planes, one per name (I then V of every neuron, Adam's m then v of every weight):
 * plane `p` of `size` entries starts at word p * size.
 */
export class PlaneTable<K extends string> {
  readonly index: Readonly<Record<K, number>>;

  constructor(
    readonly name: string,
    readonly planes: readonly K[],
    readonly doc: string,
  ) {
    this.index = Object.fromEntries(planes.map((p, i) => [p, i])) as Record<K, number>;
  }

  /** Words of the region with `size` entries per plane. */
  wordsFor(size: number): number {
    return this.planes.length * size;
  }

  /** The word where plane `p` starts, in the region starting at word `base` with `size` entries per plane. */
  planeAt(base: number, p: K, size: number): number {
    return base + this.index[p] * size;
  }
}
