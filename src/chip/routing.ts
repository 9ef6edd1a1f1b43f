import { UserError } from '../errors.js';
import { KIND_ERROR, KIND_GRADIENT, KIND_SPIKE, KIND_WEIGHT, makeKey, paramKey, PARAM_SLICE_MASK, POPULATION_MASK, SLICE_MASK } from './key-layout.js';
import type { Machine } from './machine.js';
import type { PePlacement, Placement } from './placement.js';

/**
 * Routing tables: per chip router, key/mask entries with a route (PEs on this chip, links to
 * neighbouring chips). A spike of population (slot, layer) goes to every slice of the next layer in
 * the same slot; between chips packets travel along the chip grid, first in x, then in y (model choice).
 * Entries with the same route are merged where their keys differ in one bit (that bit becomes a
 * wildcard), and each router's table is checked against its capacity.
 *
 * A training export adds: the output layer's spikes to the slot's loss PE; errors (one entry per slot,
 * population and slice) from the loss PE to the output layer's slices and from each layer's slices to the
 * previous layer's; gradients of each layer slice from every slot to the optimiser PE holding it; and that
 * slice's new weights from the optimiser to the slice's PE in every slot.
 */

export const LINKS = ['east', 'west', 'north', 'south'] as const;
export type Link = (typeof LINKS)[number];

export interface RouteEntry {
  key: number;
  mask: number;
  pes: string[];
  links: Link[];
}

export interface RouterTable {
  chip: number;
  entries: RouteEntry[];
}

export function chipXY(chip: number, gridWidth: number): [number, number] {
  return [chip % gridWidth, Math.floor(chip / gridWidth)];
}

/** The neighbour across a link, or -1 at the edge of the grid. */
export function neighbour(chip: number, link: Link, machine: Machine): number {
  const w = machine.chips.gridWidth.value;
  const [x, y] = chipXY(chip, w);
  const [nx, ny] = link === 'east' ? [x + 1, y] : link === 'west' ? [x - 1, y] : link === 'north' ? [x, y + 1] : [x, y - 1];
  const n = ny * w + nx;
  return nx < 0 || nx >= w || ny < 0 || n >= machine.chips.count.value ? -1 : n;
}

/** The links a packet takes from chip `from` to chip `to` (x first, then y), with the chips it passes. */
function path(from: number, to: number, gridWidth: number): { chip: number; link: Link }[] {
  const hops: { chip: number; link: Link }[] = [];
  let [x, y] = chipXY(from, gridWidth);
  const [tx, ty] = chipXY(to, gridWidth);
  while (x !== tx) {
    const link: Link = tx > x ? 'east' : 'west';
    hops.push({ chip: y * gridWidth + x, link });
    x += tx > x ? 1 : -1;
  }
  while (y !== ty) {
    const link: Link = ty > y ? 'north' : 'south';
    hops.push({ chip: y * gridWidth + x, link });
    y += ty > y ? 1 : -1;
  }
  return hops;
}

function sameRoute(a: RouteEntry, b: RouteEntry): boolean {
  return a.pes.join() === b.pes.join() && a.links.join() === b.links.join();
}

/** Merge pairs of entries with equal masks and routes whose keys differ in exactly one bit. */
export function mergeEntries(entries: RouteEntry[]): RouteEntry[] {
  const out = entries.map((e) => ({ ...e }));
  for (let merged = true; merged; ) {
    merged = false;
    outer: for (let i = 0; i < out.length; i++) {
      for (let j = i + 1; j < out.length; j++) {
        const a = out[i];
        const b = out[j];
        if (a.mask !== b.mask || !sameRoute(a, b)) continue;
        const diff = (a.key ^ b.key) >>> 0;
        if (diff !== 0 && (diff & (diff - 1)) === 0) {
          a.mask = (a.mask & ~diff) >>> 0;
          a.key = (a.key & a.mask) >>> 0;
          out.splice(j, 1);
          merged = true;
          break outer;
        }
      }
    }
  }
  return out;
}

/** Packets with `key & mask` sent by any of `senders` must reach every one of `targets`. */
interface Flow {
  key: number;
  mask: number;
  senders: PePlacement[];
  targets: PePlacement[];
}

function flows(placement: Placement): Flow[] {
  const out: Flow[] = [];
  const layers = placement.slices.length - 1;
  const slots = Math.max(...placement.pes.map((p) => p.slot)) + 1;
  const at = (program: PePlacement['program'], slot: number, layer: number) => placement.pes.filter((p) => p.program === program && p.slot === slot && p.layer === layer);
  const population = (slot: number, layer: number) => (layer === 0 ? at('input', slot, 0) : at('layer', slot, layer));
  for (let slot = 0; slot < slots; slot++) {
    const loss = at('loss', slot, layers);
    // Spikes: each population to the next layer, and the output layer to the loss PE (training).
    for (let source = 0; source < layers + (loss.length ? 1 : 0); source++) {
      const targets = source < layers ? at('layer', slot, source + 1) : loss;
      out.push({ key: makeKey({ kind: KIND_SPIKE, slot, layer: source, slice: 0, neuron: 0 }), mask: POPULATION_MASK, senders: population(slot, source), targets });
    }
    if (!loss.length) continue;
    // Errors about population l's spikes, to the PE of each of its slices (from layer l+1, or the loss PE).
    for (let l = 1; l <= layers; l++) {
      const senders = l === layers ? loss : at('layer', slot, l + 1);
      for (const target of at('layer', slot, l)) {
        out.push({ key: makeKey({ kind: KIND_ERROR, slot, layer: l, slice: target.slice, neuron: 0 }), mask: SLICE_MASK, senders, targets: [target] });
      }
    }
  }
  for (const opt of placement.pes.filter((p) => p.program === 'optimiser')) {
    for (const h of opt.holds!) {
      const slicePes = placement.pes.filter((p) => p.program === 'layer' && p.layer === h.layer && p.slice === h.slice);
      out.push({ key: paramKey(KIND_GRADIENT, h.layer, h.slice, 0), mask: PARAM_SLICE_MASK, senders: slicePes, targets: [opt] });
      out.push({ key: paramKey(KIND_WEIGHT, h.layer, h.slice, 0), mask: PARAM_SLICE_MASK, senders: [opt], targets: slicePes });
    }
  }
  return out;
}

export function buildRouting(placement: Placement, machine: Machine): RouterTable[] {
  const w = machine.chips.gridWidth.value;
  const tables = new Map<number, Map<string, RouteEntry>>();
  const entryAt = (chip: number, key: number, mask: number): RouteEntry => {
    if (!tables.has(chip)) tables.set(chip, new Map());
    const t = tables.get(chip)!;
    const id = `${key}/${mask}`;
    if (!t.has(id)) t.set(id, { key, mask, pes: [], links: [] });
    return t.get(id)!;
  };
  for (const { key, mask, senders, targets } of flows(placement)) {
    for (const from of new Set(senders.map((p) => p.chip))) {
      for (const t of targets) {
        for (const hop of path(from, t.chip, w)) {
          const e = entryAt(hop.chip, key, mask);
          if (!e.links.includes(hop.link)) e.links.push(hop.link);
        }
        const e = entryAt(t.chip, key, mask);
        if (!e.pes.includes(t.id)) e.pes.push(t.id);
      }
    }
  }
  const capacity = machine.router.entriesPerChip.value;
  return [...tables.entries()]
    .sort(([a], [b]) => a - b)
    .map(([chip, t]) => {
      const entries = mergeEntries([...t.values()].map((e) => ({ ...e, pes: [...e.pes].sort(), links: [...e.links].sort() })));
      if (entries.length > capacity) {
        throw new UserError(`router of chip ${chip}: needs ${entries.length} routing entries, but a router holds ${capacity}`);
      }
      return { chip, entries };
    });
}
