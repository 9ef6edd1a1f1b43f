import { StepSpikeLists } from './spike-lists.js';
import type { TypedKernel } from './typed-kernel.js';

export interface LifAdjointAttrs {
  alpha: number;
  beta: number;
  oneMinusAlpha: number;
  eps: number;
  tauSynSeconds: number;
  /** Whether to compute the errors for the previous layer (not needed for the first layer). */
  wantEpsIn: boolean;
}

const fround = Math.fround;

/**
 * The adjoint recurrence of one layer in reverse time (eventprop.md, "Backward pass"), with the weight
 * gradient and the errors sent to the previous layer computed only where input spikes were — which is
 * all EventProp ever needs (errors travel only where spikes were).
 *
 * inputs: sIn bool [B, T, Nin], s bool [B, T, N], D float32 [B, T, N], e float32 [B, T, N], W [Nin, N]
 * outputs: G float32 [Nin, N] (summed over the batch), epsIn float32 [B, T, Nin] ([0] if not wanted)
 *
 * Float32, every operation rounded, in the contract's order. A neuron's adjoint depends only on its own
 * errors, so the loop runs neuron by neuron (lamV, lamI in registers) and skips the stretch before its
 * first error in reverse time, where the adjoint is exactly zero. Accumulation orders, fixed: eps_in sums
 * over neurons in ascending index; G sums over samples, then steps in reverse.
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
    const lists = heap.malloc(4 * (T + 1 + T * Nin));
    heap.kernels.lif_adjoint(sIn, s, D, e, W, G, epsIn, B, T, Nin, wShape[1], alpha, beta, oneMinusAlpha, eps, tauSynSeconds, wantEpsIn ? 1 : 0, lists, lists + 4 * (T + 1));
    heap.free(lists);
  },
  compute([sIn, s, D, e, W], [sInShape, , , , wShape], [G, epsIn], attrs) {
    const { alpha, beta, oneMinusAlpha, eps, tauSynSeconds, wantEpsIn } = attrs;
    const [B, T, Nin] = sInShape;
    const N = wShape[1];
    const inputs = new StepSpikeLists(T, Nin);
    const { start, index } = inputs;
    for (let b = 0; b < B; b++) {
      inputs.load(sIn, b);
      let j = 0;
      // Four neurons at a time (independent dependency chains; see the forward kernel), starting at the
      // latest first error of the four: a lane that is not live yet computes exact zeros, so the result
      // is the same as neuron by neuron.
      for (; j + 4 <= N; j += 4) {
        let i = firstLiveStep(s, e, b, T, N, j, 4);
        let lamV0 = 0, lamV1 = 0, lamV2 = 0, lamV3 = 0;
        let lamI0 = 0, lamI1 = 0, lamI2 = 0, lamI3 = 0;
        for (; i >= 0; i--) {
          const next = (b * T + i + 1) * N + j;
          const from = start[i];
          const to = start[i + 1];
          if (wantEpsIn && from < to) {
            const d0 = fround(lamV0 - lamI0), d1 = fround(lamV1 - lamI1), d2 = fround(lamV2 - lamI2), d3 = fround(lamV3 - lamI3);
            for (let q = from; q < to; q++) {
              const k = index[q];
              const o = (b * T + i) * Nin + k;
              const w = k * N + j;
              let acc = epsIn[o];
              acc = fround(acc + fround(W[w] * d0));
              acc = fround(acc + fround(W[w + 1] * d1));
              acc = fround(acc + fround(W[w + 2] * d2));
              epsIn[o] = fround(acc + fround(W[w + 3] * d3));
            }
          }
          const nI0 = fround(fround(alpha * lamI0) + fround(oneMinusAlpha * lamV0));
          const nI1 = fround(fround(alpha * lamI1) + fround(oneMinusAlpha * lamV1));
          const nI2 = fround(fround(alpha * lamI2) + fround(oneMinusAlpha * lamV2));
          const nI3 = fround(fround(alpha * lamI3) + fround(oneMinusAlpha * lamV3));
          let nV0 = fround(beta * lamV0), nV1 = fround(beta * lamV1), nV2 = fround(beta * lamV2), nV3 = fround(beta * lamV3);
          if (s[next] !== 0) nV0 = fround(nV0 + fround(fround(lamV0 + e[next]) / fround(D[next] + eps)));
          if (s[next + 1] !== 0) nV1 = fround(nV1 + fround(fround(lamV1 + e[next + 1]) / fround(D[next + 1] + eps)));
          if (s[next + 2] !== 0) nV2 = fround(nV2 + fround(fround(lamV2 + e[next + 2]) / fround(D[next + 2] + eps)));
          if (s[next + 3] !== 0) nV3 = fround(nV3 + fround(fround(lamV3 + e[next + 3]) / fround(D[next + 3] + eps)));
          lamI0 = nI0; lamI1 = nI1; lamI2 = nI2; lamI3 = nI3;
          lamV0 = nV0; lamV1 = nV1; lamV2 = nV2; lamV3 = nV3;
          if (from < to) {
            const g0 = fround(tauSynSeconds * lamI0), g1 = fround(tauSynSeconds * lamI1);
            const g2 = fround(tauSynSeconds * lamI2), g3 = fround(tauSynSeconds * lamI3);
            for (let q = from; q < to; q++) {
              const o = index[q] * N + j;
              G[o] = fround(G[o] - g0);
              G[o + 1] = fround(G[o + 1] - g1);
              G[o + 2] = fround(G[o + 2] - g2);
              G[o + 3] = fround(G[o + 3] - g3);
            }
          }
        }
      }
      for (; j < N; j++) {
        let lamV = 0;
        let lamI = 0;
        for (let i = firstLiveStep(s, e, b, T, N, j, 1); i >= 0; i--) {
          const next = (b * T + i + 1) * N + j; // s, D, e at step i+1
          const from = start[i];
          const to = start[i + 1];
          // 1. eps_in[i] = W . (lamV[i+1] - lamI[i+1]), for the inputs that spiked at step i.
          if (wantEpsIn && from < to) {
            const diff = fround(lamV - lamI);
            for (let q = from; q < to; q++) {
              const k = index[q];
              const o = (b * T + i) * Nin + k;
              epsIn[o] = fround(epsIn[o] + fround(W[k * N + j] * diff));
            }
          }
          // 2. lamI[i] = alpha*lamI[i+1] + (1-alpha)*lamV[i+1]
          const newLamI = fround(fround(alpha * lamI) + fround(oneMinusAlpha * lamV));
          // 3. lamV[i] = beta*lamV[i+1] + s[i+1]*(lamV[i+1] + e[i+1]) / (D[i+1] + eps)
          let newLamV = fround(beta * lamV);
          if (s[next] !== 0) newLamV = fround(newLamV + fround(fround(lamV + e[next]) / fround(D[next] + eps)));
          lamI = newLamI;
          lamV = newLamV;
          // 4. G -= tauSyn * outer(s_in[i], lamI[i])
          if (from < to) {
            const g = fround(tauSynSeconds * lamI);
            for (let q = from; q < to; q++) {
              const o = index[q] * N + j;
              G[o] = fround(G[o] - g);
            }
          }
        }
      }
    }
  },
};

/**
 * The latest step i (counting down from T-2) at which any of neurons j..j+width-1 of sample b receives
 * an error at a spike (s and e nonzero at step i+1); before it in reverse time the adjoint is zero.
 * -1 when there is none.
 */
function firstLiveStep(s: ArrayLike<number>, e: ArrayLike<number>, b: number, T: number, N: number, j: number, width: number): number {
  for (let i = T - 2; i >= 0; i--) {
    const next = (b * T + i + 1) * N + j;
    for (let l = 0; l < width; l++) if (s[next + l] !== 0 && e[next + l] !== 0) return i;
  }
  return -1;
}
