import { describe, expect, it } from 'vitest';
import { roundHalfEven } from '../../src/numerics/round.js';

describe('roundHalfEven (hand calculations)', () => {
  it('ties go to the even neighbour: 0.5, 1.5, 2.5, 3.5, 4.5 -> 0, 2, 2, 4, 4', () => {
    expect([0.5, 1.5, 2.5, 3.5, 4.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 4]);
  });

  it('negative ties to even too: -1.5, -2.5, -3.5 -> -2, -2, -4; -0.5 -> 0', () => {
    expect([-1.5, -2.5, -3.5].map(roundHalfEven)).toEqual([-2, -2, -4]);
    expect(Math.abs(roundHalfEven(-0.5))).toBe(0);
  });

  it('everything else to the nearest: 2.4999, 2.5001, -2.4999, -2.5001, 7, -7 -> 2, 3, -2, -3, 7, -7', () => {
    expect([2.4999, 2.5001, -2.4999, -2.5001, 7, -7].map(roundHalfEven)).toEqual([2, 3, -2, -3, 7, -7]);
  });

  it('exact ties near 2^52: 2^52 - 1.5 -> 2^52 - 2, 2^52 - 0.5 -> 2^52', () => {
    expect(roundHalfEven(2 ** 52 - 1.5)).toBe(2 ** 52 - 2);
    expect(roundHalfEven(2 ** 52 - 0.5)).toBe(2 ** 52);
  });
});
