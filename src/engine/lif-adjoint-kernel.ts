import type { AdjointConstants } from '../model/neuron.js';
import { FLT_MIN } from '../numerics/flush.js';
import { StepSpikeLists } from './spike-lists.js';
import { trialLayout } from './trial-axis.js';
import type { TypedKernel } from './typed-kernel.js';

export interface LifAdjointAttrs extends AdjointConstants {
  /** Whether to compute the errors for the previous layer (not needed for the first layer). */
  wantEpsIn: boolean;
}

const fround = Math.fround;

/**
 * The adjoint recurrence of one layer in reverse time (docs/contract.md, "Backward pass"), with the weight
 * gradient and the errors sent to the previous layer computed only where input spikes were — which is
 * all EventProp ever needs (errors travel only where spikes were).
 *
 * inputs: sIn bool [B, T, Nin], s bool [B, T, N], D float32 [B, T, N], e float32 [B, T, N], W [Nin, N]
 *         or [K, Nin, N] for K stacked trials (trial-axis.ts: sample b belongs to trial floor(b / (B / K)))
 * outputs: G float32 shaped as W (summed over the batch, or over each trial's samples), epsIn float32
 *          [B, T, Nin] ([0] if not wanted)
 *
 * Float32, every operation rounded, in the contract's order. A neuron's adjoint depends only on its own
 * errors, so the loop runs neuron by neuron (lamV, lamI in registers) and skips the stretch before its
 * first error in reverse time, where the adjoint is exactly zero. The new lamI and lamV of every step are
 * flushed to +0 when subnormal (numerics/flush.ts); eps_in, G and the products inside are not. Accumulation orders, fixed: eps_in sums
 * over neurons in ascending index; G sums over samples, then steps in reverse.
 *
 * This loop is the readable reference and runs on cpu and other backends; on the wasm backend the same
 * operations run as WebAssembly, four neurons per SIMD vector (wasm/lif-kernels.wat), bit for bit equal.
 */
export const lifAdjointKernel: TypedKernel<LifAdjointAttrs> = {
  name: 'S2PropLifAdjoint',
  inputNames: ['sIn', 's', 'D', 'e', 'W'],
  outputs([sInShape, , , , wShape], { wantEpsIn }) {
    return [
      { shape: wShape, dtype: 'float32' },
      { shape: wantEpsIn ? sInShape : [0], dtype: 'float32' },
    ];
  },
  computeWasm(heap, [sIn, s, D, e, W], [sInShape, , , , wShape], [G, epsIn], attrs) {
    const { alpha, beta, oneMinusAlpha, eps, tauSynSeconds, wantEpsIn } = attrs;
    const [B, T, Nin] = sInShape;
    const { neurons: N, perTrial } = trialLayout(B, wShape);
    const lists = heap.malloc(4 * (T + 1 + T * Nin));
    heap.kernels.lif_adjoint(sIn, s, D, e, W, G, epsIn, B, T, Nin, N, alpha, beta, oneMinusAlpha, eps, tauSynSeconds, wantEpsIn ? 1 : 0, lists, lists + 4 * (T + 1), perTrial);
    heap.free(lists);
  },
  compute([sIn, s, D, e, W], [sInShape, , , , wShape], [G, epsIn], attrs) {
    const { alpha, beta, oneMinusAlpha, eps, tauSynSeconds, wantEpsIn } = attrs;
    const [B, T, Nin] = sInShape;
    const { neurons: N, perTrial } = trialLayout(B, wShape);
    const inputs = new StepSpikeLists(T, Nin);
    const { start, index } = inputs;
    for (let b = 0; b < B; b++) {
      inputs.load(sIn, b);
      const w0 = Math.floor(b / perTrial) * Nin * N; // this sample's trial's weights and gradient
      for (let j = 0; j < N; j++) {
        let lamV = 0;
        let lamI = 0;
        for (let i = firstLiveStep(s, e, b, T, N, j); i >= 0; i--) {
          const next = (b * T + i + 1) * N + j; // s, D, e at step i+1
          const from = start[i];
          const to = start[i + 1];
          // 1. eps_in[i] = W . (lamV[i+1] - lamI[i+1]), for the inputs that spiked at step i.
          if (wantEpsIn && from < to) {
            const diff = fround(lamV - lamI);
            for (let q = from; q < to; q++) {
              const k = index[q];
              const o = (b * T + i) * Nin + k;
              epsIn[o] = fround(epsIn[o] + fround(W[w0 + k * N + j] * diff));
            }
          }
          // 2. lamI[i] = alpha*lamI[i+1] + (1-alpha)*lamV[i+1]
          const newLamI = fround(fround(alpha * lamI) + fround(oneMinusAlpha * lamV));
          // 3. lamV[i] = beta*lamV[i+1] + s[i+1]*(lamV[i+1] + e[i+1]) / (D[i+1] + eps)
          let newLamV = fround(beta * lamV);
          if (s[next] !== 0) newLamV = fround(newLamV + fround(fround(lamV + e[next]) / fround(D[next] + eps)));
          // both computed from the previous values, then flushed (|value| < FLT_MIN -> +0)
          lamI = Math.abs(newLamI) < FLT_MIN ? 0 : newLamI;
          lamV = Math.abs(newLamV) < FLT_MIN ? 0 : newLamV;
          // 4. G -= tauSyn * outer(s_in[i], lamI[i])
          if (from < to) {
            const g = fround(tauSynSeconds * lamI);
            for (let q = from; q < to; q++) {
              const o = w0 + index[q] * N + j;
              G[o] = fround(G[o] - g);
            }
          }
        }
      }
    }
  },
};

/**
 * The latest step i (counting down from T-2) at which neuron j of sample b receives an error at a spike
 * (s and e nonzero at step i+1); before it, in reverse time, its adjoint is exactly zero. -1 if none.
 */
function firstLiveStep(s: ArrayLike<number>, e: ArrayLike<number>, b: number, T: number, N: number, j: number): number {
  for (let i = T - 2; i >= 0; i--) {
    const next = (b * T + i + 1) * N + j;
    if (s[next] !== 0 && e[next] !== 0) return i;
  }
  return -1;
}
