import type { LossSettings } from '../model/schema.js';
import type { TypedKernel } from './typed-kernel.js';

/**
 * The loss settings the engine takes: the model's (docs/contract.md "Loss"), its alpha being the
 * regulariser's weight; `nudge` is not the kernel's but silent-label-nudge.ts's.
 */
export type TtfsLoss = Pick<LossSettings, 'xi' | 'alpha' | 'tau1' | 'nudge'>;

export interface TtfsLossAttrs {
  /**
   * The loss settings of each trial in the batch: one for a single network; K for K stacked trials
   * (trial-axis.ts), whose samples follow one another, B / K each.
   */
  losses: TtfsLoss[];
  /**
   * The B of the 1/B in the injected error: the whole batch (of one trial, when stacked), even when it
   * is computed in parts.
   */
  batchSize: number;
}

/**
 * Time-to-first-spike loss of the output layer (docs/contract.md, "Time-to-first-spike loss"), in float64,
 * results stored as float32.
 *
 * inputs: s bool [B, T, N] output spikes, labels int32 [B] (sample b uses losses[floor(b / (B / K))])
 * outputs: firstSpikes int32 [B, N] (T when silent), terms float32 [B, 2] (CE, R per sample),
 *          e float32 [B, T, N] (dL/dt_n at step t_n; none when t_n >= T-1)
 */
export const ttfsLossKernel: TypedKernel<TtfsLossAttrs> = {
  name: 'S2PropTtfsLoss',
  inputNames: ['s', 'labels'],
  outputs([sShape]) {
    const [B, , N] = sShape;
    return [
      { shape: [B, N], dtype: 'int32' },
      { shape: [B, 2], dtype: 'float32' },
      { shape: sShape, dtype: 'float32' },
    ];
  },
  compute([s, labels], [sShape], [first, terms, e], { losses, batchSize }) {
    const [B, T, N] = sShape;
    const K = losses.length;
    if (K < 1 || B % K !== 0) throw new Error(`a batch of ${B} samples does not split into ${K} trials`);
    const perTrial = B / K;
    const t = new Float64Array(N);
    const p = new Float64Array(N);
    for (let b = 0; b < B; b++) {
      const { xi, alpha, tau1 } = losses[Math.floor(b / perTrial)];
      for (let n = 0; n < N; n++) {
        let tn = T;
        for (let i = 0; i < T; i++) {
          if (s[(b * T + i) * N + n] !== 0) {
            tn = i;
            break;
          }
        }
        t[n] = tn;
        first[b * N + n] = tn;
      }
      // p = softmax(-t / xi), computed stably.
      let zMax = -Infinity;
      for (let n = 0; n < N; n++) zMax = Math.max(zMax, -t[n] / xi);
      let sum = 0;
      for (let n = 0; n < N; n++) sum += p[n] = Math.exp(-t[n] / xi - zMax);
      for (let n = 0; n < N; n++) p[n] /= sum;
      const c = labels[b];
      const expTc = Math.exp(t[c] / tau1);
      terms[b * 2] = t[c] / xi + zMax + Math.log(sum); // -log p_c without underflow
      terms[b * 2 + 1] = alpha * (expTc - 1);
      for (let n = 0; n < N; n++) {
        if (t[n] >= T - 1) continue;
        const isLabel = n === c ? 1 : 0;
        const grad = ((isLabel - p[n]) / xi + isLabel * (alpha / tau1) * expTc) / batchSize;
        e[(b * T + t[n]) * N + n] = grad;
      }
    }
  },
};
