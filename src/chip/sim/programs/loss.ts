import type { TickWork } from '../../cost.js';
import { KIND_ERROR, KIND_SPIKE, keyFields, makeKey } from '../../key-layout.js';
import { H, LOSS_CONTROL, LOSS_PARAMS, LOSS_TERMS } from '../../memory-layout.js';
import { expf, logf } from '../float32-math.js';
import type { LoadedPe } from '../load-config.js';
import { fround, idle, Memory, type Program, type Send } from './program.js';

/**
 * Time-to-first-spike loss (docs/contract.md, "Time-to-first-spike loss"). Forward window: records the first
 * spike step of each output neuron (a spike received at tick t was fired at step t-1). At tick T, with the
 * label and batch size B the host wrote into its control region, in float32 in this order:
 *   z_n = -t_n / xi,  zMax = max z,  q_n = expf(z_n - zMax),  S = sum q (ascending n),  p_n = q_n / S
 *   CE = (t_c / xi + zMax) + logf(S),  E = expf(t_c / tau1),  R = alpha * (E - 1)  (the loss's alpha)
 *   e_n = (((delta_nc - p_n) / xi) + delta_nc * ((alpha / tau1) * E)) / B      (none when t_n >= T-1)
 * and sends e_n as an error packet at tick 2T - t_n - 1, so that it arrives when the output layer's
 * backward pass reaches step t_n - 1, the step that uses e[t_n]. An inactive slot (a batch's last round
 * may not fill every slot) sends nothing.
 */
export class LossProgram implements Program {
  private readonly mem: Memory;
  private readonly n: number;
  private readonly steps: number;
  private received = 0;

  constructor(pe: LoadedPe) {
    this.mem = new Memory(pe);
    this.n = pe.words[H.neuronCount];
    this.steps = pe.words[H.steps];
  }

  receive(key: number, _payload: number, t: number): void {
    this.received++;
    if (key >>> 30 !== KIND_SPIKE || t > this.steps) return;
    const f = keyFields(key);
    const n = this.mem.sourceIndex(f.slice, f.neuron, this.n);
    const first = this.mem.at('firstSpikes');
    if (n >= 0 && this.mem.u32[first + n] > t - 1) this.mem.u32[first + n] = t - 1;
  }

  tick(t: number, send: Send): TickWork {
    const work = idle(this.received);
    this.received = 0;
    const T = this.steps;
    if (t < T || LOSS_CONTROL.get(this.mem.u32, this.mem.at('control'), 'active') === 0) return work;
    if (t === T) {
      this.computeLoss();
      work.floatOps = 20 * this.n + 60;
      return work;
    }
    const { u32, f32 } = this.mem;
    const first = this.mem.at('firstSpikes');
    const errors = this.mem.at('errors');
    for (let n = 0; n < this.n; n++) {
      const tn = u32[first + n];
      if (tn >= T - 1 || t !== 2 * T - tn - 1) continue;
      send(makeKey({ kind: KIND_ERROR, slot: u32[H.slot], layer: u32[H.layer], ...this.mem.sourceSliceOf(n) }), f32[errors + n]);
      work.sent++;
    }
    return work;
  }

  private computeLoss(): void {
    const { u32, f32 } = this.mem;
    const N = this.n;
    const T = this.steps;
    const { xi, alpha, tau1 } = LOSS_PARAMS.decode(u32, this.mem.at('params'));
    const { label: c, batchSize: batch } = LOSS_CONTROL.decode(u32, this.mem.at('control'));
    const first = this.mem.at('firstSpikes');
    const t = (n: number) => u32[first + n];
    let zMax = -Infinity;
    for (let n = 0; n < N; n++) zMax = Math.max(zMax, fround(-t(n) / xi));
    const q = new Float32Array(N);
    let sum = 0;
    for (let n = 0; n < N; n++) {
      q[n] = expf(fround(fround(-t(n) / xi) - zMax));
      sum = fround(sum + q[n]);
    }
    const E = expf(fround(t(c) / tau1));
    LOSS_TERMS.encode(u32, this.mem.at('lossTerms'), { ce: fround(fround(fround(t(c) / xi) + zMax) + logf(sum)), r: fround(alpha * fround(E - 1)) });
    const errors = this.mem.at('errors');
    const regulariser = fround(fround(alpha / tau1) * E);
    for (let n = 0; n < N; n++) {
      if (t(n) >= T - 1) continue;
      const pn = fround(q[n] / sum);
      let g = fround(fround((n === c ? 1 : 0) - pn) / xi);
      if (n === c) g = fround(g + regulariser);
      f32[errors + n] = fround(g / batch);
    }
  }
}
