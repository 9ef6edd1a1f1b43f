/**
 * What `s2prop grad` (the tensor engine) and `s2prop chip-grad` (the on-chip programs) write for one batch
 * file: the same JSON, so that the two can be compared entry by entry.
 */
export interface GradientReport {
  /** Mean over the batch of the cross-entropy and regulariser terms. */
  loss: number;
  /** [sample][output neuron], T when silent. */
  firstSpikes: number[][];
  /** dL/dW per layer, laid out [inputs][outputs]. */
  grads: number[][][];
  /** Spikes per layer [sample][step][neuron] (hidden layers, then output), when asked for. */
  spikes?: number[][][][];
}
