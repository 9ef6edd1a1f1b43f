import type { TypedKernel } from './typed-kernel.js';

export interface SilentLabelNudgeAttrs {
  /** One nudge per trial: K of them for K stacked trials (trial-axis.ts), whose samples follow one another. */
  nudges: number[];
  /** The B of nudge / B: samples per trial in the whole batch. */
  batchSize: number;
}

/**
 * The silent-label nudge (silent-label-nudge.ts) of the output layer, for the backends that run typed
 * kernels in place (cpu, wasm): only the samples whose label neuron is silent are read.
 *
 * inputs: s bool [K*B, T, H] (the output layer's input spikes), firstSpikes int32 [K*B, N] (T when
 *         silent), labels int32 [K*B]
 * output: float32 [H, N] for K = 1, else [K, H, N]: per trial k, fround(count * fround(-nudge_k / B))
 *         with count the integer number of spikes of input h in the trial's samples whose label is n and
 *         whose label neuron first spikes at T-1 or never (so -0 where count is 0, as the op path gives).
 */
export const silentLabelNudgeKernel: TypedKernel<SilentLabelNudgeAttrs> = {
  name: 'S2PropSilentLabelNudge',
  inputNames: ['s', 'firstSpikes', 'labels'],
  outputs([sShape, firstShape], { nudges }) {
    const [H, N] = [sShape[2], firstShape[1]];
    return [{ shape: nudges.length === 1 ? [H, N] : [nudges.length, H, N], dtype: 'float32' }];
  },
  compute([s, first, labels], [sShape, firstShape], [out], { nudges, batchSize }) {
    const [KB, T, H] = sShape;
    const N = firstShape[1];
    const K = nudges.length;
    if (K < 1 || KB % K !== 0) throw new Error(`a batch of ${KB} samples does not split into ${K} trials`);
    const B = KB / K;
    for (let b = 0; b < KB; b++) {
      const c = labels[b];
      if (first[b * N + c] < T - 1) continue;
      const base = Math.floor(b / B) * H * N + c;
      for (let i = 0; i < T; i++) {
        const row = (b * T + i) * H;
        for (let h = 0; h < H; h++) if (s[row + h] !== 0) out[base + h * N] += 1;
      }
    }
    for (let k = 0; k < K; k++) {
      const scale = Math.fround(-nudges[k] / batchSize);
      for (let j = k * H * N; j < (k + 1) * H * N; j++) out[j] = Math.fround(out[j] * scale);
    }
  },
};
