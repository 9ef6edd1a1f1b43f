import type { TypedKernel } from './typed-kernel.js';

export interface LifForwardAttrs {
  alpha: number;
  beta: number;
  oneMinusBeta: number;
  threshold: number;
}

const f = Math.fround;

/**
 * The LIF forward recurrence of one layer over the whole window (eventprop.md, "Forward pass").
 *
 * inputs: sIn bool [B, T, Nin], W float32 [Nin, N]
 * outputs: s bool [B, T, N] (spikes), D float32 [B, T, N] (I - Vpre at spike steps, 0 elsewhere)
 *
 * Float32 arithmetic in the contract's order: every operation is rounded with Math.fround (exact float32
 * semantics, since a double result of a float32 +,-,*,/ rounds to the correctly rounded float32). The
 * synaptic input x is summed event by event, in ascending input index, in float32 starting from zero: the
 * order a PE adds the weights of the spikes it received, sorted by key. Only inputs that spiked are touched.
 */
export const lifForwardKernel: TypedKernel<LifForwardAttrs> = {
  name: 'S2PropLifForward',
  inputNames: ['sIn', 'W'],
  outputs([sInShape, wShape]) {
    const [B, T] = sInShape;
    const N = wShape[1];
    return [
      { shape: [B, T, N], dtype: 'bool' },
      { shape: [B, T, N], dtype: 'float32' },
    ];
  },
  compute([sIn, W], [sInShape, wShape], [s, D], { alpha, beta, oneMinusBeta, threshold }) {
    const [B, T, Nin] = sInShape;
    const N = wShape[1];
    const I = new Float32Array(N);
    const V = new Float32Array(N);
    const x = new Float32Array(N);
    for (let b = 0; b < B; b++) {
      I.fill(0);
      V.fill(0);
      for (let i = 1; i < T; i++) {
        // 1. x = s_in[i-1] . W, spikes only, ascending input index, float32 (the typed array rounds).
        x.fill(0);
        const inBase = (b * T + i - 1) * Nin;
        for (let k = 0; k < Nin; k++) {
          if (sIn[inBase + k] === 0) continue;
          const row = k * N;
          for (let j = 0; j < N; j++) x[j] += W[row + j];
        }
        const outBase = (b * T + i) * N;
        for (let j = 0; j < N; j++) {
          // 1. I = alpha*I + x;  2. V = beta*V + (1-beta)*I  (with the updated I)
          const Ij = f(f(alpha * I[j]) + x[j]);
          const Vj = f(f(beta * V[j]) + f(oneMinusBeta * Ij));
          I[j] = Ij;
          // 3.-5. Vpre = V; spike if V > theta (strict); reset to zero.
          if (Vj > threshold) {
            s[outBase + j] = 1;
            D[outBase + j] = f(Ij - Vj);
            V[j] = 0;
          } else {
            V[j] = Vj;
          }
        }
      }
    }
  },
};
