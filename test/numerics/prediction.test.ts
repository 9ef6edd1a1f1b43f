import { describe, expect, it } from 'vitest';
import { predictedClass } from '../../src/numerics/prediction.js';

/** docs/contract.md: the prediction is the output that spikes first, ties to the lowest index; silent = T. */
describe('predictedClass (hand calculations)', () => {
  it('the earliest first spike wins: [9, 4, 7] -> 1', () => {
    expect(predictedClass([9, 4, 7])).toBe(1);
  });

  it('ties go to the lowest index: [5, 3, 3, 7] -> 1, [2, 2, 2] -> 0', () => {
    expect(predictedClass([5, 3, 3, 7])).toBe(1);
    expect(predictedClass([2, 2, 2])).toBe(0);
  });

  it('a silent neuron (T = 27) loses to a spike in the last step: [27, 26, 27] -> 1; all silent -> 0', () => {
    expect(predictedClass([27, 26, 27])).toBe(1);
    expect(predictedClass(Int32Array.from([27, 27, 27]))).toBe(0);
  });

  it('a slice of a batch [samples][outputs]: sample 1 of [[0, 1, 2], [8, 6, 6]] -> 1, ignoring the earlier sample', () => {
    const batch = Int32Array.from([0, 1, 2, 8, 6, 6]);
    expect(predictedClass(batch, 3, 3)).toBe(1);
    expect(predictedClass(batch, 0, 3)).toBe(0);
  });
});
