import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inFile } from '../../errors.js';
import { insideDir, readDirFile, readDirJson, RegionMapSchema, RoutingSchema, sha256, SpecSchema, type Routing, type Spec } from '../config-dir.js';
import { imageWords } from '../images.js';
import { KEY, KIND_SPIKE, makeKey } from '../key-layout.js';
import { parseMachine, type Machine } from '../machine.js';
import {
  H,
  HEADER_WORDS,
  inputRegions,
  layerRegions,
  LAYOUT_VERSION,
  lossRegions,
  MAGIC,
  MAX_REGIONS,
  optimiserRegions,
  PARAM_SLICE_WORDS,
  PROGRAMS,
  QUANT_CODES,
  REGIONS,
  type RegionName,
} from '../memory-layout.js';
import type { QuantType } from '../quantise.js';

/** One PE as the simulator loads it: its memory image, checked against the spec and region map. */
export interface LoadedPe {
  id: string;
  chip: number;
  program: Spec['pes'][number]['program'];
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

/** Largest values the key layout can carry (a header field beyond them cannot come from an export). */
const KEY_MAX = Object.fromEntries(Object.entries(KEY).map(([k, f]) => [k, 2 ** f.bits - 1])) as Record<keyof typeof KEY, number>;
const MAX_STEPS = 100000;

function loadPe(dir: string, p: Spec['pes'][number], training: boolean): LoadedPe {
  const path = insideDir(dir, p.image, `pes[${p.id}].image`);
  const map = readDirFile(dir, p.regions, `pes[${p.id}].regions`, RegionMapSchema);
  const mapPath = join(dir, p.regions);
  if (map.pe !== p.id) throw inFile(mapPath, `pe is '${map.pe}', expected '${p.id}' (the PE of spec.json that names this region map)`);
  const bytes = readFileSync(path);
  if (bytes.length % 4 !== 0) throw inFile(path, `has ${bytes.length} bytes, expected a whole number of 32-bit words (truncated?)`);
  if (bytes.length / 4 !== map.words) {
    throw inFile(path, `has ${bytes.length / 4} words, but its region map says ${map.words} (${bytes.length / 4 < map.words ? 'truncated' : 'extended'}?)`);
  }
  if (sha256(bytes) !== p.sha256) throw inFile(path, 'does not match its checksum in spec.json (the image was edited or corrupted)');
  const words = imageWords(bytes);
  if (words.length < HEADER_WORDS) throw inFile(path, `has ${words.length} words, fewer than the ${HEADER_WORDS}-word header`);
  if (words[H.magic] !== MAGIC) throw inFile(path, 'is not an s2prop PE image (bad magic word)');
  if (words[H.version] !== LAYOUT_VERSION) throw inFile(path, `has layout version ${words[H.version]}, expected ${LAYOUT_VERSION}`);
  if (words[H.program] !== PROGRAMS[p.program]) throw inFile(path, `holds program ${words[H.program]}, but spec.json says '${p.program}' (${PROGRAMS[p.program]})`);
  const count = words[H.regionCount];
  if (count > MAX_REGIONS) throw inFile(path, `header word ${H.regionCount} (regions) is ${count}, expected at most ${MAX_REGIONS}`);
  if (count !== map.regions.length) throw inFile(mapPath, `lists ${map.regions.length} regions, but the image header has ${count}`);
  const regions = new Map<RegionName, { offset: number; words: number }>();
  map.regions.forEach((r, i) => {
    const id = words[H.regionTable + 3 * i];
    const offset = words[H.regionTable + 3 * i + 1];
    const size = words[H.regionTable + 3 * i + 2];
    if (id !== REGIONS[r.name] || offset !== r.offset || size !== r.words) {
      throw inFile(mapPath, `regions[${i}] (${r.name} at word ${r.offset}, ${r.words} words) disagrees with the image header`);
    }
    if (offset + size > words.length) throw inFile(mapPath, `regions[${i}] (${r.name}) ends past the image (word ${offset + size} of ${words.length})`);
    if (regions.has(r.name)) throw inFile(mapPath, `regions[${i}]: region ${r.name} appears twice`);
    regions.set(r.name, { offset, words: size });
  });
  // Regions lie one after the other, from the header at word 0 to the end of the image: a program
  // writing its own region never changes another one.
  const sorted = [...regions.entries()].sort((a, b) => a[1].offset - b[1].offset);
  let end = 0;
  for (const [name, r] of sorted) {
    if (r.offset < end) throw inFile(mapPath, `region ${name} (word ${r.offset}) overlaps the region before it (which ends at word ${end})`);
    end = r.offset + r.words;
  }
  if (regions.get('header')?.offset !== 0) throw inFile(mapPath, 'expected the header region at word 0');
  if (end !== words.length) throw inFile(path, `has ${words.length} words, but its regions end at word ${end} (extended?)`);
  checkHeader(path, p.program, words, regions, training);
  return { id: p.id, chip: p.chip, program: p.program, words, regions };
}

/** The first neuron of each slice of a source population: 0, then ascending, below `size`. */
function checkSourceSlices(path: string, words: Uint32Array, regions: Map<RegionName, { offset: number; words: number }>, size: number): number {
  const slices = regions.get('sourceSlices');
  if (!slices || slices.words < 1) throw inFile(path, 'has no sourceSlices region');
  const count = words[slices.offset];
  if (count < 1 || count > KEY_MAX.slice + 1 || slices.words !== 1 + count) {
    throw inFile(path, `sourceSlices says ${count} source slices, expected 1..${KEY_MAX.slice + 1} and a region of 1 + that many words (it has ${slices.words})`);
  }
  for (let s = 0; s < count; s++) {
    const start = words[slices.offset + 1 + s];
    const prev = s === 0 ? -1 : words[slices.offset + s];
    if ((s === 0 && start !== 0) || start <= prev || start >= size) {
      throw inFile(path, `sourceSlices[${s}] is ${start}, expected ${s === 0 ? '0' : `more than ${prev} and less than ${size} (the source neurons)`}`);
    }
  }
  return count;
}

/** The optimiser's table of held slices: layers 1..15, slices 0..63, offsets one after the other. */
function checkParamSlices(path: string, words: Uint32Array, regions: Map<RegionName, { offset: number; words: number }>, count: number, total: number): void {
  const table = regions.get('paramSlices');
  if (!table || table.words !== 1 + PARAM_SLICE_WORDS * count || words[table.offset] !== count) {
    throw inFile(path, `paramSlices must list ${count} slices (header word ${H.neuronCount}) in ${1 + PARAM_SLICE_WORDS * count} words`);
  }
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const [layer, slice, inputs, neurons, at] = words.subarray(table.offset + 1 + PARAM_SLICE_WORDS * i, table.offset + 1 + PARAM_SLICE_WORDS * (i + 1));
    if (layer < 1 || layer > KEY_MAX.layer || slice > KEY_MAX.slice || inputs < 1 || neurons < 1 || inputs * neurons >= 2 ** 20 || at !== offset) {
      throw inFile(path, `paramSlices[${i}] is (layer ${layer}, slice ${slice}, ${inputs} x ${neurons}, offset ${at}), expected a layer 1..${KEY_MAX.layer}, a slice 0..${KEY_MAX.slice}, fewer than 2^20 weights and offset ${offset}`);
    }
    offset += inputs * neurons;
  }
  if (offset !== total) throw inFile(path, `paramSlices hold ${offset} weights, but header word ${H.inputs} says ${total}`);
}

/**
 * The header must describe the regions the image has, with the sizes its program needs: then every
 * access a program makes stays inside its own image, whatever the file holds.
 */
function checkHeader(path: string, program: LoadedPe['program'], words: Uint32Array, regions: Map<RegionName, { offset: number; words: number }>, training: boolean): void {
  const n = words[H.neuronCount];
  const inputs = words[H.inputs];
  const steps = words[H.steps];
  const word = (i: number, what: string, expected: string) => inFile(path, `header word ${i} (${what}) is ${words[i]}, expected ${expected}`);
  const quant = (Object.keys(QUANT_CODES) as QuantType[]).find((q) => QUANT_CODES[q] === words[H.quant]);
  if (!quant) throw word(H.quant, 'quantisation', '0, 1 or 2');
  if (training && quant !== 'float32') throw word(H.quant, 'quantisation', '0 (float32) in a training export');
  if (steps < 3 || steps > MAX_STEPS) throw word(H.steps, 'steps', `3..${MAX_STEPS}`);
  if (words[H.training] !== (training ? 1 : 0)) throw word(H.training, 'training', `${training ? 1 : 0} (spec.json ${training ? 'has' : 'has no'} training section)`);
  if (program === 'optimiser') {
    if (n < 1 || n > 16 * (KEY_MAX.slice + 1)) throw word(H.neuronCount, 'held slices', `1..${16 * (KEY_MAX.slice + 1)}`);
    if (inputs < 1 || inputs > words.length) throw word(H.inputs, 'weights', `1..${words.length}`);
  } else {
    if (inputs < 1 || inputs > KEY_MAX.neuron + 1) throw word(H.inputs, 'inputs', `1..${KEY_MAX.neuron + 1}`);
    if (n < 1 || n > KEY_MAX.neuron + 1) throw word(H.neuronCount, 'neurons', `1..${KEY_MAX.neuron + 1}`);
  }
  if (words[H.slot] > KEY_MAX.slot) throw word(H.slot, 'slot', `0..${KEY_MAX.slot}`);
  if (words[H.slice] > KEY_MAX.slice) throw word(H.slice, 'slice', `0..${KEY_MAX.slice}`);
  const inputLike = program === 'input' || program === 'optimiser';
  if (inputLike ? words[H.layer] !== 0 : words[H.layer] < 1 || words[H.layer] > KEY_MAX.layer) {
    throw word(H.layer, 'layer', inputLike ? `0 for the ${program} program` : `1..${KEY_MAX.layer}`);
  }
  if (words[H.sends] > 1) throw word(H.sends, 'sends spikes', '0 or 1');
  const keyBase = makeKey({ kind: KIND_SPIKE, slot: words[H.slot], layer: words[H.layer], slice: words[H.slice], neuron: 0 });
  if (words[H.keyBase] !== keyBase) throw word(H.keyBase, 'key base', `${keyBase} (slot ${words[H.slot]}, layer ${words[H.layer]}, slice ${words[H.slice]})`);
  let expected;
  if (program === 'input') {
    if (n !== inputs) throw word(H.neuronCount, 'neurons', `${inputs} (the inputs) for the input program`);
    if (words[H.slice] !== 0 || words[H.neuronStart] !== 0) throw inFile(path, 'expected slice 0 and first neuron 0 for the input program');
    const params = regions.get('params');
    if (!params || params.words < 4) throw inFile(path, 'has no params region of 4 words');
    const [tMin, tMax, bias, features] = words.subarray(params.offset, params.offset + 4);
    if (bias > 1 || features + bias !== inputs) throw inFile(path, `params say ${features} features and bias ${bias}, but the header says ${inputs} inputs`);
    if (tMin > tMax || tMax >= steps) throw inFile(path, `params say tMin ${tMin}, tMax ${tMax}, expected tMin <= tMax <= steps - 1 = ${steps - 1}`);
    expected = inputRegions(features, inputs, steps, training);
  } else if (program === 'layer') {
    expected = layerRegions(n, inputs, steps, quant, checkSourceSlices(path, words, regions, inputs), training);
  } else if (program === 'loss') {
    if (!training) throw inFile(path, 'holds the loss program, which only a training export has');
    if (n !== inputs) throw word(H.neuronCount, 'neurons', `${inputs} (the output neurons) for the loss program`);
    expected = lossRegions(n, checkSourceSlices(path, words, regions, n));
  } else {
    if (!training) throw inFile(path, 'holds the optimiser program, which only a training export has');
    checkParamSlices(path, words, regions, n, inputs);
    expected = optimiserRegions(n, inputs);
  }
  for (const r of expected) {
    const got = regions.get(r.name);
    if (!got || got.words !== r.words) {
      throw inFile(path, `region ${r.name} has ${got ? got.words : 'no'} words, expected ${r.words} for the program the header describes`);
    }
  }
  if (regions.size !== expected.length) {
    const extra = [...regions.keys()].filter((name) => !expected.some((r) => r.name === name));
    throw inFile(path, `has region(s) ${extra.join(', ')}, which the ${program} program does not have`);
  }
}

/** Load a chip config directory, checking every file and every cross-reference. Reads nothing else. */
export function loadChipConfig(dir: string): ChipConfig {
  const spec = readDirFile(dir, 'spec.json', 'spec', SpecSchema);
  const specPath = join(dir, 'spec.json');
  const machine = parseMachine(readDirJson(dir, spec.machine, 'machine'), join(dir, spec.machine));
  const routing = readDirFile(dir, spec.routing, 'routing', RoutingSchema);
  const routingPath = join(dir, spec.routing);
  insideDir(dir, spec.placement, 'placement');
  const pes = new Map<string, LoadedPe>();
  const places = new Map<string, string>();
  for (const p of spec.pes) {
    if (pes.has(p.id)) throw inFile(specPath, `pes: '${p.id}' appears twice`);
    if (p.qpe >= machine.qpe.perChip.value || p.pe >= machine.qpe.pesPerQpe.value) throw inFile(specPath, `pes[${p.id}] is at QPE ${p.qpe}, PE ${p.pe}, which the machine does not have`);
    if (p.chip >= machine.chips.count.value) throw inFile(specPath, `pes[${p.id}].chip is ${p.chip}, but the machine has ${machine.chips.count.value} chip(s)`);
    const place = `chip ${p.chip}, QPE ${p.qpe}, PE ${p.pe}`;
    if (places.has(place)) throw inFile(specPath, `pes[${p.id}] is at ${place}, like pes[${places.get(place)}]`);
    places.set(place, p.id);
    pes.set(p.id, loadPe(dir, p, spec.training !== undefined));
  }
  for (const pe of pes.values()) {
    if (pe.words[H.steps] !== spec.ticks) throw inFile(specPath, `ticks is ${spec.ticks}, but PE '${pe.id}' was built for ${pe.words[H.steps]} steps`);
  }
  const needPe = (id: string, where: string, program: LoadedPe['program']) => {
    const pe = pes.get(id);
    if (!pe) throw inFile(specPath, `${where} names PE '${id}', which is not among the active PEs`);
    if (pe.program !== program) throw inFile(specPath, `${where} names PE '${id}', which runs the ${pe.program} program, expected a ${program} PE`);
    return pe;
  };
  // Host writes: each slot's features into the features region of that slot's input PE.
  if (spec.write.length === 0) throw inFile(specPath, 'write: expected the input PEs that receive the sample features');
  const written = new Set<number>();
  spec.write.forEach((w, i) => {
    const pe = needPe(w.pe, `write[${i}].pe`, 'input');
    if (w.region !== 'features') throw inFile(specPath, `write[${i}].region is '${w.region}', expected 'features' (where sample features go)`);
    if (w.slot >= spec.slots || w.slot !== pe.words[H.slot]) throw inFile(specPath, `write[${i}].slot is ${w.slot}, but PE '${w.pe}' serves slot ${pe.words[H.slot]} (of ${spec.slots})`);
    if (written.has(w.slot)) throw inFile(specPath, `write[${i}]: slot ${w.slot} is written twice`);
    written.add(w.slot);
    const features = pe.regions.get('features')!.words;
    const first = pes.get(spec.write[0].pe)!.regions.get('features')!.words;
    if (features !== first) throw inFile(specPath, `write[${i}]: PE '${w.pe}' takes ${features} features, but write[0]'s PE takes ${first}`);
  });
  if (written.size !== spec.slots) throw inFile(specPath, `write: has entries for ${written.size} slot(s), but slots is ${spec.slots}`);
  // Read-backs: whole slices of a layer PE, as its header describes them.
  const outputs = new Map<number, { start: number; n: number; layer: number }[]>();
  const reads = new Map<string, number>();
  spec.read.forEach((r, i) => {
    const id = `${r.pe}/${r.region}`;
    if (reads.has(id)) throw inFile(specPath, `read[${i}] repeats read[${reads.get(id)}] (PE '${r.pe}', region ${r.region})`);
    reads.set(id, i);
    const pe = needPe(r.pe, `read[${i}].pe`, 'layer');
    if (r.region !== 'firstSpikes' && r.region !== 'spikeRecord') throw inFile(specPath, `read[${i}].region is '${r.region}', expected firstSpikes or spikeRecord`);
    if (!pe.regions.has(r.region)) throw inFile(specPath, `read[${i}] names region '${r.region}', which PE '${r.pe}' does not have`);
    const h = pe.words;
    const header = { slot: h[H.slot], layer: h[H.layer], neuronStart: h[H.neuronStart], neurons: h[H.neuronCount] };
    for (const key of ['slot', 'layer', 'neuronStart', 'neurons'] as const) {
      if (r[key] !== header[key]) throw inFile(specPath, `read[${i}].${key} is ${r[key]}, but PE '${r.pe}' holds ${key} ${header[key]}`);
    }
    if (r.slot >= spec.slots) throw inFile(specPath, `read[${i}].slot is ${r.slot}, but slots is ${spec.slots}`);
    if (r.region === 'firstSpikes') outputs.set(r.slot, [...(outputs.get(r.slot) ?? []), { start: r.neuronStart, n: r.neurons, layer: r.layer }]);
  });
  // Every slot reads the first spikes of all output neurons, once each.
  let outputCount = -1;
  for (let slot = 0; slot < spec.slots; slot++) {
    const parts = (outputs.get(slot) ?? []).sort((a, b) => a.start - b.start);
    if (parts.length === 0) throw inFile(specPath, `read: no firstSpikes entry for slot ${slot}`);
    let next = 0;
    for (const part of parts) {
      if (part.start !== next || part.layer !== parts[0].layer) throw inFile(specPath, `read: the firstSpikes entries of slot ${slot} do not cover the neurons of one layer once each (a slice at neuron ${part.start}, expected ${next})`);
      next += part.n;
    }
    if (outputCount >= 0 && next !== outputCount) throw inFile(specPath, `read: slot ${slot} reads ${next} output neurons, slot 0 reads ${outputCount}`);
    outputCount = next;
  }
  // Routing: the key layout the programs decode, one table per chip of the machine, active PEs only.
  for (const field of Object.keys(KEY) as (keyof typeof KEY)[]) {
    const got = routing.keyLayout[field];
    if (!got || got.shift !== KEY[field].shift || got.bits !== KEY[field].bits) {
      throw inFile(routingPath, `keyLayout.${field} is ${JSON.stringify(got ?? null)}, expected ${JSON.stringify(KEY[field])} (the key layout of this simulator's programs)`);
    }
  }
  const extraField = Object.keys(routing.keyLayout).find((k) => !(k in KEY));
  if (extraField) throw inFile(routingPath, `keyLayout.${extraField}: unknown key field`);
  const chips = new Set<number>();
  for (const [r, router] of routing.routers.entries()) {
    if (router.chip >= machine.chips.count.value) throw inFile(routingPath, `routers[${r}].chip is ${router.chip}, but the machine has ${machine.chips.count.value} chip(s)`);
    if (chips.has(router.chip)) throw inFile(routingPath, `routers[${r}]: chip ${router.chip} has two tables`);
    chips.add(router.chip);
    if (router.entries.length > machine.router.entriesPerChip.value) throw inFile(routingPath, `routers[${r}] has ${router.entries.length} entries, but a router holds ${machine.router.entriesPerChip.value}`);
    router.entries.forEach((e, i) => {
      if ((e.key & ~e.mask) >>> 0 !== 0) throw inFile(routingPath, `routers[${r}].entries[${i}].key ${e.key} has bits outside its mask ${e.mask}, so it never matches`);
      e.pes.forEach((id) => {
        const where = `routers[${r}].entries[${i}].pes`;
        if (!pes.has(id)) throw inFile(routingPath, `${where} routes to PE '${id}', which is not among the active PEs`);
        if (pes.get(id)!.chip !== router.chip) throw inFile(routingPath, `${where} routes to PE '${id}', which is on chip ${pes.get(id)!.chip}, not on this router's chip ${router.chip}`);
      });
    });
  }
  if (spec.training) checkTraining(specPath, spec.training, spec.slots, pes);
  return { dir, spec, machine, routing, pes };
}

/**
 * A training export: one loss PE per slot, every layer slice held by exactly one optimiser with its shape,
 * and the schedule in every image equal to spec.json's (gather and update long enough for what they move).
 */
function checkTraining(specPath: string, t: NonNullable<Spec['training']>, slots: number, pes: Map<string, LoadedPe>): void {
  const all = [...pes.values()];
  for (let slot = 0; slot < slots; slot++) {
    const loss = all.filter((p) => p.program === 'loss' && p.words[H.slot] === slot);
    if (loss.length !== 1) throw inFile(specPath, `training: slot ${slot} has ${loss.length} loss PEs, expected 1`);
  }
  const held = new Map<string, { inputs: number; neurons: number; by: string }>();
  for (const opt of all.filter((p) => p.program === 'optimiser')) {
    const params = opt.regions.get('params')!.offset;
    if (opt.words[params + 6] !== t.packetsPerTick || opt.words[params + 7] !== t.gatherTicks) {
      throw inFile(specPath, `training: PE '${opt.id}' was built for ${opt.words[params + 6]} packets per tick and ${opt.words[params + 7]} gather ticks, spec.json says ${t.packetsPerTick} and ${t.gatherTicks}`);
    }
    if (opt.words[H.inputs] > t.packetsPerTick * t.updateTicks) throw inFile(specPath, `training: updateTicks ${t.updateTicks} is too few for the ${opt.words[H.inputs]} weights of PE '${opt.id}'`);
    const table = opt.regions.get('paramSlices')!.offset;
    for (let i = 0; i < opt.words[table]; i++) {
      const [layer, slice, inputs, neurons] = opt.words.subarray(table + 1 + PARAM_SLICE_WORDS * i, table + 5 + PARAM_SLICE_WORDS * i);
      const id = `${layer}/${slice}`;
      if (held.has(id)) throw inFile(specPath, `training: layer ${layer} slice ${slice} is held by optimisers '${held.get(id)!.by}' and '${opt.id}'`);
      held.set(id, { inputs, neurons, by: opt.id });
    }
  }
  if (held.size === 0) throw inFile(specPath, 'training: no optimiser PE');
  const layerPes = all.filter((p) => p.program === 'layer');
  for (const [id, h] of held) {
    const [layer, slice] = id.split('/').map(Number);
    const count = layerPes.filter((p) => p.words[H.layer] === layer && p.words[H.slice] === slice && p.words[H.slot] < slots).length;
    if (count !== slots) throw inFile(specPath, `training: optimiser '${h.by}' holds layer ${layer} slice ${slice}, which ${count} of the ${slots} slot(s) have`);
  }
  for (const pe of layerPes) {
    const [layer, slice, inputs, n] = [pe.words[H.layer], pe.words[H.slice], pe.words[H.inputs], pe.words[H.neuronCount]];
    const h = held.get(`${layer}/${slice}`);
    if (!h || h.inputs !== inputs || h.neurons !== n) throw inFile(specPath, `training: no optimiser holds layer ${layer} slice ${slice} (${inputs} x ${n}) of PE '${pe.id}'`);
    const tp = pe.regions.get('trainParams')!.offset;
    if (pe.words[tp + 3] !== t.packetsPerTick || pe.words[tp + 4] !== t.gatherTicks) {
      throw inFile(specPath, `training: PE '${pe.id}' was built for ${pe.words[tp + 3]} packets per tick and ${pe.words[tp + 4]} gather ticks, spec.json says ${t.packetsPerTick} and ${t.gatherTicks}`);
    }
    if (inputs * n > t.packetsPerTick * t.gatherTicks) throw inFile(specPath, `training: gatherTicks ${t.gatherTicks} is too few for the ${inputs * n} gradient entries of PE '${pe.id}'`);
  }
}
