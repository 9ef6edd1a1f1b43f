import { describe, expect, it } from 'vitest';
import { FLT_MIN } from '../../src/numerics/flush.js';
import { lifCurrent, lifMembrane } from '../../src/numerics/lif.js';

const plusZero = (x: number) => Object.is(x, 0);

/** docs/contract.md, "Forward pass" and "The subnormal rule"; every expected value computed by hand. */
describe('one LIF step (hand calculations)', () => {
  it('I = f32(f32(alpha * I) + x): 0.5 * 1 + 0.25 = 0.75; alpha = f32(0.9), I = 1, x = 0 -> f32(0.9)', () => {
    expect(lifCurrent(0.5, 1, 0.25)).toBe(0.75);
    expect(lifCurrent(Math.fround(0.9), 1, 0)).toBe(Math.fround(0.9));
  });

  it('the sum is rounded to float32: 1 * 1 + 2^-30 -> 1 (2^-30 is below half an ulp of 1, 2^-24)', () => {
    expect(lifCurrent(1, 1, 2 ** -30)).toBe(1);
  });

  it('V = f32(f32(beta * V) + f32(oneMinusBeta * I)): 0.5 * 1 + 0.5 * 2 = 1.5; (1 + 2^-23)^2 rounds to 1 + 2^-22 before the add', () => {
    expect(lifMembrane(0.5, 0.5, 1, 2)).toBe(1.5);
    const a = 1 + 2 ** -23;
    expect(lifMembrane(0, a, 0, a)).toBe(1 + 2 ** -22);
  });

  it('stored values are flushed: 0.5 * 2^-126 = 2^-127 -> +0; -0 -> +0; 0.5 * 2^-125 = FLT_MIN stays; NaN stays', () => {
    expect(plusZero(lifCurrent(0.5, FLT_MIN, 0))).toBe(true);
    expect(plusZero(lifCurrent(1, -0, -0))).toBe(true);
    expect(lifCurrent(0.5, 2 ** -125, 0)).toBe(FLT_MIN);
    expect(lifCurrent(1, NaN, 0)).toBeNaN();
    expect(plusZero(lifMembrane(0.5, 0, FLT_MIN, 5))).toBe(true);
    expect(plusZero(lifMembrane(0, 0.5, 0, -FLT_MIN))).toBe(true);
    expect(lifMembrane(0, 0.5, 0, -(2 ** -125))).toBe(-FLT_MIN);
  });
});
