/**
 * Round half to even: the rounding of numpy's `round` and of a Cortex-M4F VCVTR in its default mode, used
 * by the input encoding (data/encoding.ts) and by quantisation (quant/).
 * Independent copies on purpose: the chip simulator's input program (chip/sim/programs/input.ts) and the
 * test's reference quantiser (test/quant/calibrated-rounding.test.ts).
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round takes .5 up; an odd result of an exact tie goes back down to the even neighbour.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
