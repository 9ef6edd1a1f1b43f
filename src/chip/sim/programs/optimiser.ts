import type { TickWork } from '../../cost.js';
import { KIND_GRADIENT, KIND_WEIGHT, paramKey, paramKeyFields } from '../../key-layout.js';
import { ADAM_STATE, H, MOMENTS, OPTIMISER_CONTROL, OPTIMISER_PARAMS, PARAM_SLICES } from '../../memory-layout.js';
import { flushSubnormal as flush, flushSubnormalsInPlace } from '../../../numerics/flush.js';
import type { FieldValues } from '../../field-table.js';
import type { LoadedPe } from '../load-config.js';
import { fround, idle, Memory, type Program, type Send } from './program.js';

/** Where a held layer slice lives in the optimiser's arrays. */
interface HeldSlice {
  layer: number;
  slice: number;
  size: number;
  offset: number;
}

/**
 * Optimiser: holds the weights, Adam moments and gathered gradient of whole layer slices. Every gradient
 * packet (from any slot, in any round of the batch) is added to its entry in arrival order. When the host
 * has set `update` for this window (the batch's last round), the update starts at tick 2T + gather and
 * handles `packetsPerTick` weights per tick, in the order of its weight region; per weight, in float32:
 *   g = grad + wd * W;  m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*(g*g)
 *   W = W - lr * ((m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps))
 * with t the update count and beta^t kept as running float32 products (updated at the first weight of an
 * update), and lr the learning rate the host wrote for this batch; then it clears the gradient and sends
 * the new weight to the slice's PE in every slot. The new W, m and v are flushed to +0 where subnormal
 * (numerics/flush.ts), and so are the weights and moments of the image when the program starts (an image
 * written before the rule may hold subnormals).
 */
export class OptimiserProgram implements Program {
  private readonly mem: Memory;
  private readonly held: HeldSlice[] = [];
  private readonly total: number;
  private readonly steps: number;
  /** The params region (written by the exporter only: read once, as the C program would at start). */
  private readonly params: FieldValues<keyof typeof OPTIMISER_PARAMS.fields>;
  private received = 0;

  constructor(pe: LoadedPe) {
    this.mem = new Memory(pe);
    this.steps = pe.words[H.steps];
    this.total = pe.words[H.inputs];
    const table = this.mem.at('paramSlices');
    const { count } = PARAM_SLICES.head.decode(pe.words, table);
    for (let i = 0; i < count; i++) {
      const { layer, slice, inputs, neurons, offset } = PARAM_SLICES.decodeRecord(pe.words, table, i);
      this.held.push({ layer, slice, size: inputs * neurons, offset });
    }
    this.params = OPTIMISER_PARAMS.decode(pe.words, this.mem.at('params'));
    const { f32 } = this.mem;
    const [W, M] = [this.mem.at('weights'), this.mem.at('moments')];
    flushSubnormalsInPlace(f32.subarray(W, W + this.total));
    flushSubnormalsInPlace(f32.subarray(M, M + MOMENTS.wordsFor(this.total)));
  }

  receive(key: number, payload: number): void {
    this.received++;
    if (key >>> 30 !== KIND_GRADIENT) return;
    const f = paramKeyFields(key);
    const h = this.held.find((s) => s.layer === f.layer && s.slice === f.slice);
    if (!h || f.index >= h.size) return;
    const g = this.mem.at('gradients') + h.offset + f.index;
    this.mem.f32[g] = fround(this.mem.f32[g] + payload);
  }

  tick(t: number, send: Send): TickWork {
    const work = idle(this.received);
    this.received = 0;
    const { u32, f32 } = this.mem;
    const control = OPTIMISER_CONTROL.decode(u32, this.mem.at('control'));
    const p = this.params;
    const start = 2 * this.steps + p.gatherTicks;
    if (control.update !== 1 || t < start) return work;
    const { beta1, beta2, eps, weightDecay: wd, oneMinusBeta1, oneMinusBeta2, packetsPerTick: perTick } = p;
    const { lr } = control;
    const adam = this.mem.at('adamState');
    const from = (t - start) * perTick;
    if (from >= this.total) return work;
    if (from === 0) {
      const s = ADAM_STATE.decode(u32, adam);
      ADAM_STATE.encode(u32, adam, { step: s.step + 1, beta1Power: fround(s.beta1Power * beta1), beta2Power: fround(s.beta2Power * beta2) });
    }
    const { beta1Power, beta2Power } = ADAM_STATE.decode(u32, adam);
    const c1 = fround(1 - beta1Power);
    const c2 = fround(1 - beta2Power);
    const [W, G] = [this.mem.at('weights'), this.mem.at('gradients')];
    const [M, V] = [MOMENTS.planeAt(this.mem.at('moments'), 'm', this.total), MOMENTS.planeAt(this.mem.at('moments'), 'v', this.total)];
    const to = Math.min(this.total, from + perTick);
    for (const h of this.held) {
      for (let q = Math.max(from, h.offset); q < Math.min(to, h.offset + h.size); q++) {
        const g = fround(f32[G + q] + fround(wd * f32[W + q]));
        const m = fround(fround(beta1 * f32[M + q]) + fround(oneMinusBeta1 * g));
        const v = fround(fround(beta2 * f32[V + q]) + fround(oneMinusBeta2 * fround(g * g)));
        const mHat = fround(m / c1);
        const vHat = fround(v / c2);
        f32[W + q] = flush(fround(f32[W + q] - fround(lr * fround(mHat / fround(fround(Math.sqrt(vHat)) + eps)))));
        f32[M + q] = flush(m);
        f32[V + q] = flush(v);
        f32[G + q] = 0;
        send(paramKey(KIND_WEIGHT, h.layer, h.slice, q - h.offset), f32[W + q]);
        work.sent++;
      }
    }
    work.floatOps = 16 * (to - from);
    return work;
  }
}
