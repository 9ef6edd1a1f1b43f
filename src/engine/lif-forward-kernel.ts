import { StepSpikeLists } from './spike-lists.js';
import type { TypedKernel } from './typed-kernel.js';

export interface LifForwardAttrs {
  alpha: number;
  beta: number;
  oneMinusBeta: number;
  threshold: number;
}

const fround = Math.fround;

/**
 * The LIF forward recurrence of one layer over the whole window (eventprop.md, "Forward pass").
 *
 * inputs: sIn bool [B, T, Nin], W float32 [Nin, N]
 * outputs: s bool [B, T, N] (spikes), D float32 [B, T, N] (I - Vpre at spike steps, 0 elsewhere)
 *
 * Float32 arithmetic in the contract's order: every operation is rounded with Math.fround (exact float32
 * semantics: a double result of float32 +, -, *, / rounds to the correctly rounded float32). The
 * synaptic input x is summed event by event, in ascending input index, in float32 starting from zero:
 * the order a PE adds the weights of the spikes it received, sorted by key. Only inputs that spiked are
 * touched, and the loop runs neuron by neuron so that I and V stay in registers.
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
  computeWasm(heap, [sIn, W], [sInShape, wShape], [s, D], { alpha, beta, oneMinusBeta, threshold }) {
    const [B, T, Nin] = sInShape;
    const lists = heap.malloc(4 * (T + 1 + T * Nin));
    heap.kernels.lif_forward(sIn, W, s, D, B, T, Nin, wShape[1], alpha, beta, oneMinusBeta, threshold, lists, lists + 4 * (T + 1));
    heap.free(lists);
  },
  compute([sIn, W], [sInShape, wShape], [s, D], { alpha, beta, oneMinusBeta, threshold }) {
    const [B, T, Nin] = sInShape;
    const N = wShape[1];
    const inputs = new StepSpikeLists(T, Nin);
    const { start, index } = inputs;
    for (let b = 0; b < B; b++) {
      inputs.load(sIn, b);
      let j = 0;
      // Four neurons at a time: four independent dependency chains keep the CPU's pipelines busy
      // (each neuron's own chain of rounded operations is latency-bound). Same operations, same order.
      for (; j + 4 <= N; j += 4) {
        let I0 = 0, I1 = 0, I2 = 0, I3 = 0;
        let V0 = 0, V1 = 0, V2 = 0, V3 = 0;
        for (let i = 1; i < T; i++) {
          let x0 = 0, x1 = 0, x2 = 0, x3 = 0;
          for (let q = start[i - 1], end = start[i]; q < end; q++) {
            const w = index[q] * N + j;
            x0 = fround(x0 + W[w]);
            x1 = fround(x1 + W[w + 1]);
            x2 = fround(x2 + W[w + 2]);
            x3 = fround(x3 + W[w + 3]);
          }
          I0 = fround(fround(alpha * I0) + x0);
          I1 = fround(fround(alpha * I1) + x1);
          I2 = fround(fround(alpha * I2) + x2);
          I3 = fround(fround(alpha * I3) + x3);
          V0 = fround(fround(beta * V0) + fround(oneMinusBeta * I0));
          V1 = fround(fround(beta * V1) + fround(oneMinusBeta * I1));
          V2 = fround(fround(beta * V2) + fround(oneMinusBeta * I2));
          V3 = fround(fround(beta * V3) + fround(oneMinusBeta * I3));
          const o = (b * T + i) * N + j;
          if (V0 > threshold) (s[o] = 1), (D[o] = fround(I0 - V0)), (V0 = 0);
          if (V1 > threshold) (s[o + 1] = 1), (D[o + 1] = fround(I1 - V1)), (V1 = 0);
          if (V2 > threshold) (s[o + 2] = 1), (D[o + 2] = fround(I2 - V2)), (V2 = 0);
          if (V3 > threshold) (s[o + 3] = 1), (D[o + 3] = fround(I3 - V3)), (V3 = 0);
        }
      }
      for (; j < N; j++) {
        let I = 0;
        let V = 0;
        for (let i = 1; i < T; i++) {
          // 1. I = alpha*I + s_in[i-1] . W   (x summed over the inputs that spiked at i-1, ascending)
          let x = 0;
          for (let q = start[i - 1], end = start[i]; q < end; q++) x = fround(x + W[index[q] * N + j]);
          I = fround(fround(alpha * I) + x);
          // 2. V = beta*V + (1-beta)*I   (with the updated I)
          V = fround(fround(beta * V) + fround(oneMinusBeta * I));
          // 3.-5. Vpre = V; spike if V > theta (strict); keep D = I - Vpre; reset to zero.
          if (V > threshold) {
            const o = (b * T + i) * N + j;
            s[o] = 1;
            D[o] = fround(I - V);
            V = 0;
          }
        }
      }
    }
  },
};
