import { accessSync, constants as fsConstants, existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { neuronConstants } from '../model/neuron.js';
import { layerSizes, weightsSha256 } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { flushSubnormal } from '../numerics/flush.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { jsonFile, replaceDir, sha256 } from './config-dir.js';
import { tickBudget, tickCycles } from './cost.js';
import { SettingError, UserError } from '../errors.js';
import { checkFolderOutput } from '../io/output-paths.js';
import { buildImage, imageBytes, type ImageSource } from './images.js';
import { KEY } from './key-layout.js';
import type { Machine } from './machine.js';
import { place, type PePlacement, type Placement } from './placement.js';
import { quantiseWeights, type LayerQuantisation, type QuantType } from '../quant/quantise.js';
import { buildRouting, type RouterTable } from './routing.js';

export interface ExportOptions {
  quant: QuantType;
  /** Percentile of |w| mapped to the largest mantissa; 100 clips nothing. */
  clipPercentile: number;
  machine: Machine;
  slots: number;
  /**
   * The quantised layers when the caller chose them (calibrated rounding, src/quant/model-quantisation.ts)
   * and how; without it every weight is rounded to the nearest mantissa by the percentile rule.
   */
  quantised?: { layers: LayerQuantisation[]; rounding: string; calibration: object | null };
  /** A training export: loss and optimiser programs (float32 weights only). */
  training?: TrainingExport;
}

export interface TrainingExport {
  /** The batch the host runs (in rounds of `slots` samples when larger). */
  batchSize: number;
  optimiser: { lr: number; gamma: number; beta1: number; beta2: number; eps: number; weightDecay: number };
  /** Gradient packets a layer PE sends, and weights an optimiser updates, per tick. */
  packetsPerTick: number;
}

export interface PeReport {
  id: string;
  program: string;
  slot: number;
  layer: number;
  slice: number;
  neurons: number;
  bytes: number;
  regions: Record<string, number>;
  percentOfData: number;
  percentOfSram: number;
  worstCaseCyclesPerTick: number;
}

export interface ExportReport {
  machine: string;
  quant: QuantType;
  clipPercentile: number;
  /** 'nearest', or 'calibrated' (with the calibration's report). */
  rounding: string;
  calibration: object | null;
  sizes: number[];
  slots: number;
  chipsUsed: number;
  activePes: number;
  quantisation: { layer: number; exp: number; clipped: number; maxAbsError: number; rmsError: number }[];
  routerEntries: { chip: number; entries: number; capacity: number }[];
  pes: PeReport[];
  memory: { maxBytes: number; maxPercentOfData: number; dataBytesPerPe: number };
  realTime: { mhz: number; budgetCycles: number; worstCaseCycles: number; fits: boolean }[];
  /**
   * The chip runs one model step per timer tick: the model's step (ms) against the machine's tick (µs).
   * `speed` = step / tick: 1 is real time, 0.25 a network of 0.25 ms steps on 1 ms ticks (4 times slower).
   */
  time: { stepMs: number; tickMicroseconds: number; speed: number };
}

export interface ExportResult {
  files: Map<string, string | Uint8Array>;
  report: ExportReport;
}

/** Weights as the chip stores them: float32 values (flushed: subnormals become +0), or integer mantissas with the layer's exponent. */
function chipLayers(model: ModelFile, q: LayerQuantisation[] | null) {
  return model.layers.map((l, i) => {
    const rows = l.weights.length;
    const cols = l.weights[0].length;
    return q ? { values: q[i].mantissas, rows, cols, exp: q[i].exp } : { values: Float64Array.from(l.weights.flat(), (w) => flushSubnormal(Math.fround(w))), rows, cols, exp: 0 };
  });
}

/**
 * Worst case of a PE in one tick. Layer: every input spikes and every neuron fires (training: or the
 * backward step with every input and neuron spiking). Loss: the loss computation. Optimiser: receiving a
 * tick's gradient packets from every slot, or updating and sending `packetsPerTick` weights.
 */
function worstCase(p: PePlacement, m: Machine, packetsPerTick: number, slots: number): number {
  const { inputs, neuronCount: n } = p;
  const none = { received: 0, synapticEvents: 0, neuronUpdates: 0, sent: 0 };
  switch (p.program) {
    case 'input':
      return tickCycles({ ...none, sent: inputs }, m);
    case 'layer': {
      const forward = tickCycles({ received: inputs, synapticEvents: inputs * n, neuronUpdates: n, sent: n }, m);
      const backward = packetsPerTick ? tickCycles({ ...none, received: n, neuronUpdates: n, sent: inputs, floatOps: 10 * n + 4 * inputs * n }, m) : 0;
      return Math.max(forward, backward, tickCycles({ ...none, sent: packetsPerTick }, m));
    }
    case 'loss':
      return tickCycles({ ...none, received: n, floatOps: 20 * n + 60 }, m);
    case 'optimiser': {
      const sliceHolders = p.holds!.length;
      return Math.max(tickCycles({ ...none, received: slots * sliceHolders * packetsPerTick }, m), tickCycles({ ...none, sent: packetsPerTick, floatOps: 16 * packetsPerTick }, m));
    }
  }
}

/** Ticks to gather the largest layer slice's gradient and to update the largest optimiser's weights. */
function trainingSchedule(placement: Placement, packetsPerTick: number): { gatherTicks: number; updateTicks: number } {
  const most = (program: PePlacement['program'], size: (p: PePlacement) => number) => Math.max(...placement.pes.filter((p) => p.program === program).map(size));
  return {
    gatherTicks: Math.ceil(most('layer', (p) => p.inputs * p.neuronCount) / packetsPerTick),
    updateTicks: Math.ceil(most('optimiser', (p) => p.inputs) / packetsPerTick),
  };
}

/** Why a training export refuses the silent-label nudge (engine/silent-label-nudge.ts). */
export const OFF_CHIP_NUDGE = "the silent-label nudge is off-chip only: the chip's loss program computes the contract's gradient";

/** Turn a model into a chip configuration directory's files (quantise, place, route, lay out memory). */
export function exportModel(model: ModelFile, opts: ExportOptions): ExportResult {
  const { machine } = opts;
  const sizes = layerSizes(model);
  const features = sizes[0] - (model.encoding.bias ? 1 : 0);
  if (opts.training && opts.quant !== 'float32') throw new SettingError('quant', opts.quant, 'on-chip training runs float32 weights');
  if (opts.training && model.loss.nudge) throw new SettingError('loss.nudge', String(model.loss.nudge), OFF_CHIP_NUDGE);
  const quant = opts.quant === 'float32' ? null : (opts.quantised?.layers ?? quantiseWeights(model.layers.map((l) => l.weights), opts.quant, opts.clipPercentile));
  const placement: Placement = place({ sizes, features, steps: model.steps, quant: opts.quant, slots: opts.slots, machine, training: opts.training !== undefined });
  const routing: RouterTable[] = buildRouting(placement, machine);
  const c = neuronConstants(model.neuron);
  const schedule = opts.training ? trainingSchedule(placement, opts.training.packetsPerTick) : undefined;
  const source: ImageSource = {
    steps: model.steps,
    encoding: model.encoding,
    features,
    constants: { alpha: c.alpha, beta: c.beta, oneMinusBeta: c.oneMinusBeta, threshold: c.threshold },
    quant: opts.quant,
    layers: chipLayers(model, quant),
    training: opts.training && {
      oneMinusAlpha: c.oneMinusAlpha,
      eps: c.eps,
      tauSynSeconds: c.tauSynSeconds,
      loss: model.loss,
      adam: opts.training.optimiser,
      packetsPerTick: opts.training.packetsPerTick,
      gatherTicks: schedule!.gatherTicks,
    },
  };

  const files = new Map<string, string | Uint8Array>();
  const specPes = placement.pes.map((pe) => {
    const image = buildImage(pe, placement, source);
    const bytes = imageBytes(image.words);
    files.set(`images/${pe.id}.bin`, bytes);
    files.set(`images/${pe.id}.regions.json`, jsonFile({ format: 's2prop-regions', version: 1, pe: pe.id, words: image.words.length, regions: image.regions.map(({ name, offset, words }) => ({ name, offset, words })) }));
    return { id: pe.id, chip: pe.chip, qpe: pe.qpe, pe: pe.pe, program: pe.program, image: `images/${pe.id}.bin`, regions: `images/${pe.id}.regions.json`, sha256: sha256(bytes) };
  });
  const outputLayer = sizes.length - 1;
  const spec = {
    format: 's2prop-experiment',
    version: 1,
    machine: 'machine.json',
    placement: 'placement.json',
    routing: 'routing.json',
    ticks: model.steps,
    slots: opts.slots,
    pes: specPes,
    write: placement.pes.filter((p) => p.program === 'input').map((p) => ({ pe: p.id, region: 'features', source: 'sample-features', slot: p.slot })),
    read: placement.pes
      .filter((p) => p.program === 'layer')
      .flatMap((p) => [
        ...(p.layer === outputLayer ? [{ pe: p.id, region: 'firstSpikes', slot: p.slot, layer: p.layer, neuronStart: p.neuronStart, neurons: p.neuronCount }] : []),
        { pe: p.id, region: 'spikeRecord', slot: p.slot, layer: p.layer, neuronStart: p.neuronStart, neurons: p.neuronCount },
      ]),
    ...(opts.training && {
      training: {
        batchSize: opts.training.batchSize,
        packetsPerTick: opts.training.packetsPerTick,
        ...schedule!,
        optimiser: { type: 'adam', lr: opts.training.optimiser.lr, gamma: opts.training.optimiser.gamma },
      },
    }),
  };

  const data = machine.memory.dataBytesPerPe.value;
  const sram = machine.memory.sramBytesPerPe.value;
  const pes: PeReport[] = placement.pes.map((p) => ({
    id: p.id,
    program: p.program,
    slot: p.slot,
    layer: p.layer,
    slice: p.slice,
    neurons: p.neuronCount,
    bytes: p.bytes,
    regions: Object.fromEntries(p.regions.map((r) => [r.name, 4 * r.words])),
    percentOfData: (100 * p.bytes) / data,
    percentOfSram: (100 * p.bytes) / sram,
    worstCaseCyclesPerTick: worstCase(p, machine, opts.training?.packetsPerTick ?? 0, opts.slots),
  }));
  const worst = Math.max(...pes.map((p) => p.worstCaseCyclesPerTick));
  const report: ExportReport = {
    machine: machine.name,
    quant: opts.quant,
    clipPercentile: opts.clipPercentile,
    rounding: quant ? (opts.quantised?.rounding ?? 'nearest') : 'none',
    calibration: quant ? (opts.quantised?.calibration ?? null) : null,
    sizes,
    slots: opts.slots,
    chipsUsed: placement.chipsUsed,
    activePes: placement.pes.length,
    quantisation: (quant ?? []).map((q, i) => ({ layer: i + 1, exp: q.exp, clipped: q.clipped, maxAbsError: q.maxAbsError, rmsError: q.rmsError })),
    routerEntries: routing.map((r) => ({ chip: r.chip, entries: r.entries.length, capacity: machine.router.entriesPerChip.value })),
    pes,
    memory: { maxBytes: Math.max(...pes.map((p) => p.bytes)), maxPercentOfData: Math.max(...pes.map((p) => p.percentOfData)), dataBytesPerPe: data },
    realTime: machine.clock.optionsMHz.value.map((mhz) => ({ mhz, budgetCycles: tickBudget(machine, mhz), worstCaseCycles: worst, fits: worst <= tickBudget(machine, mhz) })),
    time: { stepMs: model.neuron.dtMs, tickMicroseconds: machine.clock.tickMicroseconds.value, speed: (1000 * model.neuron.dtMs) / machine.clock.tickMicroseconds.value },
  };

  files.set('spec.json', jsonFile(spec));
  files.set('machine.json', jsonFile(machine));
  files.set('placement.json', jsonFile({ format: 's2prop-placement', version: 1, slices: placement.slices, pes: placement.pes }));
  files.set('routing.json', jsonFile({ format: 's2prop-routing', version: 1, keyLayout: KEY, routers: routing }));
  files.set(
    'export.json',
    jsonFile({
      format: 's2prop-export',
      version: 1,
      tool: TOOL_NAME,
      toolVersion: TOOL_VERSION,
      model: {
        sizes,
        steps: model.steps,
        neuron: model.neuron,
        encoding: model.encoding,
        loss: model.loss,
        ...(model.features ? { features: model.features } : {}),
        provenance: model.provenance ?? null,
        // Which model this is, for validate: the weights the export was made from.
        weightsSha256: weightsSha256(model),
      },
      // The mantissas as exported (int8 bytes, base64, row-major [inputs][outputs]): validate runs exactly these.
      quant: {
        type: opts.quant,
        clipPercentile: opts.clipPercentile,
        rounding: report.rounding,
        layers: report.quantisation.map((l, i) => ({ ...l, mantissas: Buffer.from(Int8Array.from(quant![i].mantissas).buffer).toString('base64') })),
      },
    }),
  );
  files.set('report.json', jsonFile(report));
  return { files, report };
}

// ---------------------------------------------------------------------------------------------------
// The output folder of an export (every target): checked before any work, replaced only when it holds
// nothing but what an earlier export wrote.

/** The file every export folder carries: which tool wrote it, for which target, and the files it wrote. */
export const EXPORT_MANIFEST = 's2prop-manifest.json';

interface ExportManifest {
  format: 's2prop-export-manifest';
  version: 1;
  tool: string;
  toolVersion: string;
  target: string;
  files: string[];
}

/** Every file below `dir` (relative, '/'-separated); links and other non-folders count as files. */
function filesBelow(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...filesBelow(dir, rel));
    else out.push(rel);
  }
  return out;
}

/** The files an earlier export says it wrote (its manifest), or null when the folder has no readable manifest. */
function manifestFiles(dir: string): Set<string> | null {
  const path = join(dir, EXPORT_MANIFEST);
  if (!existsSync(path) || !lstatSync(path).isFile()) return null;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Partial<ExportManifest>;
    if (m.format !== 's2prop-export-manifest' || !Array.isArray(m.files) || !m.files.every((f) => typeof f === 'string')) return null;
    return new Set([...m.files, EXPORT_MANIFEST]);
  } catch {
    return null;
  }
}

/** A config directory written before exports carried a manifest: the files such an export wrote. */
function isLegacyConfigFile(rel: string): boolean {
  return ['spec.json', 'machine.json', 'placement.json', 'routing.json', 'export.json', 'report.json'].includes(rel) || /^images\/[^/]+\.(bin|regions\.json)$/.test(rel);
}

/**
 * Check an export's output folder before any work is done. It may not exist yet (its nearest existing
 * parent must then be a writable folder), or be a folder that holds only files an earlier s2prop export
 * wrote (named in its manifest; a config directory from before manifests, by its fixed file names).
 * Anything else in it is someone else's and is not deleted unless `force`. A file where the folder
 * should be is refused even with `force`.
 */
export function checkExportDir(dir: string, force: boolean, target: string, option = 'out'): void {
  const flag = `--${option} ${dir}`;
  if (lstatExists(dir)) {
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) throw new UserError(`${flag}: is a symbolic link; give the folder itself`);
    if (!st.isDirectory()) throw new UserError(`${flag}: is a file, expected a folder (or a path that does not exist yet) for the export`);
    try {
      accessSync(dir, fsConstants.W_OK);
      accessSync(dirname(resolve(dir)), fsConstants.W_OK);
    } catch {
      throw new UserError(`${flag}: cannot be replaced (no write permission on it or on its parent folder)`);
    }
    if (force) return;
    const files = filesBelow(dir);
    const ours = manifestFiles(dir);
    const legacy = ours === null && files.includes('spec.json');
    const foreign = files.filter((f) => (ours ? !ours.has(f) : !(legacy && isLegacyConfigFile(f))));
    if (foreign.length > 0) {
      const more = foreign.length > 1 ? ` and ${foreign.length - 1} other file${foreign.length > 2 ? 's' : ''}` : '';
      const what = ours || legacy ? `holds ${join(dir, foreign[0])}${more}, which s2prop export did not write` : `not an s2prop ${target === 'config' ? 'config directory' : 'export folder'} (it holds ${join(dir, foreign[0])}${more}, which s2prop export did not write)`;
      throw new UserError(`${flag}: ${what}; refusing to replace it: move ${foreign.length > 1 ? 'them' : 'it'} away, choose another --out, or add --force to replace the folder and everything in it`);
    }
    return;
  }
  // A new folder: its nearest existing parent must be a folder we can write into.
  checkFolderOutput(flag, dir);
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Write an export folder atomically, with its manifest: into a sibling temporary folder, then swapped in
 * for the old one. The folder is checked again (checkExportDir) right before, so a foreign file that
 * appeared during the export is not lost either.
 */
export function writeExportDir(dir: string, files: Map<string, string | Uint8Array>, target: string, force: boolean, option = 'out'): void {
  checkExportDir(dir, force, target, option);
  const manifest: ExportManifest = { format: 's2prop-export-manifest', version: 1, tool: TOOL_NAME, toolVersion: TOOL_VERSION, target, files: [...files.keys()].sort() };
  const all = new Map(files).set(EXPORT_MANIFEST, jsonFile(manifest));
  replaceDir(dir, all);
}
