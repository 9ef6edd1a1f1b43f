import type { LifConstants } from '../numerics/lif.js';

/** LIF neuron settings as stored in the model file (times in milliseconds). */
export interface NeuronSettings {
  dtMs: number;
  tauMemMs: number;
  tauSynMs: number;
  threshold: number;
}

/**
 * The float32 constants every implementation uses (docs/contract.md, "Parameters"): each is computed in
 * double precision and rounded once to float32. `oneMinusAlpha` (the adjoint's `1 - alpha`) follows the
 * same rule; `eps` is the 1e-10 guard of the lamV jump, also as float32.
 */
export interface NeuronConstants extends LifConstants {
  oneMinusAlpha: number;
  tauSynSeconds: number;
  eps: number;
}

/** The constants of the adjoint recurrence and the weight gradient. */
export type AdjointConstants = Pick<NeuronConstants, 'alpha' | 'beta' | 'oneMinusAlpha' | 'eps' | 'tauSynSeconds'>;

export function neuronConstants(n: NeuronSettings): NeuronConstants {
  const alpha64 = Math.exp(-n.dtMs / n.tauSynMs);
  const beta64 = Math.exp(-n.dtMs / n.tauMemMs);
  return {
    alpha: Math.fround(alpha64),
    beta: Math.fround(beta64),
    oneMinusBeta: Math.fround(1 - beta64),
    oneMinusAlpha: Math.fround(1 - alpha64),
    threshold: Math.fround(n.threshold),
    tauSynSeconds: Math.fround(n.tauSynMs / 1000),
    eps: Math.fround(1e-10),
  };
}
