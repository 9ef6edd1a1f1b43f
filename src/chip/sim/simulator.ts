import { UserError } from '../../errors.js';
import { tickBudget, tickCycles, energyJoules } from '../cost.js';
import { bitmapWords, MUTABLE_REGIONS } from '../memory-layout.js';
import type { ChipConfig, LoadedPe } from './load-config.js';
import { InputProgram, LayerProgram, type Program } from './programs.js';
import { RouterNetwork } from './router.js';

/** One sample's result, read back from the output layer's memory. */
export interface SampleResult {
  firstSpikes: number[];
  prediction: number;
  label?: number;
  /** With recording: [[neuron, step], ...] per layer (hidden layers, then the output layer). */
  spikes?: [number, number][][];
}

export interface SimulationStats {
  samples: number;
  ticks: number;
  packetsSent: number;
  packetHops: number;
  packetsDropped: number;
  synapticEvents: number;
  /** Busiest PE's cycles in each tick of the window (maximum over all samples run). */
  busiestCyclesPerTick: number[];
  /** Packets sent in each tick of the window (mean over samples). */
  packetsPerTick: number[];
  /** Per PE and tick: the most cycles it needed (over all runs) and the mean packets in and out per run. */
  perPe: { id: string; maxCycles: number[]; packetsIn: number[]; packetsOut: number[] }[];
  busiestPe: string;
  realTime: { mhz: number; budgetCycles: number; worstTickCycles: number; ticksOverBudget: number; fits: boolean }[];
  /** Model values: see the machine description. */
  energyPerInferenceJoules: { mhz: number; joules: number }[];
  latencyPerInferenceSeconds: number;
  totalCycles: number;
}

export interface Simulation {
  samples: SampleResult[];
  stats: SimulationStats;
}

/**
 * The tick loop over all PEs of a chip config. Each group of samples (one per slot) starts from the
 * images' initial memory; the host writes each slot's features, then T ticks run: packets sent in tick t
 * are routed and delivered at the start of tick t+1 (the one-step synaptic delay of the equations).
 */
export class ChipSimulator {
  private readonly initial = new Map<string, Uint32Array>();
  private readonly programs = new Map<string, Program>();
  private readonly network: RouterNetwork;
  private readonly pes: LoadedPe[];

  constructor(private readonly config: ChipConfig) {
    this.pes = [...config.pes.values()];
    for (const pe of this.pes) {
      this.initial.set(pe.id, pe.words.slice());
      this.programs.set(pe.id, pe.program === 'input' ? new InputProgram(pe) : new LayerProgram(pe));
    }
    this.network = new RouterNetwork(config.routing, config.machine);
  }

  /** The number of features the input program expects. */
  get features(): number {
    const w = this.config.spec.write[0];
    return this.config.pes.get(w.pe)!.regions.get(w.region)!.words;
  }

  /** Restore the mutable regions to the images' contents (a fresh sample). */
  private reset(): void {
    for (const pe of this.pes) {
      const init = this.initial.get(pe.id)!;
      for (const name of MUTABLE_REGIONS) {
        const r = pe.regions.get(name);
        if (r) pe.words.set(init.subarray(r.offset, r.offset + r.words), r.offset);
      }
    }
  }

  /**
   * Run samples (features row-major [count][features], values in [0, 1]). `record` reads back every
   * layer's spikes.
   */
  run(features: Float64Array, count: number, labels?: Int32Array, record = false): Simulation {
    const { spec, machine } = this.config;
    const nf = this.features;
    if (features.length !== count * nf) throw new UserError(`the data has ${features.length / Math.max(count, 1)} features per sample, the config's input program expects ${nf}`);
    const T = spec.ticks;
    const clocks = machine.clock.optionsMHz.value;
    const stats: SimulationStats = {
      samples: count,
      ticks: T,
      packetsSent: 0,
      packetHops: 0,
      packetsDropped: 0,
      synapticEvents: 0,
      busiestCyclesPerTick: new Array(T).fill(0),
      packetsPerTick: new Array(T).fill(0),
      perPe: this.pes.map((p) => ({ id: p.id, maxCycles: new Array(T).fill(0), packetsIn: new Array(T).fill(0), packetsOut: new Array(T).fill(0) })),
      busiestPe: '',
      realTime: [],
      energyPerInferenceJoules: [],
      latencyPerInferenceSeconds: (T * machine.clock.tickMicroseconds.value) / 1e6,
      totalCycles: 0,
    };
    let busiest = 0;
    const samples: SampleResult[] = [];
    const slots = spec.slots;
    const chipOf = new Map(this.pes.map((p) => [p.id, p.chip]));
    const groups = Math.ceil(count / slots); // every PE runs once per group of samples
    for (let start = 0; start < count; start += slots) {
      const group = Math.min(slots, count - start);
      this.reset();
      for (const w of spec.write) {
        if (w.slot >= group) continue;
        const pe = this.config.pes.get(w.pe)!;
        const r = pe.regions.get(w.region)!;
        const f32 = new Float32Array(pe.words.buffer, pe.words.byteOffset + 4 * r.offset, r.words);
        for (let k = 0; k < r.words; k++) f32[k] = features[(start + w.slot) * nf + k];
      }
      let inFlight: { key: number; chip: number }[] = [];
      for (let t = 0; t < T; t++) {
        // Deliver last tick's packets (routed by key), then every PE runs its tick.
        for (const { key, chip } of inFlight) {
          const { pes, hops } = this.network.route(key, chip);
          stats.packetHops += hops;
          for (const id of pes) this.programs.get(id)!.receive(key);
        }
        inFlight = [];
        this.pes.forEach((pe, p) => {
          const work = this.programs.get(pe.id)!.tick(t, (key) => inFlight.push({ key, chip: chipOf.get(pe.id)! }));
          const cycles = tickCycles(work, machine);
          const record = stats.perPe[p];
          record.maxCycles[t] = Math.max(record.maxCycles[t], cycles);
          record.packetsIn[t] += work.received / groups;
          record.packetsOut[t] += work.sent / groups;
          stats.totalCycles += cycles;
          stats.synapticEvents += work.synapticEvents;
          if (cycles > stats.busiestCyclesPerTick[t]) stats.busiestCyclesPerTick[t] = cycles;
          if (cycles > busiest) {
            busiest = cycles;
            stats.busiestPe = pe.id;
          }
        });
        stats.packetsSent += inFlight.length;
        stats.packetsPerTick[t] += inFlight.length / count;
      }
      for (let slot = 0; slot < group; slot++) samples.push(this.readBack(slot, record, labels?.[start + slot]));
    }
    stats.packetsDropped = this.network.dropped;
    stats.realTime = clocks.map((mhz) => {
      const budget = tickBudget(machine, mhz);
      const over = stats.busiestCyclesPerTick.filter((c) => c > budget).length;
      return { mhz, budgetCycles: budget, worstTickCycles: Math.max(...stats.busiestCyclesPerTick), ticksOverBudget: over, fits: over === 0 };
    });
    stats.energyPerInferenceJoules = clocks.map((mhz) => ({
      mhz,
      joules: energyJoules(stats.totalCycles / Math.max(count, 1), stats.packetHops / Math.max(count, 1), this.pes.length / slots, stats.latencyPerInferenceSeconds, mhz, machine),
    }));
    return { samples, stats };
  }

  private readBack(slot: number, record: boolean, label?: number): SampleResult {
    const { spec } = this.config;
    const T = spec.ticks;
    const firstSpikes: number[] = [];
    const byLayer = new Map<number, [number, number][]>();
    for (const r of spec.read) {
      if (r.slot !== slot) continue;
      const pe = this.config.pes.get(r.pe)!;
      const region = pe.regions.get(r.region)!;
      if (r.region === 'firstSpikes') {
        for (let j = 0; j < r.neurons; j++) firstSpikes[r.neuronStart + j] = pe.words[region.offset + j];
      } else if (r.region === 'spikeRecord' && record) {
        const list = byLayer.get(r.layer) ?? [];
        const rowWords = bitmapWords(r.neurons);
        for (let t = 0; t < T; t++) {
          for (let j = 0; j < r.neurons; j++) {
            if ((pe.words[region.offset + t * rowWords + (j >>> 5)] >>> (j & 31)) & 1) list.push([r.neuronStart + j, t]);
          }
        }
        byLayer.set(r.layer, list);
      }
    }
    let prediction = 0;
    for (let n = 1; n < firstSpikes.length; n++) if (firstSpikes[n] < firstSpikes[prediction]) prediction = n;
    const out: SampleResult = { firstSpikes, prediction };
    if (label !== undefined) out.label = label;
    if (record) {
      out.spikes = [...byLayer.keys()].sort((a, b) => a - b).map((l) => byLayer.get(l)!.sort((a, b) => a[1] - b[1] || a[0] - b[0]));
    }
    return out;
  }
}
