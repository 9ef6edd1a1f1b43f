import { UserError } from '../errors.js';
import { checkKeyRange } from './key-layout.js';
import { pesPerChip, type Machine } from './machine.js';
import { inputRegions, layerRegions, lossRegions, optimiserRegions, totalBytes, type LayerShape, type ProgramName, type RegionSpec } from './memory-layout.js';
import type { QuantType } from '../quant/quantise.js';

/**
 * Placement: which program, layer slice and sample slot runs on which PE. Per slot: one input PE and,
 * per layer, one PE per slice (a layer is cut into slices by neurons when one PE's data memory cannot
 * hold it). A slot starts on a QPE of its own and takes consecutive QPEs; slots fill a chip, then the
 * next chip. Every PE's memory is computed from its real regions.
 *
 * A training export adds, per slot, a loss PE after the layers, gives the input and layer PEs their
 * training regions, and puts optimiser PEs on QPEs of their own after the slots: each holds the weights,
 * Adam moments and gathered gradients of whole layer slices, packed in layer and slice order as long as
 * they fit its data memory.
 */

export interface PePlacement {
  id: string;
  chip: number;
  qpe: number;
  pe: number;
  program: ProgramName;
  slot: number;
  /** 0 for the input program, l (1-based) for layer l. */
  layer: number;
  slice: number;
  neuronStart: number;
  neuronCount: number;
  /** Inputs of the layer (for the input program: the number of input spikes it produces). */
  inputs: number;
  regions: RegionSpec[];
  bytes: number;
  /** Optimiser PEs: the layer slices whose weights it holds, in the order of its weight region. */
  holds?: { layer: number; slice: number; inputs: number; neurons: number }[];
}

export interface PlacementRequest {
  /** Network sizes from input to output, e.g. [5, 120, 3]; the input count includes the bias input. */
  sizes: number[];
  features: number;
  steps: number;
  quant: QuantType;
  slots: number;
  machine: Machine;
  /** A training export (float32 weights): loss and optimiser PEs, and the training regions. */
  training?: boolean;
}

export interface Placement {
  pes: PePlacement[];
  /** Slice boundaries per population (index 0 = input): the first neuron of every slice, then the size. */
  slices: number[][];
  chipsUsed: number;
}

export function peId(chip: number, qpe: number, pe: number): string {
  return `c${chip}q${qpe}p${pe}`;
}

/** The largest slice of a layer of `neurons` neurons that fits one PE of `budget` bytes, or 0 when not even one neuron fits. */
function maxSliceNeurons(layer: Omit<LayerShape, 'neurons'> & { training: boolean }, neurons: number, budget: number): number {
  const fits = (n: number) => totalBytes(layerRegions({ ...layer, neurons: n })) <= budget && (!layer.training || totalBytes(optimiserRegions(1, layer.inputs * n)) <= budget);
  let lo = 0;
  let hi = neurons;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function describeRegions(specs: RegionSpec[]): string {
  return specs.map((r) => `${r.name} ${4 * r.words}`).join(', ');
}

export function place(req: PlacementRequest): Placement {
  const { sizes, steps, quant, machine } = req;
  const training = req.training ?? false;
  const budget = machine.memory.dataBytesPerPe.value;
  checkKeyRange('slot', req.slots - 1, `${req.slots} sample slots`);
  checkKeyRange('layer', sizes.length - 1, `a network of ${sizes.length - 1} layers`);

  const input = inputRegions({ features: req.features, inputs: sizes[0], steps, training });
  if (totalBytes(input) > budget) {
    throw new UserError(`the input program needs ${totalBytes(input)} bytes on a PE (${describeRegions(input)}), but a PE has ${budget} bytes for data`);
  }

  // Slice every layer so that each slice's regions fit a PE's data memory.
  const slices: number[][] = [[0, sizes[0]]];
  for (let l = 1; l < sizes.length; l++) {
    const sourceSlices = slices[l - 1].length - 1;
    const shape = { inputs: sizes[l - 1], steps, quant, sourceSlices, training };
    const nMax = Math.min(maxSliceNeurons(shape, sizes[l], budget), training ? Math.floor(2 ** 20 / sizes[l - 1]) : Infinity);
    if (nMax === 0) {
      const layerOne = layerRegions({ ...shape, neurons: 1 });
      const one = totalBytes(layerOne) > budget ? layerOne : optimiserRegions(1, sizes[l - 1]);
      throw new UserError(
        `layer ${l}: one neuron with ${sizes[l - 1]} inputs needs ${totalBytes(one)} bytes on a PE (${describeRegions(one)}), ` +
          `but a PE has ${budget} bytes for data`,
      );
    }
    const count = Math.ceil(sizes[l] / nMax);
    checkKeyRange('slice', count - 1, `layer ${l} (${sizes[l]} neurons, at most ${nMax} per PE)`);
    const per = Math.ceil(sizes[l] / count);
    checkKeyRange('neuron', per - 1, `layer ${l}`);
    const starts: number[] = [];
    for (let s = 0; s < sizes[l]; s += per) starts.push(s);
    slices.push([...starts, sizes[l]]);
  }

  const outputs = sizes[sizes.length - 1];
  const loss = lossRegions(outputs, slices[slices.length - 1].length - 1);
  const pesPerSlot = 1 + slices.slice(1).reduce((a, s) => a + s.length - 1, 0) + (training ? 1 : 0);
  const perQpe = machine.qpe.pesPerQpe.value;
  const qpesPerChip = Math.floor(pesPerChip(machine) / perQpe);
  const qpesPerSlot = Math.ceil(pesPerSlot / perQpe);
  const chips = machine.chips.count.value;

  const pes: PePlacement[] = [];
  let qpeCursor = 0; // global QPE index across chips
  for (let slot = 0; slot < req.slots; slot++) {
    // Keep a slot on one chip when it fits on one.
    const onChip = qpeCursor % qpesPerChip;
    if (qpesPerSlot <= qpesPerChip && onChip + qpesPerSlot > qpesPerChip) qpeCursor += qpesPerChip - onChip;
    if (qpeCursor + qpesPerSlot > chips * qpesPerChip) {
      throw new UserError(
        `the export needs ${req.slots} slots of ${pesPerSlot} PEs (${qpesPerSlot} QPEs each), but machine '${machine.name}' ` +
          `has ${chips} chip(s) of ${qpesPerChip} application QPEs: ${slot} slot(s) fit; use fewer slots or a machine with more chips (the built-in board)`,
      );
    }
    let local = 0;
    const nextPe = () => {
      const g = qpeCursor * perQpe + local++;
      const qpeGlobal = Math.floor(g / perQpe);
      return { chip: Math.floor(qpeGlobal / qpesPerChip), qpe: qpeGlobal % qpesPerChip, pe: g % perQpe };
    };
    const addPe = (p: Omit<PePlacement, 'id' | 'chip' | 'qpe' | 'pe' | 'bytes'>) => {
      const at = nextPe();
      pes.push({ id: peId(at.chip, at.qpe, at.pe), ...at, ...p, bytes: totalBytes(p.regions) });
    };
    addPe({ program: 'input', slot, layer: 0, slice: 0, neuronStart: 0, neuronCount: sizes[0], inputs: sizes[0], regions: input });
    for (let l = 1; l < sizes.length; l++) {
      const b = slices[l];
      for (let s = 0; s < b.length - 1; s++) {
        const n = b[s + 1] - b[s];
        const regions = layerRegions({ neurons: n, inputs: sizes[l - 1], steps, quant, sourceSlices: slices[l - 1].length - 1, training });
        addPe({ program: 'layer', slot, layer: l, slice: s, neuronStart: b[s], neuronCount: n, inputs: sizes[l - 1], regions });
      }
    }
    if (training) addPe({ program: 'loss', slot, layer: sizes.length - 1, slice: 0, neuronStart: 0, neuronCount: outputs, inputs: outputs, regions: loss });
    qpeCursor += qpesPerSlot;
  }
  if (training) placeOptimisers(pes, slices, sizes, budget, qpeCursor, { perQpe, qpesPerChip, chips, machine: machine.name });
  const chipsUsed = Math.max(...pes.map((p) => p.chip)) + 1;
  return { pes, slices, chipsUsed };
}

/** Pack whole layer slices into optimiser PEs (layer and slice order), on QPEs after the slots. */
function placeOptimisers(
  pes: PePlacement[],
  slices: number[][],
  sizes: number[],
  budget: number,
  qpeCursor: number,
  m: { perQpe: number; qpesPerChip: number; chips: number; machine: string },
): void {
  const groups: NonNullable<PePlacement['holds']>[] = [[]];
  const weightsOf = (g: NonNullable<PePlacement['holds']>) => g.reduce((a, h) => a + h.inputs * h.neurons, 0);
  for (let l = 1; l < slices.length; l++) {
    for (let s = 0; s < slices[l].length - 1; s++) {
      const hold = { layer: l, slice: s, inputs: sizes[l - 1], neurons: slices[l][s + 1] - slices[l][s] };
      const last = groups[groups.length - 1];
      if (last.length > 0 && totalBytes(optimiserRegions(last.length + 1, weightsOf(last) + hold.inputs * hold.neurons)) > budget) groups.push([hold]);
      else last.push(hold);
    }
  }
  const needQpes = Math.ceil(groups.length / m.perQpe);
  if (qpeCursor + needQpes > m.chips * m.qpesPerChip) {
    throw new UserError(`the training export needs ${groups.length} optimiser PE(s) after its slots, but machine '${m.machine}' has no QPE left; use fewer slots or a machine with more chips (the built-in board)`);
  }
  groups.forEach((holds, i) => {
    const g = qpeCursor * m.perQpe + i;
    const qpeGlobal = Math.floor(g / m.perQpe);
    const at = { chip: Math.floor(qpeGlobal / m.qpesPerChip), qpe: qpeGlobal % m.qpesPerChip, pe: g % m.perQpe };
    const regions = optimiserRegions(holds.length, weightsOf(holds));
    pes.push({ id: peId(at.chip, at.qpe, at.pe), ...at, program: 'optimiser', slot: 0, layer: 0, slice: i, neuronStart: 0, neuronCount: holds.length, inputs: weightsOf(holds), regions, bytes: totalBytes(regions), holds });
  });
}
