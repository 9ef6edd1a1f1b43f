import { UserError } from '../../errors.js';
import { flushSubnormal } from '../../numerics/flush.js';
import { predictedClass } from '../../numerics/prediction.js';
import { energyJoules } from '../cost.js';
import { ADAM_STATE, H, setBit, INPUT_CONTROL, LOSS_CONTROL, LOSS_TERMS, MOMENTS, OPTIMISER_CONTROL, PARAM_SLICES } from '../memory-layout.js';
import type { ChipConfig, LoadedPe } from '../sim/load-config.js';
import { INPUT_MODE } from '../sim/programs/input.js';
import { ChipSimulator, TickRecorder, type SimulationStats } from '../sim/simulator.js';

/** One training sample as the host writes it: features (encoded by the input program) or a spike raster. */
export type TrainSample = { label: number } & ({ features: ArrayLike<number> } | { spikes: [number, number][] });

export interface SampleOutcome {
  firstSpikes: number[];
  prediction: number;
  /** CE and R as the loss PE computed them (float32). */
  ce: number;
  r: number;
}

/** Adam state of every weight, as read back from the optimiser PEs (layer matrices [inputs][outputs]). */
export interface ChipTrainingState {
  step: number;
  beta1Power: number;
  beta2Power: number;
  weights: number[][][];
  m: number[][][];
  v: number[][][];
}

/** Cost of the windows run so far (model values: see the machine description). */
export interface TrainingCost {
  samples: number;
  windows: number;
  ticks: number;
  cycles: number;
  packets: number;
  packetHops: number;
  packetsDropped: number;
  /** Busiest PE's cycles in each tick of the longest window (forward, backward, gather, update). */
  busiestCyclesPerTick: number[];
  /** The PE that needed the most cycles in one tick. */
  busiestPe: string;
  /** Per PE and tick of the window: the most cycles needed (over all windows), packets in and out (sums). */
  perPe: SimulationStats['perPe'];
  realTime: SimulationStats['realTime'];
  energyJoules: { mhz: number; joules: number }[];
  /** Wall-clock time on the chip at 1 tick per tickMicroseconds. */
  chipSeconds: number;
}

/** Where one layer slice's weights live: its optimiser PE and offset, and its neurons in the layer. */
interface SliceHome {
  layer: number;
  optimiser: LoadedPe;
  offset: number;
  inputs: number;
  neuronStart: number;
  neurons: number;
}

const f32 = (words: Uint32Array) => new Float32Array(words.buffer, words.byteOffset, words.length);

/**
 * The host side of on-chip training, as a board's host program would run it: per sample window it writes
 * each slot's sample (features or spike raster), label and batch size, and the optimiser's update flag and
 * learning rate; runs the window's ticks; reads back the loss PEs' results. A batch larger than the slots
 * runs in rounds; the optimiser adds up every round's gradients and updates after the last one.
 */
export class OnChipTrainer {
  readonly sim: ChipSimulator;
  readonly training: NonNullable<ChipConfig['spec']['training']>;
  readonly steps: number;
  readonly sizes: number[];
  private readonly inputs: string[];
  private readonly losses: LoadedPe[];
  private readonly optimisers: LoadedPe[];
  private readonly homes: SliceHome[];
  private cost: TrainingCost;
  private recorder: TickRecorder;

  constructor(config: ChipConfig, dir: string) {
    if (!config.spec.training) throw new UserError(`${dir}: is an inference export; on-chip training needs one written with s2prop export --train`);
    this.sim = new ChipSimulator(config);
    this.training = config.spec.training;
    this.steps = config.spec.ticks;
    const slots = config.spec.slots;
    const pes = this.sim.pes;
    this.inputs = Array.from({ length: slots }, (_, s) => config.spec.write.find((w) => w.slot === s)!.pe);
    this.losses = Array.from({ length: slots }, (_, s) => pes.find((p) => p.program === 'loss' && p.words[H.slot] === s)!);
    this.optimisers = pes.filter((p) => p.program === 'optimiser');
    this.homes = [];
    for (const opt of this.optimisers) {
      const table = this.sim.region(opt.id, 'paramSlices');
      for (let i = 0; i < PARAM_SLICES.head.decode(table, 0).count; i++) {
        const { layer, slice, inputs, neurons, offset } = PARAM_SLICES.decodeRecord(table, 0, i);
        const pe = pes.find((p) => p.program === 'layer' && p.words[H.layer] === layer && p.words[H.slice] === slice)!;
        this.homes.push({ layer, optimiser: opt, offset, inputs, neuronStart: pe.words[H.neuronStart], neurons });
      }
    }
    const layers = Math.max(...this.homes.map((h) => h.layer));
    this.sizes = [this.homes.find((h) => h.layer === 1)!.inputs];
    for (let l = 1; l <= layers; l++) this.sizes.push(this.homes.filter((h) => h.layer === l).reduce((a, h) => a + h.neurons, 0));
    this.recorder = new TickRecorder(pes, this.windowTicks(true), 1);
    this.cost = this.emptyCost();
  }

  get slots(): number {
    return this.sim.config.spec.slots;
  }

  /** Ticks of one sample window: forward T, backward T, gather, (update), and one to deliver the last packets. */
  windowTicks(update: boolean): number {
    const t = this.training;
    return 2 * this.steps + t.gatherTicks + (update ? t.updateTicks : 0) + 1;
  }

  /**
   * Run one batch: forward and backward of every sample, gradients gathered on the optimisers, and with
   * `update` one Adam step with learning rate `lr`. `slots` (at most the exported ones) limits the slots used.
   */
  runBatch(samples: TrainSample[], opts: { update: boolean; lr: number; slots?: number; batchSize?: number }): SampleOutcome[] {
    const slots = Math.min(opts.slots ?? this.slots, this.slots);
    const batch = opts.batchSize ?? samples.length;
    const out: SampleOutcome[] = [];
    for (let start = 0; start < samples.length; start += slots) {
      const round = samples.slice(start, start + slots);
      const last = start + slots >= samples.length;
      this.sim.reset();
      for (let s = 0; s < this.slots; s++) this.writeSlot(s, round[s], batch);
      const update = opts.update && last;
      for (const opt of this.optimisers) OPTIMISER_CONTROL.encode(this.sim.region(opt.id, 'control'), 0, { update: update ? 1 : 0, lr: opts.lr });
      const ticks = this.windowTicks(update);
      this.sim.runWindow(ticks, this.recorder);
      this.cost.windows++;
      this.cost.ticks += ticks;
      for (let s = 0; s < round.length; s++) out.push(this.readSlot(s));
    }
    this.cost.samples += samples.length;
    return out;
  }

  private writeSlot(slot: number, sample: TrainSample | undefined, batch: number): void {
    const input = this.inputs[slot];
    const control = this.sim.region(input, 'control');
    LOSS_CONTROL.encode(this.sim.region(this.losses[slot].id, 'control'), 0, { label: sample?.label ?? 0, batchSize: batch, active: sample ? 1 : 0 });
    if (!sample) {
      INPUT_CONTROL.encode(control, 0, { mode: INPUT_MODE.idle });
    } else if ('features' in sample) {
      INPUT_CONTROL.encode(control, 0, { mode: INPUT_MODE.features });
      this.sim.writeFeatures(slot, sample.features);
    } else {
      INPUT_CONTROL.encode(control, 0, { mode: INPUT_MODE.raster });
      const raster = this.sim.region(input, 'raster');
      const rowWords = raster.length / this.steps;
      for (const [k, t] of sample.spikes) setBit(raster, t * rowWords, k);
    }
  }

  private readSlot(slot: number): SampleOutcome {
    const id = this.losses[slot].id;
    const firstSpikes = [...this.sim.region(id, 'firstSpikes')];
    const { ce, r } = LOSS_TERMS.decode(this.sim.region(id, 'lossTerms'), 0);
    return { firstSpikes, prediction: predictedClass(firstSpikes), ce, r };
  }

  /** A per-layer matrix [inputs][outputs] gathered from the optimisers' region `name` (of `plane`, for the moments). */
  private readMatrices(name: 'weights' | 'gradients' | 'moments', plane?: 'm' | 'v'): number[][][] {
    const out = this.sizes.slice(1).map((n, l) => Array.from({ length: this.sizes[l] }, () => new Array<number>(n).fill(0)));
    for (const h of this.homes) {
      const values = f32(this.sim.region(h.optimiser.id, name));
      const base = (plane ? MOMENTS.planeAt(0, plane, h.optimiser.words[H.inputs]) : 0) + h.offset;
      for (let k = 0; k < h.inputs; k++) for (let j = 0; j < h.neurons; j++) out[h.layer - 1][k][h.neuronStart + j] = values[base + k * h.neurons + j];
    }
    return out;
  }

  /** The gradient gathered on the optimisers since their last update (dL/dW of the batches run). */
  gradients(): number[][][] {
    return this.readMatrices('gradients');
  }

  weights(): number[][][] {
    return this.readMatrices('weights');
  }

  state(): ChipTrainingState {
    const { step, beta1Power, beta2Power } = ADAM_STATE.decode(this.sim.region(this.optimisers[0].id, 'adamState'), 0);
    return { step, beta1Power, beta2Power, weights: this.weights(), m: this.readMatrices('moments', 'm'), v: this.readMatrices('moments', 'v') };
  }

  /**
   * Write a state back: weights into the optimisers and every slot's layer PEs, Adam moments and counters;
   * weights and moments flushed (a checkpoint written before the subnormal rule may hold subnormals).
   */
  restore(state: ChipTrainingState): void {
    for (const h of this.homes) {
      const total = h.optimiser.words[H.inputs];
      const put = (name: 'weights' | 'moments', base: number, m: number[][][]) => {
        const values = f32(this.sim.region(h.optimiser.id, name));
        for (let k = 0; k < h.inputs; k++) for (let j = 0; j < h.neurons; j++) values[base + h.offset + k * h.neurons + j] = flushSubnormal(Math.fround(m[h.layer - 1][k][h.neuronStart + j]));
      };
      put('weights', 0, state.weights);
      put('moments', MOMENTS.planeAt(0, 'm', total), state.m);
      put('moments', MOMENTS.planeAt(0, 'v', total), state.v);
    }
    for (const opt of this.optimisers) {
      const { step, beta1Power, beta2Power } = state;
      ADAM_STATE.encode(this.sim.region(opt.id, 'adamState'), 0, { step, beta1Power, beta2Power });
    }
    for (const pe of this.sim.pes.filter((p) => p.program === 'layer')) {
      const l = pe.words[H.layer] - 1;
      const [n, start] = [pe.words[H.neuronCount], pe.words[H.neuronStart]];
      const w = f32(this.sim.region(pe.id, 'weights'));
      for (let k = 0; k < this.sizes[l]; k++) for (let j = 0; j < n; j++) w[k * n + j] = flushSubnormal(Math.fround(state.weights[l][k][start + j]));
    }
  }

  private emptyCost(): TrainingCost {
    return { samples: 0, windows: 0, ticks: 0, cycles: 0, packets: 0, packetHops: 0, packetsDropped: 0, busiestCyclesPerTick: [], busiestPe: '', perPe: [], realTime: [], energyJoules: [], chipSeconds: 0 };
  }

  /** The cost since the last call (or since the start), and start counting afresh. */
  takeCost(): TrainingCost {
    const { machine } = this.sim.config;
    const rec = this.recorder;
    const c = this.cost;
    const seconds = (c.ticks * machine.clock.tickMicroseconds.value) / 1e6;
    const result: TrainingCost = {
      ...c,
      cycles: rec.totalCycles,
      packets: rec.packetsSent,
      packetHops: rec.packetHops,
      packetsDropped: this.sim.packetsDropped,
      busiestCyclesPerTick: rec.busiestCyclesPerTick,
      busiestPe: rec.busiestPe,
      perPe: rec.perPe,
      realTime: rec.realTime(machine),
      energyJoules: machine.clock.optionsMHz.value.map((mhz) => ({ mhz, joules: energyJoules({ cycles: rec.totalCycles, hops: rec.packetHops, activePes: this.sim.pes.length, seconds, mhz }, machine) })),
      chipSeconds: seconds,
    };
    this.recorder = new TickRecorder(this.sim.pes, this.windowTicks(true), 1);
    this.cost = this.emptyCost();
    return result;
  }
}
