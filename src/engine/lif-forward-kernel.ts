import { lifCurrent, lifMembrane, type LifConstants } from '../numerics/lif.js';
import { StepSpikeLists } from './spike-lists.js';
import { trialLayout } from './trial-axis.js';
import type { TypedKernel } from './typed-kernel.js';

const fround = Math.fround;

/**
 * The LIF forward recurrence of one layer over the whole window (docs/contract.md, "Forward pass").
 *
 * inputs: sIn bool [B, T, Nin], W float32 [Nin, N], or [K, Nin, N] for K stacked trials (trial-axis.ts:
 *         sample b runs with W[floor(b / (B / K))])
 * outputs: s bool [B, T, N] (spikes), D float32 [B, T, N] (I - Vpre at spike steps, 0 elsewhere)
 *
 * Float32 arithmetic in the contract's order: every operation is rounded with Math.fround (exact float32
 * semantics: a double result of float32 +, -, *, / rounds to the correctly rounded float32). The
 * synaptic input x is summed event by event, in ascending input index, in float32 starting from zero:
 * the order a PE adds the weights of the spikes it received, sorted by key. Only inputs that spiked are
 * touched, and the loop runs neuron by neuron so that I and V stay in registers. The step itself is
 * numerics/lif.ts, shared with calibrated rounding: the new I and V of every step are flushed to +0 when
 * subnormal (numerics/flush.ts); intermediate products and x are not.
 *
 * This loop is the readable reference and runs on cpu and other backends; on the wasm backend the same
 * operations run as WebAssembly, four neurons per SIMD vector (wasm/lif-kernels.wat), bit for bit equal.
 */
export const lifForwardKernel: TypedKernel<LifConstants> = {
  name: 'S2PropLifForward',
  inputNames: ['sIn', 'W'],
  outputs([sInShape, wShape]) {
    const [B, T] = sInShape;
    const N = trialLayout(B, wShape).neurons;
    return [
      { shape: [B, T, N], dtype: 'bool' },
      { shape: [B, T, N], dtype: 'float32' },
    ];
  },
  computeWasm(heap, [sIn, W], [sInShape, wShape], [s, D], { alpha, beta, oneMinusBeta, threshold }) {
    const [B, T, Nin] = sInShape;
    const { neurons: N, perTrial } = trialLayout(B, wShape);
    const lists = heap.malloc(4 * (T + 1 + T * Nin));
    heap.kernels.lif_forward(sIn, W, s, D, B, T, Nin, N, alpha, beta, oneMinusBeta, threshold, lists, lists + 4 * (T + 1), perTrial);
    heap.free(lists);
  },
  compute([sIn, W], [sInShape, wShape], [s, D], { alpha, beta, oneMinusBeta, threshold }) {
    const [B, T, Nin] = sInShape;
    const { neurons: N, perTrial } = trialLayout(B, wShape);
    const inputs = new StepSpikeLists(T, Nin);
    const { start, index } = inputs;
    for (let b = 0; b < B; b++) {
      inputs.load(sIn, b);
      const w0 = Math.floor(b / perTrial) * Nin * N; // this sample's trial's weights
      for (let j = 0; j < N; j++) {
        let I = 0;
        let V = 0;
        for (let i = 1; i < T; i++) {
          // 1. I = alpha*I + s_in[i-1] . W   (x summed over the inputs that spiked at i-1, ascending)
          let x = 0;
          for (let q = start[i - 1], end = start[i]; q < end; q++) x = fround(x + W[w0 + index[q] * N + j]);
          // I and V are flushed (|value| < FLT_MIN -> +0) as each step stores them; x is not.
          I = lifCurrent(alpha, I, x);
          // 2. V = beta*V + (1-beta)*I   (with the updated, flushed I)
          V = lifMembrane(beta, oneMinusBeta, V, I);
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
