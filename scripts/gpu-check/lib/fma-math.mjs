// Host arithmetic of the FMA probe (fma-probe.mjs): float32 a * b + c rounded unfused and fused, and
// the probe's input triples.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The next float32 above (dir > 0) or below (dir < 0) a finite float32 x. */
function nextF32(x, dir) {
  if (x === 0) {
    u32[0] = 1;
    return dir > 0 ? f32[0] : -f32[0];
  }
  f32[0] = x;
  u32[0] += (x > 0) === (dir > 0) ? 1 : -1;
  return f32[0];
}

/**
 * a * b + c rounded once to float32 (round to nearest, ties to even). a * b of two float32 is exact in
 * double; the sum s = p + c is rounded to double d with error e = (p + c) - d exact (TwoSum). Rounding
 * d to float32 then differs from rounding the exact sum only when d lies exactly on the midpoint of two
 * float32 neighbours and e != 0 (a float32 midpoint is a double, and rounding to double is monotonic,
 * so it cannot carry the exact sum across a midpoint): then e decides the direction.
 */
export function fusedF32(a, b, c) {
  const p = a * b;
  const d = p + c;
  const bb = d - p;
  const e = p - (d - bb) + (c - bb);
  const r = Math.fround(d);
  if (e === 0 || r === d) return r;
  const lo = r < d ? r : nextF32(r, -1);
  const hi = r < d ? nextF32(r, 1) : r;
  if (d !== (lo + hi) / 2) return r;
  return e > 0 ? hi : lo;
}
export function unfusedF32(a, b, c) {
  return Math.fround(Math.fround(a * b) + c);
}

/** Triples where fused and unfused differ often: c cancels the rounded product, plus some noise. */
export function triples(N, seed = 12345) {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const a = new Float32Array(N);
  const b = new Float32Array(N);
  const c = new Float32Array(N);
  for (let k = 0; k < N; k++) {
    a[k] = (rand() < 0.5 ? -1 : 1) * (1 + rand()) * 2 ** Math.floor(rand() * 8 - 4);
    b[k] = (1 + rand()) * 2 ** Math.floor(rand() * 8 - 4);
    const p = Math.fround(a[k] * b[k]);
    // Half exact cancellation (unfused gives 0, fused the product's rounding error), half with noise
    // a few ulps to 2^-12 of the product.
    c[k] = k % 2 === 0 ? -p : Math.fround(-p + p * (rand() - 0.5) * 2 ** -(12 + Math.floor(rand() * 12)));
  }
  return { a, b, c };
}
