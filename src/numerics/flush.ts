/**
 * The subnormal rule of the numerical contract (docs/contract.md, "The subnormal rule"), shared by the tensor
 * engine, the optimisers, the chip simulator and the export: a float32 value is *flushed* when it is
 * replaced by +0 if |value| < 2^-126 (FLT_MIN), i.e. when it is subnormal (and -0 becomes +0).
 *
 * Flushed are the states every step (forward I, V; adjoint lamI, lamV), the optimiser's new W, m, v, and
 * weights wherever they enter an engine or a chip image. Intermediate products and sums are not.
 *
 * This module imports nothing, so both the engine and the chip simulator (which never imports the engine)
 * may use it.
 */

/** The smallest normal float32, 2^-126 = 1.17549435e-38. */
export const FLT_MIN = 2 ** -126;

/** +0 for |x| < FLT_MIN (subnormal or ±0), else x unchanged (NaN and infinities too). */
export function flushSubnormal(x: number): number {
  return Math.abs(x) < FLT_MIN ? 0 : x;
}

/**
 * The same rule in a scaled domain: +0 for |x| < `below`, else x. A chip layer with quantised weights
 * keeps its states divided by 2^exp, so it flushes below 2^(-126 - exp): exactly the engine's values that
 * are below FLT_MIN.
 */
export function flushBelow(x: number, below: number): number {
  return Math.abs(x) < below ? 0 : x;
}

/** Flush every element of a float array in place; returns it. */
export function flushSubnormalsInPlace<A extends { length: number; [i: number]: number }>(a: A): A {
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]) < FLT_MIN) a[i] = 0;
  return a;
}

/** Nested weight arrays [layer][input][output] with every value rounded to float32 and flushed (a copy). */
export function flushWeights(layers: readonly (readonly (readonly number[])[])[]): number[][][] {
  return layers.map((w) => w.map((row) => row.map((x) => flushSubnormal(Math.fround(x)))));
}

/** How many values of nested weight arrays are float32 subnormals (nonzero, |w| < FLT_MIN after rounding). */
export function countSubnormals(layers: readonly (readonly (readonly number[])[])[]): number {
  let n = 0;
  for (const w of layers) for (const row of w) for (const x of row) {
    const f = Math.fround(x);
    if (f !== 0 && Math.abs(f) < FLT_MIN) n++;
  }
  return n;
}
