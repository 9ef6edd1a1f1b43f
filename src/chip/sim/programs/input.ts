import type { TickWork } from '../../cost.js';
import { H, INPUT_CONTROL, INPUT_PARAMS } from '../../memory-layout.js';
import type { LoadedPe } from '../load-config.js';
import { fround, idle, Memory, type Program, type Send } from './program.js';

/** Input modes a training export's host writes into the control word per sample window. */
export const INPUT_MODE = { idle: 0, features: 1, raster: 2 } as const;

/** Round half to even, as VCVTR does in the default rounding mode. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Input spike source. From features (the inference program, and mode 1 of a training export): at tick 0
 * turns the sample's features (written by the host as float32) into one spike step per input —
 * round(tMin + (tMax - tMin) * (1 - v)) in float32, half to even; the bias input (last) at step 0 — then at
 * each tick sends the inputs whose step it is, in ascending input order. Mode 2 sends the spike bitmap the
 * host wrote into the raster region (any spike trains, as `s2prop grad` takes them); mode 0 sends nothing.
 */
export class InputProgram implements Program {
  private readonly mem: Memory;
  private readonly inputs: number;
  private readonly steps: number;

  constructor(pe: LoadedPe) {
    this.mem = new Memory(pe);
    this.inputs = pe.words[H.inputs];
    this.steps = pe.words[H.steps];
  }

  receive(): void {}

  private mode(): number {
    return this.mem.u32[H.training] ? INPUT_CONTROL.get(this.mem.u32, this.mem.at('control'), 'mode') : INPUT_MODE.features;
  }

  tick(t: number, send: Send): TickWork {
    const { u32, i32, f32 } = this.mem;
    const { inputs } = this;
    const mode = this.mode();
    if (t >= this.steps || mode === INPUT_MODE.idle) return idle();
    const work = idle();
    if (mode === INPUT_MODE.raster) {
      const row = this.mem.row('raster', t, inputs);
      for (let k = 0; k < inputs; k++) {
        if (this.mem.bit(row, k)) {
          send((u32[H.keyBase] + k) >>> 0);
          work.sent++;
        }
      }
      return work;
    }
    const times = this.mem.at('spikeTimes');
    if (t === 0) {
      const { tMin, tMax, bias, features } = INPUT_PARAMS.decode(u32, this.mem.at('params'));
      const fx = this.mem.at('features');
      for (let k = 0; k < features; k++) i32[times + k] = roundHalfEven(fround(tMin + fround(fround(tMax - tMin) * fround(1 - f32[fx + k]))));
      if (bias) i32[times + features] = 0;
      work.neuronUpdates = inputs;
    }
    for (let k = 0; k < inputs; k++) {
      if (i32[times + k] === t) {
        send((u32[H.keyBase] + k) >>> 0);
        work.sent++;
      }
    }
    return work;
  }
}
