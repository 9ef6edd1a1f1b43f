/**
 * Stacked trials: several networks of the same shape run in one kernel call. Their weights are stacked
 * along a leading trial axis, [K, Nin, N] (a plain [Nin, N] matrix is one trial), and the batch holds the
 * trials' samples one trial after another: sample b belongs to trial floor(b / (B / K)). Every trial
 * computes exactly what it would compute alone; only the weights and gradients it uses move.
 */
export interface TrialLayout {
  /** K: weight matrices stacked (1 for a plain matrix). */
  trials: number;
  /** Samples of each trial in the batch (B / K). */
  perTrial: number;
  inputs: number;
  neurons: number;
}

/** The layout of a batch of `batch` samples run with weights of shape `wShape` ([Nin, N] or [K, Nin, N]). */
export function trialLayout(batch: number, wShape: number[]): TrialLayout {
  const trials = wShape.length === 3 ? wShape[0] : 1;
  if (wShape.length !== 2 && wShape.length !== 3) throw new Error(`weights of rank ${wShape.length}: expected [Nin, N] or [K, Nin, N]`);
  if (trials < 1 || batch % trials !== 0) throw new Error(`a batch of ${batch} samples does not split into ${trials} trials`);
  return { trials, perTrial: batch / trials, inputs: wShape[wShape.length - 2], neurons: wShape[wShape.length - 1] };
}
