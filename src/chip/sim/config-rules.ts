import { inFile } from '../../errors.js';
import type { Routing, Spec } from '../config-dir.js';
import { KEY } from '../key-layout.js';
import type { Machine } from '../machine.js';
import { H, OPTIMISER_PARAMS, PARAM_SLICES, TRAIN_PARAMS } from '../memory-layout.js';
import { rule, runRules, type Rule } from './design-rules.js';
import type { LoadedPe } from './load-config.js';

/** A config directory under check: its parsed files and the PEs loaded so far. */
export interface ConfigCheck {
  specPath: string;
  routingPath: string;
  spec: Spec;
  machine: Machine;
  routing: Routing;
  pes: Map<string, LoadedPe>;
}

/** The PE `id` of `where`, which must be active and run `program`. */
function needPe(c: ConfigCheck, id: string, where: string, program: LoadedPe['program']): LoadedPe {
  const pe = c.pes.get(id);
  if (!pe) throw inFile(c.specPath, `${where} names PE '${id}', which is not among the active PEs`);
  if (pe.program !== program) throw inFile(c.specPath, `${where} names PE '${id}', which runs the ${pe.program} program, expected a ${program} PE`);
  return pe;
}

// --- spec.json pes, one entry at a time (checked before its image is loaded) --------------------------

export interface PeEntryCheck extends ConfigCheck {
  p: Spec['pes'][number];
  /** 'chip c, QPE q, PE p' of the entries checked so far, and their ids. */
  places: Map<string, string>;
}

const placeOf = (p: Spec['pes'][number]) => `chip ${p.chip}, QPE ${p.qpe}, PE ${p.pe}`;

function peIdUnique(c: PeEntryCheck): void {
  if (c.pes.has(c.p.id)) throw inFile(c.specPath, `pes: '${c.p.id}' appears twice`);
}

function peOnMachine(c: PeEntryCheck): void {
  const { p, machine } = c;
  if (p.qpe >= machine.qpe.perChip.value || p.pe >= machine.qpe.pesPerQpe.value) throw inFile(c.specPath, `pes[${p.id}] is at QPE ${p.qpe}, PE ${p.pe}, which the machine does not have`);
}

function peChipOnMachine(c: PeEntryCheck): void {
  const chips = c.machine.chips.count.value;
  if (c.p.chip >= chips) throw inFile(c.specPath, `pes[${c.p.id}].chip is ${c.p.chip}, but the machine has ${chips} chip(s)`);
}

function pePlaceUnique(c: PeEntryCheck): void {
  const place = placeOf(c.p);
  if (c.places.has(place)) throw inFile(c.specPath, `pes[${c.p.id}] is at ${place}, like pes[${c.places.get(place)}]`);
  c.places.set(place, c.p.id);
}

export const PE_ENTRY_RULES: readonly Rule<PeEntryCheck>[] = [
  rule('every PE id appears once', peIdUnique),
  rule("a PE's QPE and PE exist on the machine", peOnMachine),
  rule("a PE's chip exists on the machine", peChipOnMachine),
  rule('no two PEs share a place', pePlaceUnique),
];

// --- Host writes: each slot's features into the features region of that slot's input PE --------------

export interface WriteCheck extends ConfigCheck {
  i: number;
  /** Slots written by the entries checked so far. */
  written: Set<number>;
}

const writeOf = (c: WriteCheck) => c.spec.write[c.i];

function writesToInputPe(c: WriteCheck): void {
  needPe(c, writeOf(c).pe, `write[${c.i}].pe`, 'input');
}

function writesFeatures(c: WriteCheck): void {
  const w = writeOf(c);
  if (w.region !== 'features') throw inFile(c.specPath, `write[${c.i}].region is '${w.region}', expected 'features' (where sample features go)`);
}

function writeSlotIsPeSlot(c: WriteCheck): void {
  const w = writeOf(c);
  const slot = c.pes.get(w.pe)!.words[H.slot];
  if (w.slot >= c.spec.slots || w.slot !== slot) throw inFile(c.specPath, `write[${c.i}].slot is ${w.slot}, but PE '${w.pe}' serves slot ${slot} (of ${c.spec.slots})`);
}

function slotWrittenOnce(c: WriteCheck): void {
  const w = writeOf(c);
  if (c.written.has(w.slot)) throw inFile(c.specPath, `write[${c.i}]: slot ${w.slot} is written twice`);
  c.written.add(w.slot);
}

function writesAgreeOnFeatures(c: WriteCheck): void {
  const w = writeOf(c);
  const features = c.pes.get(w.pe)!.regions.get('features')!.words;
  const first = c.pes.get(c.spec.write[0].pe)!.regions.get('features')!.words;
  if (features !== first) throw inFile(c.specPath, `write[${c.i}]: PE '${w.pe}' takes ${features} features, but write[0]'s PE takes ${first}`);
}

export const WRITE_RULES: readonly Rule<WriteCheck>[] = [
  rule('a write names an input PE', writesToInputPe),
  rule("a write goes to the input PE's features region", writesFeatures),
  rule('a write names a slot of the export, the one its PE serves', writeSlotIsPeSlot),
  rule('no slot is written twice', slotWrittenOnce),
  rule('every written PE takes as many features as the first', writesAgreeOnFeatures),
];

// --- Read-backs: whole slices of a layer PE, as its header describes them -----------------------------

export interface ReadCheck extends ConfigCheck {
  i: number;
  /** 'pe/region' of the entries checked so far, and their index. */
  reads: Map<string, number>;
}

const readOf = (c: ReadCheck) => c.spec.read[c.i];

function readOnce(c: ReadCheck): void {
  const r = readOf(c);
  const id = `${r.pe}/${r.region}`;
  if (c.reads.has(id)) throw inFile(c.specPath, `read[${c.i}] repeats read[${c.reads.get(id)}] (PE '${r.pe}', region ${r.region})`);
  c.reads.set(id, c.i);
}

function readsLayerPe(c: ReadCheck): void {
  needPe(c, readOf(c).pe, `read[${c.i}].pe`, 'layer');
}

function readsResults(c: ReadCheck): void {
  const r = readOf(c);
  if (r.region !== 'firstSpikes' && r.region !== 'spikeRecord') throw inFile(c.specPath, `read[${c.i}].region is '${r.region}', expected firstSpikes or spikeRecord`);
}

function readRegionExists(c: ReadCheck): void {
  const r = readOf(c);
  if (!c.pes.get(r.pe)!.regions.has(r.region)) throw inFile(c.specPath, `read[${c.i}] names region '${r.region}', which PE '${r.pe}' does not have`);
}

function readMatchesHeader(c: ReadCheck): void {
  const r = readOf(c);
  const h = c.pes.get(r.pe)!.words;
  const header = { slot: h[H.slot], layer: h[H.layer], neuronStart: h[H.neuronStart], neurons: h[H.neuronCount] };
  for (const key of ['slot', 'layer', 'neuronStart', 'neurons'] as const) {
    if (r[key] !== header[key]) throw inFile(c.specPath, `read[${c.i}].${key} is ${r[key]}, but PE '${r.pe}' holds ${key} ${header[key]}`);
  }
}

function readSlotInRange(c: ReadCheck): void {
  const r = readOf(c);
  if (r.slot >= c.spec.slots) throw inFile(c.specPath, `read[${c.i}].slot is ${r.slot}, but slots is ${c.spec.slots}`);
}

export const READ_RULES: readonly Rule<ReadCheck>[] = [
  rule('no PE region is read twice', readOnce),
  rule('a read names a layer PE', readsLayerPe),
  rule('a read takes firstSpikes or spikeRecord', readsResults),
  rule('a read names a region its PE has', readRegionExists),
  rule("a read's slot, layer, first neuron and neurons are its PE's", readMatchesHeader),
  rule("a read's slot is a slot of the export", readSlotInRange),
];

// --- The directory as a whole (after every PE is loaded) ----------------------------------------------

function ticksMatchImages(c: ConfigCheck): void {
  for (const pe of c.pes.values()) {
    if (pe.words[H.steps] !== c.spec.ticks) throw inFile(c.specPath, `ticks is ${c.spec.ticks}, but PE '${pe.id}' was built for ${pe.words[H.steps]} steps`);
  }
}

function somethingWritten(c: ConfigCheck): void {
  if (c.spec.write.length === 0) throw inFile(c.specPath, 'write: expected the input PEs that receive the sample features');
}

function writesValid(c: ConfigCheck): void {
  const written = new Set<number>();
  c.spec.write.forEach((_, i) => runRules(WRITE_RULES, { ...c, i, written }));
  if (written.size !== c.spec.slots) throw inFile(c.specPath, `write: has entries for ${written.size} slot(s), but slots is ${c.spec.slots}`);
}

function readsValid(c: ConfigCheck): void {
  const reads = new Map<string, number>();
  c.spec.read.forEach((_, i) => runRules(READ_RULES, { ...c, i, reads }));
}

/** Every slot reads the first spikes of all output neurons, once each. */
function outputsReadOnce(c: ConfigCheck): void {
  const outputs = new Map<number, { start: number; n: number; layer: number }[]>();
  for (const r of c.spec.read) if (r.region === 'firstSpikes') outputs.set(r.slot, [...(outputs.get(r.slot) ?? []), { start: r.neuronStart, n: r.neurons, layer: r.layer }]);
  let outputCount = -1;
  for (let slot = 0; slot < c.spec.slots; slot++) {
    const parts = (outputs.get(slot) ?? []).sort((a, b) => a.start - b.start);
    if (parts.length === 0) throw inFile(c.specPath, `read: no firstSpikes entry for slot ${slot}`);
    let next = 0;
    for (const part of parts) {
      if (part.start !== next || part.layer !== parts[0].layer) throw inFile(c.specPath, `read: the firstSpikes entries of slot ${slot} do not cover the neurons of one layer once each (a slice at neuron ${part.start}, expected ${next})`);
      next += part.n;
    }
    if (outputCount >= 0 && next !== outputCount) throw inFile(c.specPath, `read: slot ${slot} reads ${next} output neurons, slot 0 reads ${outputCount}`);
    outputCount = next;
  }
}

function keyLayoutIsPrograms(c: ConfigCheck): void {
  for (const field of Object.keys(KEY) as (keyof typeof KEY)[]) {
    const got = c.routing.keyLayout[field];
    if (!got || got.shift !== KEY[field].shift || got.bits !== KEY[field].bits) {
      throw inFile(c.routingPath, `keyLayout.${field} is ${JSON.stringify(got ?? null)}, expected ${JSON.stringify(KEY[field])} (the key layout of this simulator's programs)`);
    }
  }
  const extraField = Object.keys(c.routing.keyLayout).find((k) => !(k in KEY));
  if (extraField) throw inFile(c.routingPath, `keyLayout.${extraField}: unknown key field`);
}

/** One table per chip of the machine, within a router's capacity, routing only to active PEs of its chip. */
function routersValid(c: ConfigCheck): void {
  const { machine, routingPath } = c;
  const chips = new Set<number>();
  for (const [r, router] of c.routing.routers.entries()) {
    if (router.chip >= machine.chips.count.value) throw inFile(routingPath, `routers[${r}].chip is ${router.chip}, but the machine has ${machine.chips.count.value} chip(s)`);
    if (chips.has(router.chip)) throw inFile(routingPath, `routers[${r}]: chip ${router.chip} has two tables`);
    chips.add(router.chip);
    if (router.entries.length > machine.router.entriesPerChip.value) throw inFile(routingPath, `routers[${r}] has ${router.entries.length} entries, but a router holds ${machine.router.entriesPerChip.value}`);
    router.entries.forEach((e, i) => {
      if ((e.key & ~e.mask) >>> 0 !== 0) throw inFile(routingPath, `routers[${r}].entries[${i}].key ${e.key} has bits outside its mask ${e.mask}, so it never matches`);
      e.pes.forEach((id) => {
        const where = `routers[${r}].entries[${i}].pes`;
        if (!c.pes.has(id)) throw inFile(routingPath, `${where} routes to PE '${id}', which is not among the active PEs`);
        if (c.pes.get(id)!.chip !== router.chip) throw inFile(routingPath, `${where} routes to PE '${id}', which is on chip ${c.pes.get(id)!.chip}, not on this router's chip ${router.chip}`);
      });
    });
  }
}

function trainingValid(c: ConfigCheck): void {
  if (c.spec.training) runRules(TRAINING_RULES, { ...c, t: c.spec.training, held: new Map() });
}

/** The directory as a whole, after every PE's image has passed its own rules. */
export const CONFIG_RULES: readonly Rule<ConfigCheck>[] = [
  rule('every image was built for the ticks spec.json says', ticksMatchImages),
  rule('spec.json writes the features of at least one input PE', somethingWritten),
  rule('every write passes WRITE_RULES, and every slot is written', writesValid),
  rule('every read passes READ_RULES', readsValid),
  rule("every slot reads the first spikes of one layer's neurons once each, as many as slot 0", outputsReadOnce),
  rule("routing's key layout is the one the programs decode, with no other field", keyLayoutIsPrograms),
  rule('one router table per machine chip, within capacity, keys inside their masks, routes to active PEs of the chip', routersValid),
  rule('a training export passes TRAINING_RULES', trainingValid),
];

// --- A training export --------------------------------------------------------------------------------

export interface TrainingCheck extends ConfigCheck {
  t: NonNullable<Spec['training']>;
  /** 'layer/slice' -> its shape and optimiser, recorded by optimisersHoldSlicesOnce. */
  held: Map<string, { inputs: number; neurons: number; by: string }>;
}

const ofProgram = (c: ConfigCheck, program: LoadedPe['program']) => [...c.pes.values()].filter((p) => p.program === program);

function oneLossPerSlot(c: TrainingCheck): void {
  for (let slot = 0; slot < c.spec.slots; slot++) {
    const loss = ofProgram(c, 'loss').filter((p) => p.words[H.slot] === slot);
    if (loss.length !== 1) throw inFile(c.specPath, `training: slot ${slot} has ${loss.length} loss PEs, expected 1`);
  }
}

/** Per optimiser in turn: its schedule is spec.json's, its update fits, and no slice it holds is held before. */
function optimisersMatchSpec(c: TrainingCheck): void {
  const { t, specPath } = c;
  for (const opt of ofProgram(c, 'optimiser')) {
    const { packetsPerTick, gatherTicks } = OPTIMISER_PARAMS.decode(opt.words, opt.regions.get('params')!.offset);
    if (packetsPerTick !== t.packetsPerTick || gatherTicks !== t.gatherTicks) {
      throw inFile(specPath, `training: PE '${opt.id}' was built for ${packetsPerTick} packets per tick and ${gatherTicks} gather ticks, spec.json says ${t.packetsPerTick} and ${t.gatherTicks}`);
    }
    if (opt.words[H.inputs] > t.packetsPerTick * t.updateTicks) throw inFile(specPath, `training: updateTicks ${t.updateTicks} is too few for the ${opt.words[H.inputs]} weights of PE '${opt.id}'`);
    const table = opt.regions.get('paramSlices')!.offset;
    for (let i = 0; i < PARAM_SLICES.head.decode(opt.words, table).count; i++) {
      const { layer, slice, inputs, neurons } = PARAM_SLICES.decodeRecord(opt.words, table, i);
      const id = `${layer}/${slice}`;
      if (c.held.has(id)) throw inFile(specPath, `training: layer ${layer} slice ${slice} is held by optimisers '${c.held.get(id)!.by}' and '${opt.id}'`);
      c.held.set(id, { inputs, neurons, by: opt.id });
    }
  }
}

function someOptimiser(c: TrainingCheck): void {
  if (c.held.size === 0) throw inFile(c.specPath, 'training: no optimiser PE');
}

function heldSlicesInEverySlot(c: TrainingCheck): void {
  const slots = c.spec.slots;
  const layerPes = ofProgram(c, 'layer');
  for (const [id, h] of c.held) {
    const [layer, slice] = id.split('/').map(Number);
    const count = layerPes.filter((p) => p.words[H.layer] === layer && p.words[H.slice] === slice && p.words[H.slot] < slots).length;
    if (count !== slots) throw inFile(c.specPath, `training: optimiser '${h.by}' holds layer ${layer} slice ${slice}, which ${count} of the ${slots} slot(s) have`);
  }
}

/** Per layer PE in turn: an optimiser holds its slice with its shape, its schedule is spec.json's, the gather fits. */
function layerPesMatchSpec(c: TrainingCheck): void {
  const { t, specPath } = c;
  for (const pe of ofProgram(c, 'layer')) {
    const [layer, slice, inputs, n] = [pe.words[H.layer], pe.words[H.slice], pe.words[H.inputs], pe.words[H.neuronCount]];
    const h = c.held.get(`${layer}/${slice}`);
    if (!h || h.inputs !== inputs || h.neurons !== n) throw inFile(specPath, `training: no optimiser holds layer ${layer} slice ${slice} (${inputs} x ${n}) of PE '${pe.id}'`);
    const { packetsPerTick, gatherTicks } = TRAIN_PARAMS.decode(pe.words, pe.regions.get('trainParams')!.offset);
    if (packetsPerTick !== t.packetsPerTick || gatherTicks !== t.gatherTicks) {
      throw inFile(specPath, `training: PE '${pe.id}' was built for ${packetsPerTick} packets per tick and ${gatherTicks} gather ticks, spec.json says ${t.packetsPerTick} and ${t.gatherTicks}`);
    }
    if (inputs * n > t.packetsPerTick * t.gatherTicks) throw inFile(specPath, `training: gatherTicks ${t.gatherTicks} is too few for the ${inputs * n} gradient entries of PE '${pe.id}'`);
  }
}

/**
 * A training export: one loss PE per slot, every layer slice held by exactly one optimiser with its shape,
 * and the schedule in every image equal to spec.json's (gather and update long enough for what they move).
 */
export const TRAINING_RULES: readonly Rule<TrainingCheck>[] = [
  rule('every slot has one loss PE', oneLossPerSlot),
  rule("every optimiser has spec.json's schedule, updates its weights in updateTicks and holds slices no other holds", optimisersMatchSpec),
  rule('there is an optimiser', someOptimiser),
  rule('every held slice is in every slot', heldSlicesInEverySlot),
  rule("every layer PE's slice is held with its shape, has spec.json's schedule and gathers in gatherTicks", layerPesMatchSpec),
];
