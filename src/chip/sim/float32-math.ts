/**
 * The float32 exp and log routines of the on-chip loss program (Cephes expf/logf, single precision):
 * every operation rounded to float32 in the order written, as the Cortex-M4F computes them, so that the
 * simulator and a C build of the same routine agree bit for bit. Accurate to about 2 ulp over the range
 * the loss uses; the off-chip engine uses double precision here, which the gradient tolerance allows.
 */
const f = Math.fround;

const LOG2E = f(1.44269504088896341);
const C1 = f(0.693359375);
const C2 = f(-2.12194440e-4);
const EXP_POLY = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1].map(f);

/** exp(x) in float32: x = n ln2 + r (Cody-Waite), a degree-6 polynomial in r, then scaling by 2^n (exact). */
export function expf(x: number): number {
  x = f(x);
  if (x > 88.7228) return Infinity;
  if (x < -103.97) return 0;
  const n = Math.floor(f(f(LOG2E * x) + 0.5));
  let r = f(x - f(n * C1));
  r = f(r - f(n * C2));
  const r2 = f(r * r);
  let p = EXP_POLY[0];
  for (let i = 1; i < EXP_POLY.length; i++) p = f(f(p * r) + EXP_POLY[i]);
  const y = f(f(f(p * r2) + r) + 1);
  return f(y * 2 ** n);
}

const SQRTHF = f(0.707106781186547524);
const LOG_POLY = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1].map(f);

/** log(x) in float32 for x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), a degree-9 polynomial in m - 1. */
export function logf(x: number): number {
  x = f(x);
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  if (x === Infinity) return Infinity;
  let e = Math.floor(Math.log2(x));
  let m = f(x / 2 ** e); // exact: a power-of-two scaling, m in [1, 2)
  if (m > 2) {
    m = f(m / 2);
    e += 1;
  } else if (m < 1) {
    m = f(m * 2);
    e -= 1;
  }
  m = f(m / 2); // [0.5, 1)
  e += 1;
  if (m < SQRTHF) {
    e -= 1;
    m = f(f(m + m) - 1);
  } else {
    m = f(m - 1);
  }
  const z = f(m * m);
  let p = LOG_POLY[0];
  for (let i = 1; i < LOG_POLY.length; i++) p = f(f(p * m) + LOG_POLY[i]);
  let y = f(f(p * m) * z);
  y = f(y + f(e * C2));
  y = f(y - f(0.5 * z));
  return f(f(m + y) + f(e * C1));
}
