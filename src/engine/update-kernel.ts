import { flushSubnormal as flush } from '../numerics/flush.js';
import type { TypedKernel } from './typed-kernel.js';

/**
 * Per-trial numbers of one optimiser update, each already rounded to float32 (as a scalar operand of a
 * float32 tensor op is). One entry per trial of the stack.
 */
export interface UpdateAttrs {
  type: 'adam' | 'sgd';
  weightDecay: number[];
  lr: number[];
  /** Adam */
  beta1: number[];
  oneMinusBeta1: number[];
  beta2: number[];
  oneMinusBeta2: number[];
  /** Adam's bias corrections 1 - beta^t of each trial's own step count t. */
  biasCorrection1: number[];
  biasCorrection2: number[];
  eps: number[];
  /** SGD */
  momentum: number[];
}

const fround = Math.fround;

/**
 * One optimiser update of a layer of K stacked trials, in one kernel call (docs/contract.md, "Optimiser"):
 * Adam (PyTorch's formulation) or SGD with momentum, with L2 weight decay added to the gradient first.
 * The float32 operations of `Optimiser` (train/optimiser.ts, tensor ops), in its order, element by
 * element, each rounded: trial k's update is bit for bit the one `Optimiser` makes for it alone.
 * The new W, m and v are flushed to +0 where subnormal (numerics/flush.ts), as `Optimiser` flushes them.
 *
 * inputs: W, G, m, v float32 [K, Nin, N] (v: [0] for SGD)
 * outputs: new W, new m, new v (v: [0] for SGD)
 */
export const updateKernel: TypedKernel<UpdateAttrs> = {
  name: 'S2PropStackedUpdate',
  inputNames: ['W', 'G', 'm', 'v'],
  outputs([wShape], { type }) {
    return [
      { shape: wShape, dtype: 'float32' },
      { shape: wShape, dtype: 'float32' },
      { shape: type === 'adam' ? wShape : [0], dtype: 'float32' },
    ];
  },
  compute([W, G, M, V], [wShape], [newW, newM, newV], a) {
    const K = wShape[0];
    const size = wShape[1] * wShape[2];
    for (let k = 0; k < K; k++) {
      const wd = a.weightDecay[k];
      const lr = a.lr[k];
      const end = (k + 1) * size;
      if (a.type === 'sgd') {
        const mom = a.momentum[k];
        for (let i = k * size; i < end; i++) {
          const g = wd > 0 ? fround(G[i] + fround(W[i] * wd)) : G[i];
          const buf = fround(fround(M[i] * mom) + g);
          newM[i] = flush(buf);
          newW[i] = flush(fround(W[i] - fround(buf * lr)));
        }
        continue;
      }
      const b1 = a.beta1[k], omb1 = a.oneMinusBeta1[k], b2 = a.beta2[k], omb2 = a.oneMinusBeta2[k];
      const bc1 = a.biasCorrection1[k], bc2 = a.biasCorrection2[k], eps = a.eps[k];
      for (let i = k * size; i < end; i++) {
        const g = wd > 0 ? fround(G[i] + fround(W[i] * wd)) : G[i];
        const m = fround(fround(M[i] * b1) + fround(g * omb1));
        const v = fround(fround(V[i] * b2) + fround(fround(g * g) * omb2));
        const mHat = fround(m / bc1);
        const vHat = fround(v / bc2);
        newM[i] = flush(m);
        newV[i] = flush(v);
        newW[i] = flush(fround(W[i] - fround(fround(mHat / fround(fround(Math.sqrt(vHat)) + eps)) * lr)));
      }
    }
  },
};
