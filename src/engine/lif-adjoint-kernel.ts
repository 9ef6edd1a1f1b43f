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

const f = Math.fround;

/**
 * The adjoint recurrence of one layer in reverse time (eventprop.md, "Backward pass"), with the weight
 * gradient and the errors sent to the previous layer computed only where input spikes were — which is
 * all EventProp ever needs (errors travel only where spikes were).
 *
 * inputs: sIn bool [B, T, Nin], s bool [B, T, N], D float32 [B, T, N], e float32 [B, T, N], W [Nin, N]
 * outputs: G float32 [Nin, N] (summed over the batch), epsIn float32 [B, T, Nin] ([0] if not wanted)
 *
 * Float32, every operation rounded, in the contract's order; dot products in ascending neuron index;
 * G accumulates sample by sample, step by step in reverse, in ascending input index.
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
  compute([sIn, s, D, e, W], [sInShape, , , , wShape], [G, epsIn], attrs) {
    const { alpha, beta, oneMinusAlpha, eps, tauSynSeconds, wantEpsIn } = attrs;
    const [B, T, Nin] = sInShape;
    const N = wShape[1];
    const lamV = new Float32Array(N);
    const lamI = new Float32Array(N);
    const diff = new Float32Array(N);
    for (let b = 0; b < B; b++) {
      lamV.fill(0);
      lamI.fill(0);
      // Until the first error arrives (in reverse time) the adjoint is exactly zero: skip that stretch.
      let live = false;
      for (let i = T - 2; i >= 0; i--) {
        const next = (b * T + i + 1) * N; // s, D, e at step i+1
        const inBase = (b * T + i) * Nin; // input spikes at step i
        if (!live) {
          for (let j = 0; j < N; j++) {
            if (s[next + j] !== 0 && e[next + j] !== 0) {
              live = true;
              break;
            }
          }
          if (!live) continue;
        }
        // 1. eps_in[i] = W . (lamV[i+1] - lamI[i+1]), for the inputs that spiked at step i.
        if (wantEpsIn) {
          let diffReady = false;
          for (let k = 0; k < Nin; k++) {
            if (sIn[inBase + k] === 0) continue;
            if (!diffReady) {
              for (let j = 0; j < N; j++) diff[j] = lamV[j] - lamI[j];
              diffReady = true;
            }
            const row = k * N;
            let acc = 0;
            for (let j = 0; j < N; j++) acc = f(acc + f(W[row + j] * diff[j]));
            epsIn[inBase + k] = acc;
          }
        }
        for (let j = 0; j < N; j++) {
          const lv = lamV[j];
          // 2. lamI[i] = alpha*lamI[i+1] + (1-alpha)*lamV[i+1]
          lamI[j] = f(f(alpha * lamI[j]) + f(oneMinusAlpha * lv));
          // 3. lamV[i] = beta*lamV[i+1] + s[i+1]*(lamV[i+1] + e[i+1]) / (D[i+1] + eps)
          let v = f(beta * lv);
          if (s[next + j] !== 0) v = f(v + f(f(lv + e[next + j]) / f(D[next + j] + eps)));
          lamV[j] = v;
        }
        // 4. G -= tauSyn * outer(s_in[i], lamI[i])   (the typed array rounds each store to float32)
        for (let k = 0; k < Nin; k++) {
          if (sIn[inBase + k] === 0) continue;
          const row = k * N;
          for (let j = 0; j < N; j++) G[row + j] -= f(tauSynSeconds * lamI[j]);
        }
      }
    }
  },
};
