import { neuronConstants } from '../model/neuron.js';
import { layerSizes } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { jsonFile, sha256 } from './config-dir.js';
import { tickBudget, tickCycles } from './cost.js';
import { buildImage, imageBytes } from './images.js';
import { KEY } from './key-layout.js';
import type { Machine } from './machine.js';
import { place, type Placement } from './placement.js';
import { quantiseWeights, type LayerQuantisation, type QuantType } from './quantise.js';
import { buildRouting, type RouterTable } from './routing.js';

export interface ExportOptions {
  quant: QuantType;
  /** Percentile of |w| mapped to the largest mantissa; 100 clips nothing. */
  clipPercentile: number;
  machine: Machine;
  slots: number;
  /**
   * The quantised layers when the caller chose them (calibrated rounding, src/chip/model-quantisation.ts)
   * and how; without it every weight is rounded to the nearest mantissa by the percentile rule.
   */
  quantised?: { layers: LayerQuantisation[]; rounding: string; calibration: object | null };
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
}

export interface ExportResult {
  files: Map<string, string | Uint8Array>;
  report: ExportReport;
}

/** Weights as the chip stores them: float32 values, or integer mantissas with the layer's exponent. */
function chipLayers(model: ModelFile, q: LayerQuantisation[] | null) {
  return model.layers.map((l, i) => {
    const rows = l.weights.length;
    const cols = l.weights[0].length;
    return q ? { values: q[i].mantissas, rows, cols, exp: q[i].exp } : { values: Float64Array.from(l.weights.flat(), Math.fround), rows, cols, exp: 0 };
  });
}

/** Worst case for a layer PE in one tick: every input spikes and every neuron fires. */
function worstCase(inputs: number, neurons: number, m: Machine): number {
  return tickCycles({ received: inputs, synapticEvents: inputs * neurons, neuronUpdates: neurons, sent: neurons }, m);
}

/** Turn a model into a chip configuration directory's files (quantise, place, route, lay out memory). */
export function exportModel(model: ModelFile, opts: ExportOptions): ExportResult {
  const { machine } = opts;
  const sizes = layerSizes(model);
  const features = sizes[0] - (model.encoding.bias ? 1 : 0);
  const quant = opts.quant === 'float32' ? null : (opts.quantised?.layers ?? quantiseWeights(model.layers.map((l) => l.weights), opts.quant, opts.clipPercentile));
  const placement: Placement = place({ sizes, features, steps: model.steps, quant: opts.quant, slots: opts.slots, machine });
  const routing: RouterTable[] = buildRouting(placement, machine);
  const c = neuronConstants(model.neuron);
  const source = {
    steps: model.steps,
    encoding: model.encoding,
    features,
    constants: { alpha: c.alpha, beta: c.beta, oneMinusBeta: c.oneMinusBeta, threshold: c.threshold },
    quant: opts.quant,
    layers: chipLayers(model, quant),
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
    worstCaseCyclesPerTick: p.program === 'layer' ? worstCase(p.inputs, p.neuronCount, machine) : tickCycles({ received: 0, synapticEvents: 0, neuronUpdates: 0, sent: p.inputs }, machine),
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
      model: { sizes, steps: model.steps, neuron: model.neuron, encoding: model.encoding, provenance: model.provenance ?? null },
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
