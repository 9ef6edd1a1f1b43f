import { UserError } from '../errors.js';
import { checkKeyRange } from './key-layout.js';
import { pesPerChip, type Machine } from './machine.js';
import { inputRegions, layerRegions, totalBytes, type ProgramName, type RegionSpec } from './memory-layout.js';
import type { QuantType } from './quantise.js';

/**
 * Placement: which program, layer slice and sample slot runs on which PE. Per slot: one input PE and,
 * per layer, one PE per slice (a layer is cut into slices by neurons when one PE's data memory cannot
 * hold it). A slot starts on a QPE of its own and takes consecutive QPEs; slots fill a chip, then the
 * next chip. Every PE's memory is computed from its real regions.
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
}

export interface PlacementRequest {
  /** Network sizes from input to output, e.g. [5, 120, 3]; the input count includes the bias input. */
  sizes: number[];
  features: number;
  steps: number;
  quant: QuantType;
  slots: number;
  machine: Machine;
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

/** The largest slice of a layer that fits one PE, or 0 when not even one neuron fits. */
function maxSliceNeurons(inputs: number, neurons: number, steps: number, q: QuantType, sourceSlices: number, budget: number): number {
  let lo = 0;
  let hi = neurons;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (totalBytes(layerRegions(mid, inputs, steps, q, sourceSlices)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function describeRegions(specs: RegionSpec[]): string {
  return specs.map((r) => `${r.name} ${4 * r.words}`).join(', ');
}

export function place(req: PlacementRequest): Placement {
  const { sizes, steps, quant, machine } = req;
  const budget = machine.memory.dataBytesPerPe.value;
  checkKeyRange('slot', req.slots - 1, `${req.slots} sample slots`);
  checkKeyRange('layer', sizes.length - 1, `a network of ${sizes.length - 1} layers`);

  const input = inputRegions(req.features, sizes[0]);
  if (totalBytes(input) > budget) {
    throw new UserError(`the input program needs ${totalBytes(input)} bytes on a PE (${describeRegions(input)}), but a PE has ${budget} bytes for data`);
  }

  // Slice every layer so that each slice's regions fit a PE's data memory.
  const slices: number[][] = [[0, sizes[0]]];
  for (let l = 1; l < sizes.length; l++) {
    const sourceSlices = slices[l - 1].length - 1;
    const nMax = maxSliceNeurons(sizes[l - 1], sizes[l], steps, quant, sourceSlices, budget);
    if (nMax === 0) {
      const one = layerRegions(1, sizes[l - 1], steps, quant, sourceSlices);
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

  const pesPerSlot = 1 + slices.slice(1).reduce((a, s) => a + s.length - 1, 0);
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
          `has ${chips} chip(s) of ${qpesPerChip} application QPEs: ${slot} slot(s) fit; use fewer --slots or --machine board`,
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
        addPe({ program: 'layer', slot, layer: l, slice: s, neuronStart: b[s], neuronCount: n, inputs: sizes[l - 1], regions: layerRegions(n, sizes[l - 1], steps, quant, slices[l - 1].length - 1) });
      }
    }
    qpeCursor += qpesPerSlot;
  }
  const chipsUsed = Math.max(...pes.map((p) => p.chip)) + 1;
  return { pes, slices, chipsUsed };
}
