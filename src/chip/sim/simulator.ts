import { UserError } from '../../errors.js';
import { tickBudget, tickCycles, energyJoules } from '../cost.js';
import type { Machine } from '../machine.js';
import type { TickWork } from '../cost.js';
import { bitmapWords, getBit, H, HEADER_FIELDS, INPUT_CONTROL, LOSS_CONTROL, mantissaReader, MUTABLE_REGIONS, packWeights, weightRowWords, type RegionName } from '../memory-layout.js';
import { mantissasAt, QUANTS } from '../../quant/quantise.js';
import type { ChipConfig, LoadedPe } from './load-config.js';
import { INPUT_MODE, InputProgram } from './programs/input.js';
import { LayerProgram } from './programs/layer.js';
import { LossProgram } from './programs/loss.js';
import { OptimiserProgram } from './programs/optimiser.js';
import type { Program } from './programs/program.js';
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

/** Per-tick records of a sequence of windows of up to `ticks` ticks each (see SimulationStats). */
export class TickRecorder {
  readonly busiestCyclesPerTick: number[];
  readonly packetsPerTick: number[];
  readonly perPe: SimulationStats['perPe'];
  packetsSent = 0;
  packetHops = 0;
  synapticEvents = 0;
  totalCycles = 0;
  busiestPe = '';
  private busiest = 0;

  constructor(
    pes: LoadedPe[],
    readonly ticks: number,
    /** Windows the means are taken over. */
    private readonly windows: number,
  ) {
    this.busiestCyclesPerTick = new Array(ticks).fill(0);
    this.packetsPerTick = new Array(ticks).fill(0);
    this.perPe = pes.map((p) => ({ id: p.id, maxCycles: new Array(ticks).fill(0), packetsIn: new Array(ticks).fill(0), packetsOut: new Array(ticks).fill(0) }));
  }

  record(p: number, t: number, work: TickWork, cycles: number): void {
    const r = this.perPe[p];
    r.maxCycles[t] = Math.max(r.maxCycles[t], cycles);
    r.packetsIn[t] += work.received / this.windows;
    r.packetsOut[t] += work.sent / this.windows;
    this.totalCycles += cycles;
    this.synapticEvents += work.synapticEvents;
    if (cycles > this.busiestCyclesPerTick[t]) this.busiestCyclesPerTick[t] = cycles;
    if (cycles > this.busiest) {
      this.busiest = cycles;
      this.busiestPe = this.perPe[p].id;
    }
  }

  sent(t: number, packets: number): void {
    this.packetsSent += packets;
    this.packetsPerTick[t] += packets / this.windows;
  }

  /** The real-time verdict at each clock option: ticks whose busiest PE needs more than the budget. */
  realTime(machine: Machine): SimulationStats['realTime'] {
    return machine.clock.optionsMHz.value.map((mhz) => {
      const budget = tickBudget(machine, mhz);
      const over = this.busiestCyclesPerTick.filter((c) => c > budget).length;
      return { mhz, budgetCycles: budget, worstTickCycles: Math.max(...this.busiestCyclesPerTick), ticksOverBudget: over, fits: over === 0 };
    });
  }
}

function makeProgram(pe: LoadedPe): Program {
  switch (pe.program) {
    case 'input':
      return new InputProgram(pe);
    case 'layer':
      return new LayerProgram(pe);
    case 'loss':
      return new LossProgram(pe);
    case 'optimiser':
      return new OptimiserProgram(pe);
  }
}

const payloadBits = new Float32Array(1);

/**
 * The tick loop over all PEs of a chip config. Each group of samples (one per slot) starts from the
 * images' initial memory; the host writes each slot's features, then T ticks run: packets sent in tick t
 * are routed and delivered at the start of tick t+1 (the one-step synaptic delay of the equations).
 */
export class ChipSimulator {
  private readonly initial = new Map<string, Uint32Array>();
  private readonly programs: Program[];
  private readonly network: RouterNetwork;
  readonly pes: LoadedPe[];
  private readonly chipOf: number[];
  private readonly indexOf: Map<string, number>;

  constructor(readonly config: ChipConfig) {
    // Each simulator runs its own copy of the images: two simulators of one config (or a config loaded
    // once and simulated again) never see each other's state.
    this.pes = [...config.pes.values()].map((pe) => ({ ...pe, words: pe.words.slice() }));
    // The programs first: they may fix their images as they start (flushing subnormal float32 weights).
    this.programs = this.pes.map(makeProgram);
    for (const pe of this.pes) this.initial.set(pe.id, pe.words.slice());
    this.network = new RouterNetwork(config.routing, config.machine);
    this.chipOf = this.pes.map((p) => p.chip);
    this.indexOf = new Map(this.pes.map((p, i) => [p.id, i]));
  }

  /** This simulator's PE `id` (its own memory). */
  private pe(id: string): LoadedPe {
    return this.pes[this.indexOf.get(id)!];
  }

  /** The number of features the input program expects. */
  get features(): number {
    const w = this.config.spec.write[0];
    return this.pe(w.pe).regions.get(w.region)!.words;
  }

  get packetsDropped(): number {
    return this.network.dropped;
  }

  /** Restore the mutable regions to the images' contents (a fresh sample window). */
  reset(): void {
    for (const pe of this.pes) {
      const init = this.initial.get(pe.id)!;
      for (const name of MUTABLE_REGIONS) {
        const r = pe.regions.get(name);
        if (r) pe.words.set(init.subarray(r.offset, r.offset + r.words), r.offset);
      }
    }
  }

  /** The words of a region of a PE (a live view: the host's reads and writes). */
  region(id: string, name: RegionName): Uint32Array {
    const pe = this.pe(id);
    const r = pe.regions.get(name);
    if (!r) throw new Error(`PE ${id} has no region ${name}`);
    return pe.words.subarray(r.offset, r.offset + r.words);
  }

  /** Write a slot's features (float32) into its input PE. */
  writeFeatures(slot: number, values: ArrayLike<number>): void {
    const words = this.region(this.config.spec.write.find((e) => e.slot === slot)!.pe, 'features');
    const f32 = new Float32Array(words.buffer, words.byteOffset, words.length);
    for (let k = 0; k < f32.length; k++) f32[k] = values[k];
  }

  /**
   * The host rewrites the weights of every layer PE (layers [inputs][outputs], float): float32 exports
   * store them as float32; quantised exports store mantissas at the exponent each PE was exported with.
   */
  writeWeights(layers: number[][][]): void {
    for (const pe of this.pes.filter((p) => p.program === 'layer')) {
      const h = pe.words;
      const [l, n, start, inputs] = [h[H.layer] - 1, h[H.neuronCount], h[H.neuronStart], h[H.inputs]];
      const quant = QUANTS[h[H.quant]];
      const slice = Float64Array.from({ length: inputs * n }, (_, i) => layers[l][Math.floor(i / n)][start + (i % n)]);
      const region = this.region(pe.id, 'weights');
      region.fill(0);
      const values = quant === 'float32' ? slice : mantissasAt(slice, quant, HEADER_FIELDS.get(h, 0, 'weightExp'));
      packWeights(values, { rows: inputs, cols: n, quant, words: pe.words, offset: pe.regions.get('weights')!.offset });
    }
  }

  /** The weights a layer PE runs, dequantised (mantissa * 2^exp, exact), as [inputs][neurons of its slice]. */
  layerWeights(id: string): number[][] {
    const pe = this.pe(id);
    const h = pe.words;
    const { neuronCount: n, inputs, weightExp: exp } = HEADER_FIELDS.decode(h, 0);
    const quant = QUANTS[h[H.quant]];
    const offset = pe.regions.get('weights')!.offset;
    const f32 = new Float32Array(pe.words.buffer, pe.words.byteOffset, pe.words.length);
    const rowWords = weightRowWords(n, quant);
    const mantissa = quant === 'float32' ? null : mantissaReader({ cols: n, quant, words: pe.words, offset });
    return Array.from({ length: inputs }, (_, k) => Array.from({ length: n }, (_, j) => (mantissa ? mantissa(k, j) * 2 ** exp : f32[offset + k * rowWords + j])));
  }

  /** Run ticks 0..ticks-1 of a window, every PE every tick, packets delivered at the next tick. */
  runWindow(ticks: number, rec: TickRecorder): void {
    const { machine } = this.config;
    let inFlight: { key: number; payload: number; chip: number }[] = [];
    for (let t = 0; t < ticks; t++) {
      for (const { key, payload, chip } of inFlight) {
        const { pes, hops } = this.network.route(key, chip);
        rec.packetHops += hops;
        for (const id of pes) this.programs[this.indexOf.get(id)!].receive(key, payload, t);
      }
      inFlight = [];
      for (let p = 0; p < this.pes.length; p++) {
        const chip = this.chipOf[p];
        const work = this.programs[p].tick(t, (key, payload = 0) => {
          payloadBits[0] = payload; // the packet carries a float32 word
          inFlight.push({ key, payload: payloadBits[0], chip });
        });
        rec.record(p, Math.min(t, rec.ticks - 1), work, tickCycles(work, machine));
      }
      rec.sent(Math.min(t, rec.ticks - 1), inFlight.length);
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
    const slots = spec.slots;
    const groups = Math.ceil(count / slots); // every PE runs once per group of samples
    const rec = new TickRecorder(this.pes, T, groups);
    const samples: SampleResult[] = [];
    for (let start = 0; start < count; start += slots) {
      const group = Math.min(slots, count - start);
      this.reset();
      // A training export runs inference with its inputs in features mode and its loss PEs idle.
      for (const pe of this.config.spec.training ? this.pes : []) {
        if (pe.program === 'input') INPUT_CONTROL.set(this.region(pe.id, 'control'), 0, 'mode', INPUT_MODE.features);
        if (pe.program === 'loss') LOSS_CONTROL.set(this.region(pe.id, 'control'), 0, 'active', 0);
      }
      for (const w of spec.write) {
        if (w.slot < group) this.writeFeatures(w.slot, features.subarray((start + w.slot) * nf, (start + w.slot + 1) * nf));
      }
      this.runWindow(T, rec);
      for (let slot = 0; slot < group; slot++) samples.push(this.readBack(slot, record, labels?.[start + slot]));
    }
    const latency = (T * machine.clock.tickMicroseconds.value) / 1e6;
    const stats: SimulationStats = {
      samples: count,
      ticks: T,
      packetsSent: rec.packetsSent,
      packetHops: rec.packetHops,
      packetsDropped: this.network.dropped,
      synapticEvents: rec.synapticEvents,
      busiestCyclesPerTick: rec.busiestCyclesPerTick,
      packetsPerTick: rec.packetsPerTick.map((p) => (p * groups) / Math.max(count, 1)),
      perPe: rec.perPe,
      busiestPe: rec.busiestPe,
      realTime: rec.realTime(machine),
      energyPerInferenceJoules: machine.clock.optionsMHz.value.map((mhz) => ({
        mhz,
        joules: energyJoules({ cycles: rec.totalCycles / Math.max(count, 1), hops: rec.packetHops / Math.max(count, 1), activePes: this.pes.length / slots, seconds: latency, mhz }, machine),
      })),
      latencyPerInferenceSeconds: latency,
      totalCycles: rec.totalCycles,
    };
    return { samples, stats };
  }

  private readBack(slot: number, record: boolean, label?: number): SampleResult {
    const { spec } = this.config;
    const T = spec.ticks;
    const firstSpikes: number[] = [];
    const byLayer = new Map<number, [number, number][]>();
    for (const r of spec.read) {
      if (r.slot !== slot) continue;
      const pe = this.pe(r.pe);
      const region = pe.regions.get(r.region)!;
      if (r.region === 'firstSpikes') {
        for (let j = 0; j < r.neurons; j++) firstSpikes[r.neuronStart + j] = pe.words[region.offset + j];
      } else if (r.region === 'spikeRecord' && record) {
        const list = byLayer.get(r.layer) ?? [];
        const rowWords = bitmapWords(r.neurons);
        for (let t = 0; t < T; t++) {
          for (let j = 0; j < r.neurons; j++) {
            if (getBit(pe.words, region.offset + t * rowWords, j)) list.push([r.neuronStart + j, t]);
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
