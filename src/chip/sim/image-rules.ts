import { readFileSync } from 'node:fs';
import { inFile, type UserError } from '../../errors.js';
import { sha256, type RegionMap, type Spec } from '../config-dir.js';
import { imageWords } from '../images.js';
import { KEY, KIND_SPIKE, makeKey } from '../key-layout.js';
import {
  H,
  HEADER,
  HEADER_FIELDS,
  HEADER_WORDS,
  INPUT_PARAMS,
  inputRegions,
  layerRegions,
  LAYOUT_VERSION,
  lossRegions,
  MAGIC,
  MAX_REGIONS,
  optimiserRegions,
  PARAM_SLICES,
  PROGRAMS,
  QUANT_CODES,
  REGIONS,
  SOURCE_SLICES,
  type RegionName,
  type RegionSpec,
} from '../memory-layout.js';
import type { QuantType } from '../../quant/quantise.js';
import { rule, type Rule } from './design-rules.js';

/** Largest values the key layout can carry (a header field beyond them cannot come from an export). */
export const KEY_MAX = Object.fromEntries(Object.entries(KEY).map(([k, f]) => [k, 2 ** f.bits - 1])) as Record<keyof typeof KEY, number>;
const MAX_STEPS = 100000;

export type RegionTable = Map<RegionName, { offset: number; words: number }>;

/** One PE image under check: its spec entry, region map and words; the rules fill in `regions`. */
export class ImageCheck {
  /** The image's regions, recorded by the rule that checks the region table against the map. */
  readonly regions: RegionTable = new Map();
  private file?: { bytes: Uint8Array; words: Uint32Array };

  constructor(
    readonly p: Spec['pes'][number],
    /** The export is a training export (spec.json has a training section). */
    readonly training: boolean,
    readonly path: string,
    readonly mapPath: string,
    readonly map: RegionMap,
  ) {}

  /** The image file, read when a rule first needs it (after the region-map rule). */
  get bytes(): Uint8Array {
    return this.read().bytes;
  }

  get words(): Uint32Array {
    return this.read().words;
  }

  private read(): { bytes: Uint8Array; words: Uint32Array } {
    if (!this.file) {
      const bytes = readFileSync(this.path);
      this.file = { bytes, words: imageWords(bytes) };
    }
    return this.file;
  }

  get program(): Spec['pes'][number]['program'] {
    return this.p.program;
  }

  /** Header word `f`, by name (only after the image is known to hold a whole header). */
  h(f: keyof typeof H): number {
    return this.words[H[f]];
  }

  /** The error for header field `f`: `header word i (what) is v, expected ...`. */
  headerWord(f: keyof typeof HEADER_FIELDS.fields, what: string, expected: string): UserError {
    return inFile(this.path, `header word ${H[f]} (${what}) is ${this.words[H[f]]}, expected ${expected}`);
  }

  get quant(): QuantType | undefined {
    return (Object.keys(QUANT_CODES) as QuantType[]).find((q) => QUANT_CODES[q] === this.h('quant'));
  }
}

// --- The image file: size, checksum, header, region table ------------------------------------------

function regionMapNamesPe(c: ImageCheck): void {
  if (c.map.pe !== c.p.id) throw inFile(c.mapPath, `pe is '${c.map.pe}', expected '${c.p.id}' (the PE of spec.json that names this region map)`);
}

function imageIsWholeWords(c: ImageCheck): void {
  if (c.bytes.length % 4 !== 0) throw inFile(c.path, `has ${c.bytes.length} bytes, expected a whole number of 32-bit words (truncated?)`);
}

function imageSizeMatchesMap(c: ImageCheck): void {
  const words = c.bytes.length / 4;
  if (words !== c.map.words) throw inFile(c.path, `has ${words} words, but its region map says ${c.map.words} (${words < c.map.words ? 'truncated' : 'extended'}?)`);
}

function imageMatchesChecksum(c: ImageCheck): void {
  if (sha256(c.bytes) !== c.p.sha256) throw inFile(c.path, 'does not match its checksum in spec.json (the image was edited or corrupted)');
}

function imageHoldsHeader(c: ImageCheck): void {
  if (c.words.length < HEADER_WORDS) throw inFile(c.path, `has ${c.words.length} words, fewer than the ${HEADER_WORDS}-word header`);
}

function magicWord(c: ImageCheck): void {
  if (c.h('magic') !== MAGIC) throw inFile(c.path, 'is not an s2prop PE image (bad magic word)');
}

function layoutVersion(c: ImageCheck): void {
  if (c.h('version') !== LAYOUT_VERSION) throw inFile(c.path, `has layout version ${c.h('version')}, expected ${LAYOUT_VERSION}`);
}

function programMatchesSpec(c: ImageCheck): void {
  if (c.h('program') !== PROGRAMS[c.program]) throw inFile(c.path, `holds program ${c.h('program')}, but spec.json says '${c.program}' (${PROGRAMS[c.program]})`);
}

function regionCountFitsHeader(c: ImageCheck): void {
  const count = c.h('regionCount');
  if (count > MAX_REGIONS) throw inFile(c.path, `header word ${H.regionCount} (regions) is ${count}, expected at most ${MAX_REGIONS}`);
}

function regionCountMatchesMap(c: ImageCheck): void {
  const count = c.h('regionCount');
  if (count !== c.map.regions.length) throw inFile(c.mapPath, `lists ${c.map.regions.length} regions, but the image header has ${count}`);
}

function regionTableMatchesMap(c: ImageCheck): void {
  c.map.regions.forEach((r, i) => {
    const { id, offset, words: size } = HEADER.decodeRecord(c.words, 0, i);
    if (id !== REGIONS[r.name] || offset !== r.offset || size !== r.words) {
      throw inFile(c.mapPath, `regions[${i}] (${r.name} at word ${r.offset}, ${r.words} words) disagrees with the image header`);
    }
    if (offset + size > c.words.length) throw inFile(c.mapPath, `regions[${i}] (${r.name}) ends past the image (word ${offset + size} of ${c.words.length})`);
    if (c.regions.has(r.name)) throw inFile(c.mapPath, `regions[${i}]: region ${r.name} appears twice`);
    c.regions.set(r.name, { offset, words: size });
  });
}

/** The end of the last region, once they are known not to overlap. */
function regionsEnd(c: ImageCheck): number {
  return Math.max(0, ...[...c.regions.values()].map((r) => r.offset + r.words));
}

function regionsDoNotOverlap(c: ImageCheck): void {
  const sorted = [...c.regions.entries()].sort((a, b) => a[1].offset - b[1].offset);
  let end = 0;
  for (const [name, r] of sorted) {
    if (r.offset < end) throw inFile(c.mapPath, `region ${name} (word ${r.offset}) overlaps the region before it (which ends at word ${end})`);
    end = r.offset + r.words;
  }
}

function headerRegionFirst(c: ImageCheck): void {
  if (c.regions.get('header')?.offset !== 0) throw inFile(c.mapPath, 'expected the header region at word 0');
}

function regionsFillImage(c: ImageCheck): void {
  const end = regionsEnd(c);
  if (end !== c.words.length) throw inFile(c.path, `has ${c.words.length} words, but its regions end at word ${end} (extended?)`);
}

/**
 * The image file: whole, unedited, an s2prop image of the program spec.json names, with a region table
 * equal to its region map whose regions lie one after the other from the header at word 0 to the end of
 * the image (so a program writing its own region never changes another one).
 */
export const IMAGE_FILE_RULES: readonly Rule<ImageCheck>[] = [
  rule('the region map names the PE of spec.json that points to it', regionMapNamesPe),
  rule('the image is a whole number of 32-bit words', imageIsWholeWords),
  rule('the image has as many words as its region map says', imageSizeMatchesMap),
  rule("the image's sha256 is the one in spec.json", imageMatchesChecksum),
  rule('the image holds at least the header', imageHoldsHeader),
  rule("header word 0 is the magic 'S2PR'", magicWord),
  rule("the header's layout version is this simulator's", layoutVersion),
  rule('the header holds the program spec.json names for the PE', programMatchesSpec),
  rule('the region table has at most MAX_REGIONS entries', regionCountFitsHeader),
  rule('the region map lists as many regions as the header', regionCountMatchesMap),
  rule("every region-table entry equals the map's, ends inside the image and names a region once", regionTableMatchesMap),
  rule('no region overlaps the one before it', regionsDoNotOverlap),
  rule('the header region starts at word 0', headerRegionFirst),
  rule('the regions end where the image ends', regionsFillImage),
];

// --- The header's fields -------------------------------------------------------------------------

function quantisationKnown(c: ImageCheck): void {
  if (!c.quant) throw c.headerWord('quant', 'quantisation', '0, 1 or 2');
}

function trainingIsFloat32(c: ImageCheck): void {
  if (c.training && c.quant !== 'float32') throw c.headerWord('quant', 'quantisation', '0 (float32) in a training export');
}

function stepsInRange(c: ImageCheck): void {
  const steps = c.h('steps');
  if (steps < 3 || steps > MAX_STEPS) throw c.headerWord('steps', 'steps', `3..${MAX_STEPS}`);
}

function trainingFlagMatchesSpec(c: ImageCheck): void {
  const want = c.training ? 1 : 0;
  if (c.h('training') !== want) throw c.headerWord('training', 'training', `${want} (spec.json ${c.training ? 'has' : 'has no'} training section)`);
}

function countsInRange(c: ImageCheck): void {
  const [n, inputs] = [c.h('neuronCount'), c.h('inputs')];
  if (c.program === 'optimiser') {
    if (n < 1 || n > 16 * (KEY_MAX.slice + 1)) throw c.headerWord('neuronCount', 'held slices', `1..${16 * (KEY_MAX.slice + 1)}`);
    if (inputs < 1 || inputs > c.words.length) throw c.headerWord('inputs', 'weights', `1..${c.words.length}`);
  } else {
    if (inputs < 1 || inputs > KEY_MAX.neuron + 1) throw c.headerWord('inputs', 'inputs', `1..${KEY_MAX.neuron + 1}`);
    if (n < 1 || n > KEY_MAX.neuron + 1) throw c.headerWord('neuronCount', 'neurons', `1..${KEY_MAX.neuron + 1}`);
  }
}

function slotInKeyRange(c: ImageCheck): void {
  if (c.h('slot') > KEY_MAX.slot) throw c.headerWord('slot', 'slot', `0..${KEY_MAX.slot}`);
}

function sliceInKeyRange(c: ImageCheck): void {
  if (c.h('slice') > KEY_MAX.slice) throw c.headerWord('slice', 'slice', `0..${KEY_MAX.slice}`);
}

function layerFitsProgram(c: ImageCheck): void {
  const inputLike = c.program === 'input' || c.program === 'optimiser';
  const layer = c.h('layer');
  if (inputLike ? layer !== 0 : layer < 1 || layer > KEY_MAX.layer) throw c.headerWord('layer', 'layer', inputLike ? `0 for the ${c.program} program` : `1..${KEY_MAX.layer}`);
}

function sendsIsFlag(c: ImageCheck): void {
  if (c.h('sends') > 1) throw c.headerWord('sends', 'sends spikes', '0 or 1');
}

function keyBaseMatches(c: ImageCheck): void {
  const [slot, layer, slice] = [c.h('slot'), c.h('layer'), c.h('slice')];
  const keyBase = makeKey({ kind: KIND_SPIKE, slot, layer, slice, neuron: 0 });
  if (c.h('keyBase') !== keyBase) throw c.headerWord('keyBase', 'key base', `${keyBase} (slot ${slot}, layer ${layer}, slice ${slice})`);
}

/** The header's fields: each within what the key layout and the program allow. */
export const HEADER_RULES: readonly Rule<ImageCheck>[] = [
  rule('the quantisation code is 0, 1 or 2', quantisationKnown),
  rule('a training export is float32', trainingIsFloat32),
  rule('steps are 3..MAX_STEPS', stepsInRange),
  rule('the training flag says what spec.json says', trainingFlagMatchesSpec),
  rule('neurons (held slices) and inputs (weights) are within what the program can address', countsInRange),
  rule('the slot fits the key layout', slotInKeyRange),
  rule('the slice fits the key layout', sliceInKeyRange),
  rule('the layer is 0 for the input and optimiser programs, else 1..the key layout maximum', layerFitsProgram),
  rule('the sends flag is 0 or 1', sendsIsFlag),
  rule("the key base is the spike key of neuron 0 of the header's slot, layer and slice", keyBaseMatches),
];

// --- What each program needs -----------------------------------------------------------------------

function inputNeuronsAreInputs(c: ImageCheck): void {
  if (c.h('neuronCount') !== c.h('inputs')) throw c.headerWord('neuronCount', 'neurons', `${c.h('inputs')} (the inputs) for the input program`);
}

function inputIsWholeSlice(c: ImageCheck): void {
  if (c.h('slice') !== 0 || c.h('neuronStart') !== 0) throw inFile(c.path, 'expected slice 0 and first neuron 0 for the input program');
}

function inputParamsPresent(c: ImageCheck): void {
  const params = c.regions.get('params');
  if (!params || params.words < INPUT_PARAMS.words) throw inFile(c.path, `has no params region of ${INPUT_PARAMS.words} words`);
}

function inputParams(c: ImageCheck) {
  return INPUT_PARAMS.decode(c.words, c.regions.get('params')!.offset);
}

function inputParamsMatchHeader(c: ImageCheck): void {
  const { bias, features } = inputParams(c);
  if (bias > 1 || features + bias !== c.h('inputs')) throw inFile(c.path, `params say ${features} features and bias ${bias}, but the header says ${c.h('inputs')} inputs`);
}

function inputSpikeWindowInSteps(c: ImageCheck): void {
  const { tMin, tMax } = inputParams(c);
  const steps = c.h('steps');
  if (tMin > tMax || tMax >= steps) throw inFile(c.path, `params say tMin ${tMin}, tMax ${tMax}, expected tMin <= tMax <= steps - 1 = ${steps - 1}`);
}

/** The sourceSlices region: its count, then each slice's first neuron, 0 and ascending below the source population. */
function sourceSlicesValid(c: ImageCheck): void {
  const size = c.program === 'layer' ? c.h('inputs') : c.h('neuronCount');
  const slices = c.regions.get('sourceSlices');
  if (!slices || slices.words < SOURCE_SLICES.head.words) throw inFile(c.path, 'has no sourceSlices region');
  const { count } = SOURCE_SLICES.head.decode(c.words, slices.offset);
  if (count < 1 || count > KEY_MAX.slice + 1 || slices.words !== SOURCE_SLICES.wordsFor(count)) {
    throw inFile(c.path, `sourceSlices says ${count} source slices, expected 1..${KEY_MAX.slice + 1} and a region of 1 + that many words (it has ${slices.words})`);
  }
  for (let s = 0; s < count; s++) {
    const { start } = SOURCE_SLICES.decodeRecord(c.words, slices.offset, s);
    const prev = s === 0 ? -1 : SOURCE_SLICES.decodeRecord(c.words, slices.offset, s - 1).start;
    if ((s === 0 && start !== 0) || start <= prev || start >= size) {
      throw inFile(c.path, `sourceSlices[${s}] is ${start}, expected ${s === 0 ? '0' : `more than ${prev} and less than ${size} (the source neurons)`}`);
    }
  }
}

function lossOnlyInTraining(c: ImageCheck): void {
  if (!c.training) throw inFile(c.path, 'holds the loss program, which only a training export has');
}

function lossNeuronsAreInputs(c: ImageCheck): void {
  if (c.h('neuronCount') !== c.h('inputs')) throw c.headerWord('neuronCount', 'neurons', `${c.h('inputs')} (the output neurons) for the loss program`);
}

function optimiserOnlyInTraining(c: ImageCheck): void {
  if (!c.training) throw inFile(c.path, 'holds the optimiser program, which only a training export has');
}

/** The optimiser's table of held slices: layers 1..15, slices 0..63, offsets one after the other. */
function paramSlicesValid(c: ImageCheck): void {
  const [count, total] = [c.h('neuronCount'), c.h('inputs')];
  const table = c.regions.get('paramSlices');
  if (!table || table.words !== PARAM_SLICES.wordsFor(count) || PARAM_SLICES.head.decode(c.words, table.offset).count !== count) {
    throw inFile(c.path, `paramSlices must list ${count} slices (header word ${H.neuronCount}) in ${PARAM_SLICES.wordsFor(count)} words`);
  }
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const { layer, slice, inputs, neurons, offset: at } = PARAM_SLICES.decodeRecord(c.words, table.offset, i);
    if (layer < 1 || layer > KEY_MAX.layer || slice > KEY_MAX.slice || inputs < 1 || neurons < 1 || inputs * neurons >= 2 ** 20 || at !== offset) {
      throw inFile(c.path, `paramSlices[${i}] is (layer ${layer}, slice ${slice}, ${inputs} x ${neurons}, offset ${at}), expected a layer 1..${KEY_MAX.layer}, a slice 0..${KEY_MAX.slice}, fewer than 2^20 weights and offset ${offset}`);
    }
    offset += inputs * neurons;
  }
  if (offset !== total) throw inFile(c.path, `paramSlices hold ${offset} weights, but header word ${H.inputs} says ${total}`);
}

/** What each program needs besides the header (run after HEADER_RULES, before REGION_RULES). */
export const PROGRAM_RULES: Readonly<Record<Spec['pes'][number]['program'], readonly Rule<ImageCheck>[]>> = {
  input: [
    rule('the input program has as many neurons as inputs', inputNeuronsAreInputs),
    rule('the input program is slice 0 from neuron 0', inputIsWholeSlice),
    rule('the input program has its params region', inputParamsPresent),
    rule('the input params give the features and bias the header counts', inputParamsMatchHeader),
    rule('the input params spike within the steps: tMin <= tMax <= steps - 1', inputSpikeWindowInSteps),
  ],
  layer: [rule('sourceSlices: a count, then first neurons from 0 ascending below the inputs', sourceSlicesValid)],
  loss: [
    rule('the loss program is in a training export only', lossOnlyInTraining),
    rule('the loss program has as many neurons as inputs (the output neurons)', lossNeuronsAreInputs),
    rule('sourceSlices: a count, then first neurons from 0 ascending below the output neurons', sourceSlicesValid),
  ],
  optimiser: [
    rule('the optimiser program is in a training export only', optimiserOnlyInTraining),
    rule('paramSlices lists the held slices, each in the key layout, one after the other, as many weights as the header', paramSlicesValid),
  ],
};

/** The regions the program the header describes has, with their sizes (after PROGRAM_RULES). */
export function expectedRegions(c: ImageCheck): RegionSpec[] {
  const [n, inputs, steps] = [c.h('neuronCount'), c.h('inputs'), c.h('steps')];
  const sourceSlices = () => SOURCE_SLICES.head.decode(c.words, c.regions.get('sourceSlices')!.offset).count;
  switch (c.program) {
    case 'input':
      return inputRegions({ features: inputParams(c).features, inputs, steps, training: c.training });
    case 'layer':
      return layerRegions({ neurons: n, inputs, steps, quant: c.quant!, sourceSlices: sourceSlices(), training: c.training });
    case 'loss':
      return lossRegions(n, sourceSlices());
    case 'optimiser':
      return optimiserRegions(n, inputs);
  }
}

function regionsHaveProgramSizes(c: ImageCheck): void {
  for (const r of expectedRegions(c)) {
    const got = c.regions.get(r.name);
    if (!got || got.words !== r.words) throw inFile(c.path, `region ${r.name} has ${got ? got.words : 'no'} words, expected ${r.words} for the program the header describes`);
  }
}

function noExtraRegions(c: ImageCheck): void {
  const expected = expectedRegions(c);
  if (c.regions.size !== expected.length) {
    const extra = [...c.regions.keys()].filter((name) => !expected.some((r) => r.name === name));
    throw inFile(c.path, `has region(s) ${extra.join(', ')}, which the ${c.program} program does not have`);
  }
}

/**
 * The regions: exactly those the program the header describes has, with its sizes; then every access a
 * program makes stays inside its own image, whatever the file holds.
 */
export const REGION_RULES: readonly Rule<ImageCheck>[] = [
  rule('every region the program needs is there, with the size the header implies', regionsHaveProgramSizes),
  rule('the image has no region its program does not have', noExtraRegions),
];
