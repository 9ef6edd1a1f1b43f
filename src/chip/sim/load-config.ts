import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, inFile } from '../../errors.js';
import { insideDir, readDirFile, RegionMapSchema, RoutingSchema, sha256, SpecSchema, type Routing, type Spec } from '../config-dir.js';
import { imageWords } from '../images.js';
import { parseMachine, type Machine } from '../machine.js';
import { H, HEADER_WORDS, inputRegions, layerRegions, LAYOUT_VERSION, MAGIC, PROGRAMS, QUANT_CODES, REGIONS, type RegionName } from '../memory-layout.js';
import type { QuantType } from '../quantise.js';
import { readDirJson } from '../config-dir.js';

/** One PE as the simulator loads it: its memory image, checked against the spec and region map. */
export interface LoadedPe {
  id: string;
  chip: number;
  program: 'input' | 'layer';
  words: Uint32Array;
  regions: Map<RegionName, { offset: number; words: number }>;
}

export interface ChipConfig {
  dir: string;
  spec: Spec;
  machine: Machine;
  routing: Routing;
  pes: Map<string, LoadedPe>;
}

function loadPe(dir: string, p: Spec['pes'][number]): LoadedPe {
  const path = insideDir(dir, p.image, `pes[${p.id}].image`);
  const bytes = readFileSync(path);
  if (bytes.length % 4 !== 0) throw inFile(path, `has ${bytes.length} bytes, expected a whole number of 32-bit words (truncated?)`);
  if (sha256(bytes) !== p.sha256) throw inFile(path, 'does not match its checksum in spec.json (the image was edited or corrupted)');
  const map = readDirFile(dir, p.regions, `pes[${p.id}].regions`, RegionMapSchema);
  const mapPath = join(dir, p.regions);
  const words = imageWords(bytes);
  if (map.pe !== p.id) throw inFile(mapPath, `pe is '${map.pe}', expected '${p.id}'`);
  if (map.words !== words.length) throw inFile(path, `has ${words.length} words, but its region map says ${map.words} (truncated?)`);
  if (words.length < HEADER_WORDS || words[H.magic] !== MAGIC) throw inFile(path, 'is not an s2prop PE image (bad magic word)');
  if (words[H.version] !== LAYOUT_VERSION) throw inFile(path, `has layout version ${words[H.version]}, expected ${LAYOUT_VERSION}`);
  if (words[H.program] !== PROGRAMS[p.program]) throw inFile(path, `holds program ${words[H.program]}, but spec.json says '${p.program}'`);
  const regions = new Map<RegionName, { offset: number; words: number }>();
  const count = words[H.regionCount];
  if (count !== map.regions.length) throw inFile(mapPath, `lists ${map.regions.length} regions, but the image header has ${count}`);
  map.regions.forEach((r, i) => {
    const id = words[H.regionTable + 3 * i];
    const offset = words[H.regionTable + 3 * i + 1];
    const size = words[H.regionTable + 3 * i + 2];
    if (id !== REGIONS[r.name] || offset !== r.offset || size !== r.words) {
      throw inFile(mapPath, `regions[${i}] (${r.name} at word ${r.offset}, ${r.words} words) disagrees with the image header`);
    }
    if (offset + size > words.length) throw inFile(mapPath, `regions[${i}] (${r.name}) ends past the image (word ${offset + size} of ${words.length})`);
    regions.set(r.name, { offset, words: size });
  });
  checkHeader(path, p.program, words, regions);
  return { id: p.id, chip: p.chip, program: p.program, words, regions };
}

/**
 * The header must describe the regions the image has, with the sizes its program needs: then every
 * access a program makes stays inside its own image, whatever the file holds.
 */
function checkHeader(path: string, program: 'input' | 'layer', words: Uint32Array, regions: Map<RegionName, { offset: number; words: number }>): void {
  const n = words[H.neuronCount];
  const inputs = words[H.inputs];
  const steps = words[H.steps];
  const quant = (Object.keys(QUANT_CODES) as QuantType[]).find((q) => QUANT_CODES[q] === words[H.quant]);
  if (!quant) throw inFile(path, `header word ${H.quant} (quantisation) is ${words[H.quant]}, expected 0, 1 or 2`);
  if (steps < 1 || steps > 100000 || inputs < 1 || inputs > 1 << 20 || n > 1 << 20) {
    throw inFile(path, `header says ${steps} steps, ${inputs} inputs, ${n} neurons: outside what any export writes`);
  }
  let expected;
  if (program === 'input') {
    const params = regions.get('params');
    if (!params || params.words < 4) throw inFile(path, 'has no params region of 4 words');
    const features = words[params.offset + 3];
    if (words[params.offset + 2] > 1 || features + words[params.offset + 2] !== inputs) throw inFile(path, `params say ${features} features and bias ${words[params.offset + 2]}, but the header says ${inputs} inputs`);
    expected = inputRegions(features, inputs);
  } else {
    const slices = regions.get('sourceSlices');
    if (!slices || slices.words < 1) throw inFile(path, 'has no sourceSlices region');
    expected = layerRegions(n, inputs, steps, quant, words[slices.offset]);
  }
  for (const r of expected) {
    const got = regions.get(r.name);
    if (!got || got.words !== r.words) {
      throw inFile(path, `region ${r.name} has ${got ? got.words : 'no'} words, expected ${r.words} for the program the header describes`);
    }
  }
}

/** Load a chip config directory, checking every file and every cross-reference. Reads nothing else. */
export function loadChipConfig(dir: string): ChipConfig {
  const spec = readDirFile(dir, 'spec.json', 'spec', SpecSchema);
  const specPath = join(dir, 'spec.json');
  const machine = parseMachine(readDirJson(dir, spec.machine, 'machine'), join(dir, spec.machine));
  const routing = readDirFile(dir, spec.routing, 'routing', RoutingSchema);
  insideDir(dir, spec.placement, 'placement');
  const pes = new Map<string, LoadedPe>();
  for (const p of spec.pes) {
    if (pes.has(p.id)) throw inFile(specPath, `pes: '${p.id}' appears twice`);
    if (p.qpe >= machine.qpe.perChip.value || p.pe >= machine.qpe.pesPerQpe.value) throw inFile(specPath, `pes[${p.id}] is at QPE ${p.qpe}, PE ${p.pe}, which the machine does not have`);
    if (p.chip >= machine.chips.count.value) throw inFile(specPath, `pes[${p.id}].chip is ${p.chip}, but the machine has ${machine.chips.count.value} chip(s)`);
    pes.set(p.id, loadPe(dir, p));
  }
  const needPe = (id: string, where: string) => {
    if (!pes.has(id)) throw inFile(specPath, `${where} names PE '${id}', which is not among the active PEs`);
    return pes.get(id)!;
  };
  spec.write.forEach((w, i) => {
    const pe = needPe(w.pe, `write[${i}].pe`);
    if (!pe.regions.has(w.region)) throw inFile(specPath, `write[${i}] names region '${w.region}', which PE '${w.pe}' does not have`);
  });
  spec.read.forEach((r, i) => {
    const pe = needPe(r.pe, `read[${i}].pe`);
    if (!pe.regions.has(r.region)) throw inFile(specPath, `read[${i}] names region '${r.region}', which PE '${r.pe}' does not have`);
  });
  for (const router of routing.routers) {
    router.entries.forEach((e, i) =>
      e.pes.forEach((id) => {
        if (!pes.has(id)) throw new UserError(`${join(dir, spec.routing)}: routers[chip ${router.chip}].entries[${i}] routes to PE '${id}', which is not among the active PEs`);
      }),
    );
  }
  for (const pe of pes.values()) {
    if (pe.words[H.steps] !== spec.ticks) throw inFile(specPath, `ticks is ${spec.ticks}, but PE '${pe.id}' was built for ${pe.words[H.steps]} steps`);
  }
  if (spec.write.length === 0) throw inFile(specPath, 'write: expected the input PEs that receive the sample features');
  return { dir, spec, machine, routing, pes };
}
