/**
 * Tests of the oracle itself, against values derived by hand from shared/reference/docs/contract.md.
 * Decimal values in the comments were worked out by hand (then re-checked with a calculator, and are
 * only asserted to ~6-7 significant digits);
 * the exact checks re-derive the same quantities with explicit Math.fround / float64 expressions.
 */
import { describe, expect, it } from 'vitest';
import {
  backwardLayer,
  float32,
  forwardLayer,
  oracleRun,
  ttfsLoss,
  type OracleLoss,
  type OracleNet,
} from './eventprop-oracle.js';

const f = Math.fround;
// Defaults: dt = 1 ms, tauSyn = 5 ms, tauMem = 20 ms; each computed in double, rounded once.
const ALPHA = f(Math.exp(-1 / 5)); //        0.8187307715415955
const BETA = f(Math.exp(-1 / 20)); //        0.951229453086853
const ONE_MINUS_BETA = f(1 - Math.exp(-1 / 20)); // 0.04877057671546936
const ONE_MINUS_ALPHA = 1 - ALPHA; // float64: 0.18126922845840454
const TAU = 0.005; // tauSynSeconds

const LOSS: OracleLoss = { xi: 1.5, alpha: 0.01, tau1: 100 };

function net(weights: number[][][], steps: number, threshold = 1): OracleNet {
  return { weights, steps, alpha: ALPHA, beta: BETA, oneMinusBeta: ONE_MINUS_BETA, threshold, tauSynMs: 5 };
}

/** Relative comparison for float64 quantities that are computed along a different route. */
function expectRel(actual: number, expected: number, rel = 1e-12): void {
  const scale = Math.max(Math.abs(expected), 1e-300);
  expect(Math.abs(actual - expected) / scale, `actual ${actual} expected ${expected}`).toBeLessThanOrEqual(rel);
}

function raster(steps: number, n: number, spikes: [number, number][]): number[][] {
  const r: number[][] = [];
  for (let i = 0; i < steps; i++) r.push(new Array(n).fill(0));
  for (const [k, i] of spikes) r[i][k] = 1;
  return r;
}

describe('float32 constants', () => {
  it('match the contract values', () => {
    expect(float32(0.1)).toBe(Math.fround(0.1));
    expect(ALPHA).toBeCloseTo(0.8187308, 7);
    expect(BETA).toBeCloseTo(0.9512295, 7);
    expect(ONE_MINUS_BETA).toBeCloseTo(0.0487706, 7);
    // oneMinusBeta is 1 - beta done in double then rounded, not fround(1 - BETA) recomputed from float32
    expect(ONE_MINUS_BETA).toBe(f(1 - Math.exp(-0.05)));
  });
});

describe('forwardLayer: one input, one neuron', () => {
  it('reproduces the hand-computed I/V sequence, spike step and D for w = 10', () => {
    // Input spike at step 0 -> current at step 1 (one step of delay).
    // i=1: I = 0*alpha + 10 = 10;           V = 0 + 0.0487706*10            = 0.4877058
    // i=2: I = 0.8187308*10 = 8.187307;      V = 0.9512295*0.4877058 + 0.0487706*8.187307 = 0.4639198 + 0.3993000 = 0.8632198
    // i=3: I = 0.8187308*8.187307 = 6.703200; V = 0.9512295*0.8632198 + 0.0487706*6.703200 = 0.8211198 + 0.3269193 = 1.1480391 > 1 -> spike
    //      D = I - Vpre = 6.703200 - 1.148039 = 5.555161; V reset to 0
    // i=4: I = 0.8187308*6.703200 = 5.488116; V = 0 + 0.0487706*5.488116 = 0.2676586
    // i=5: I = 4.493289;                     V = 0.9512295*0.2676586 + 0.0487706*4.493289 = 0.2546045 + 0.2191406 = 0.4737451
    const T = 6;
    const res = forwardLayer(raster(T, 1, [[0, 0]]), [[10]], T, ALPHA, BETA, ONE_MINUS_BETA, 1);

    const handI = [0, 10, 8.187307, 6.7032, 5.488116, 4.493289];
    const handVpre = [0, 0.4877058, 0.8632198, 1.1480391, 0.2676586, 0.4737451];
    for (let i = 0; i < T; i++) {
      expect(res.I[i][0]).toBeCloseTo(handI[i], 5);
      expect(res.Vpre[i][0]).toBeCloseTo(handVpre[i], 6);
    }
    expect(res.spikes.map((r) => r[0])).toEqual([0, 0, 0, 1, 0, 0]);
    expect(res.D[3][0]).toBeCloseTo(5.555161, 5);

    // Exact float32 emulation, operation by operation, in the contract's order.
    const I1 = f(f(ALPHA * 0) + 10);
    const V1 = f(f(BETA * 0) + f(ONE_MINUS_BETA * I1));
    const I2 = f(f(ALPHA * I1) + 0);
    const V2 = f(f(BETA * V1) + f(ONE_MINUS_BETA * I2));
    const I3 = f(f(ALPHA * I2) + 0);
    const V3 = f(f(BETA * V2) + f(ONE_MINUS_BETA * I3));
    const I4 = f(f(ALPHA * I3) + 0);
    const V4 = f(f(BETA * 0) + f(ONE_MINUS_BETA * I4)); // reset after the spike at 3
    expect([res.I[1][0], res.I[2][0], res.I[3][0], res.I[4][0]]).toEqual([I1, I2, I3, I4]);
    expect([res.Vpre[1][0], res.Vpre[2][0], res.Vpre[3][0], res.Vpre[4][0]]).toEqual([V1, V2, V3, V4]);
    expect(res.D[3][0]).toBe(f(I3 - V3));
    // D is zero where there is no spike
    expect(res.D.map((r) => r[0]).filter((d, i) => i !== 3)).toEqual([0, 0, 0, 0, 0]);
  });

  it('never spikes at step 0 and ignores an input spike at the last step', () => {
    const T = 5;
    // input spike at T-1 only: it would act at step T, which does not exist
    const res = forwardLayer(raster(T, 1, [[0, T - 1]]), [[1000]], T, ALPHA, BETA, ONE_MINUS_BETA, 1);
    expect(res.spikes.flat()).toEqual([0, 0, 0, 0, 0]);
    expect(res.I.flat()).toEqual([0, 0, 0, 0, 0]);
    // input spike at T-2 with a huge weight: spike exactly at T-1, nothing earlier
    const res2 = forwardLayer(raster(T, 1, [[0, T - 2]]), [[1000]], T, ALPHA, BETA, ONE_MINUS_BETA, 1);
    expect(res2.spikes.flat()).toEqual([0, 0, 0, 0, 1]);
  });

  it('uses a strict threshold comparison', () => {
    // w = 30: Vpre[1] = fround(0.0487706 * 30) = 1.4631173. With theta equal to exactly that value
    // there is no spike at step 1 (V > theta is false), but V keeps growing and spikes at step 2.
    const T = 4;
    const theta = f(ONE_MINUS_BETA * 30);
    expect(theta).toBeCloseTo(1.4631173, 6);
    const eq = forwardLayer(raster(T, 1, [[0, 0]]), [[30]], T, ALPHA, BETA, ONE_MINUS_BETA, theta);
    expect(eq.Vpre[1][0]).toBe(theta);
    expect(eq.spikes.map((r) => r[0])).toEqual([0, 0, 1, 0]);
    // one float32 ulp lower: spike at step 1
    const below = theta - 2 ** -23; // theta in [1, 2): ulp is 2^-23
    const lo = forwardLayer(raster(T, 1, [[0, 0]]), [[30]], T, ALPHA, BETA, ONE_MINUS_BETA, below);
    expect(lo.spikes[1][0]).toBe(1);
  });

  it('sums the synaptic input over ascending input index in float32', () => {
    // W = [1, 1e8, -1e8], all three inputs spike at step 0.
    // ascending: fround(0 + 1) = 1; fround(1 + 1e8) = 1e8 (1 is below half an ulp of 1e8, which is 8);
    //            fround(1e8 - 1e8) = 0   -> I[1] = 0
    // (descending order would give 1, float64 would give 1.)
    const T = 3;
    const w = [[1], [1e8], [-1e8]];
    const res = forwardLayer(raster(T, 3, [[0, 0], [1, 0], [2, 0]]), w, T, ALPHA, BETA, ONE_MINUS_BETA, 1);
    expect(res.I[1][0]).toBe(0);
    // only inputs 0 and 2: fround(1 - 1e8) = -1e8 (float32)
    const res2 = forwardLayer(raster(T, 3, [[0, 0], [2, 0]]), w, T, ALPHA, BETA, ONE_MINUS_BETA, 1);
    expect(res2.I[1][0]).toBe(f(1 - 1e8));
  });

  it('rounds weights to float32 before use (via oracleRun)', () => {
    const r = oracleRun(net([[[0.1]]], 3, 1e9), { xi: 1, alpha: 0, tau1: 1 }, [{ spikes: [[0, 0]], label: 0 }]);
    // no spikes at this threshold; check the gradient path stays zero and nothing blows up
    expect(r.spikes[0][0].flat()).toEqual([0, 0, 0]);
    const fwd = forwardLayer(raster(3, 1, [[0, 0]]), [[f(0.1)]], 3, ALPHA, BETA, ONE_MINUS_BETA, 1);
    expect(fwd.I[1][0]).toBe(f(0.1));
  });
});

describe('layer delay', () => {
  it('an input spike at step 0 reaches the hidden layer at step 1 and the output at step 2', () => {
    const T = 5;
    const r = oracleRun(net([[[100]], [[100]]], T), LOSS, [{ spikes: [[0, 0]], label: 0 }]);
    expect(r.spikes[0][0].map((row) => row[0]).slice(0, 3)).toEqual([0, 1, 1]);
    expect(r.spikes[0][1].map((row) => row[0]).slice(0, 3)).toEqual([0, 0, 1]);
    expect(r.firstSpikes[0]).toEqual([2]);
  });
});

describe('ttfsLoss', () => {
  it('matches a hand-computed softmax / CE / regulariser / error', () => {
    // T = 6, three outputs: neuron 0 first spikes at 2, neuron 1 silent (t = T = 6),
    // neuron 2 first spikes at 2 as well (then again at 4). Label c = 2, batch size B = 2.
    // Loss params xi = 1.5, a = 0.01, tau1 = 100.
    // z = -t/xi = [-4/3, -4, -4/3]; exp: [e^{-4/3}, e^{-4}, e^{-4/3}] = [0.2635971, 0.0183156, 0.2635971]
    // sum = 0.5455099; p = [0.4832124, 0.0335753, 0.4832124]
    // CE = -log(0.4832124) = 0.7272990; R = 0.01*(e^{0.02} - 1) = 0.000202013
    // e_0 = (1/2) * (0 - 0.4832124)/1.5 = -0.1610708 at step 2
    // e_1: silent -> none
    // e_2 = (1/2) * ((1 - 0.4832124)/1.5 + (0.01/100) e^{0.02}) = (1/2)*(0.3445251 + 0.000102020) = 0.1723136 at step 2
    // prediction: tie between 0 and 2 -> lowest index 0
    const T = 6;
    const s = raster(T, 3, [[0, 2], [2, 2], [2, 4]]);
    const res = ttfsLoss(s, 2, T, LOSS, 2);
    expect(res.firstSpikes).toEqual([2, 6, 2]);
    expect(res.prediction).toBe(0);
    expect(res.p[0]).toBeCloseTo(0.4832124, 6);
    expect(res.p[1]).toBeCloseTo(0.0335753, 6);
    expect(res.crossEntropy).toBeCloseTo(0.727299, 6);
    expect(res.regulariser).toBeCloseTo(0.000202013, 9);
    expect(res.e[2][0]).toBeCloseTo(-0.1610708, 6);
    expect(res.e[2][2]).toBeCloseTo(0.1723136, 6);
    // exact float64 re-derivation
    const Z = 2 * Math.exp(-4 / 3) + Math.exp(-4);
    const p0 = Math.exp(-4 / 3) / Z;
    expectRel(res.crossEntropy, -Math.log(p0));
    expectRel(res.e[2][0], 0.5 * (-p0 / 1.5));
    expectRel(res.e[2][2], 0.5 * ((1 - p0) / 1.5 + (0.01 / 100) * Math.exp(2 / 100)));
    // e is zero everywhere else (including the second spike of neuron 2 and the silent neuron)
    let nonZero = 0;
    for (let i = 0; i < T; i++) for (let n = 0; n < 3; n++) if (res.e[i][n] !== 0) nonZero++;
    expect(nonZero).toBe(2);
  });

  it('injects no error for a first spike at the last step, but counts it in the softmax as t = T-1', () => {
    const T = 5;
    const s = raster(T, 2, [[0, 1], [1, 4]]); // t = [1, 4]; 4 = T-1
    const res = ttfsLoss(s, 1, T, { xi: 1, alpha: 0, tau1: 10 }, 1);
    expect(res.firstSpikes).toEqual([1, 4]);
    const p1 = Math.exp(-4) / (Math.exp(-1) + Math.exp(-4));
    expectRel(res.p[1], p1);
    expectRel(res.crossEntropy, -Math.log(p1));
    expectRel(res.e[1][0], -(1 - p1)); // (0 - p0)/xi with p0 = 1 - p1
    expect(res.e[4][1]).toBe(0);
  });
});

describe('silent network', () => {
  it('gives loss log(3) + a(exp(T/tau1) - 1), zero gradients and zero eps', () => {
    const T = 27;
    const zeros = (n: number, m: number) => Array.from({ length: n }, () => new Array(m).fill(0));
    const r = oracleRun(net([zeros(5, 4), zeros(4, 3)], T), LOSS, [
      { spikes: [[0, 3], [4, 0], [2, 10]], label: 1 },
      { spikes: [[1, 5], [4, 0]], label: 2 },
    ]);
    // ln 3 = 1.0986123, 0.01*(e^{0.27} - 1) = 0.0030996 -> 1.1017119
    expect(r.loss).toBeCloseTo(1.1017119, 6);
    expectRel(r.loss, Math.log(3) + 0.01 * (Math.exp(27 / 100) - 1));
    expect(r.firstSpikes).toEqual([[27, 27, 27], [27, 27, 27]]);
    expect(r.predictions).toEqual([0, 0]);
    for (const g of r.grads) for (const row of g) for (const v of row) expect(v).toBe(0);
    for (const s of r.epsIn) for (const l of s) for (const row of l) for (const v of row) expect(v).toBe(0);
    expect(r.spikes[0][0].flat().every((v) => v === 0)).toBe(true);
  });
});

describe('backward: hand-derived 1-1-2 network', () => {
  // Network 1 input -> 1 hidden -> 2 outputs, T = 7, W_h = [[15]], W_o = [[18, 10]].
  // Input spike at step 0. Label c = 0. xi = 1.5, a = 0.01, tau1 = 100, B = 1.
  //
  // Forward (float32):
  //  hidden (w = 15, input at 0): I = [0, 15, 12.280962, 10.054802, 8.232176, 6.739936, 5.518193]
  //    Vpre[1] = 0.7315587, Vpre[2] = 0.9512295*0.7315587 + 0.0487706*12.280962 = 1.2948298 -> spike at 2,
  //    D_h2 = 12.280962 - 1.2948298 = 10.986132; after reset Vpre = 0.4903785, 0.8679504, then
  //    Vpre[5] = 1.1543305 -> spike at 5, D_h5 = 5.5856056; Vpre[6] = 0.2691254.
  //  output neuron 0 (w = 18, hidden spike at 2 -> current from step 3):
  //    I[3] = 18, Vpre[3] = 0.8778704; I[4] = 14.737154, Vpre[4] = 1.5537957 -> first spike t_0 = 4,
  //    D_o0 = 13.183358; step 5: Vpre = 0.5884541; step 6 also gets the hidden spike from step 5:
  //    I[6] = 9.878611 + 18, spikes again (at T-1, irrelevant to the backward pass).
  //  output neuron 1 (w = 10): Vpre[3] = 0.4877058, Vpre[4] = 0.8632198, Vpre[5] = 1.1480391 -> t_1 = 5,
  //    D_o1 = 5.555161; step 6: I = 5.488116 + 10, Vpre = 0.755 (no spike).
  //
  // Loss: t = [4, 5]; p_0 = 1/(1 + e^{-1/1.5}) = 0.6607564, p_1 = 0.3392436.
  //  L = -ln(0.6607564) + 0.01(e^{0.04} - 1) = 0.4143701 + 0.0004081 = 0.4147782
  //  E0 := e_0[4] = (1 - p_0)/1.5 + 0.0001 e^{0.04} = 0.2261624 + 0.0001041 = 0.2262665
  //  E1 := e_1[5] = -p_1/1.5 = -0.2261624
  //
  // Output layer backward (d0 := D_o0 + 1e-10, d1 := D_o1 + 1e-10):
  //  i=5: lamI[5] = 0; lamV[5] = beta*0 + s[6]*(lamV[6] + e[6])/D = [0 (neuron 0 spikes at 6 but 0+0), 0]
  //  i=4: lamI[4] = 0; lamV[4] = [0 (no spike at 5), s_1[5]*(0 + E1)/d1] = [0, E1/d1]
  //  i=3: eps[3] = W.(lamV[4]-lamI[4]) = 10 E1/d1
  //       lamI[3] = (1-alpha) lamV[4] = [0, (1-alpha) E1/d1]
  //       lamV[3] = [s_0[4]*(0 + E0)/d0, beta E1/d1] = [E0/d0, beta E1/d1]
  //  i=2: eps[2] = 18 E0/d0 + 10 (beta - (1-alpha)) E1/d1
  //       lamI[2] = alpha lamI[3] + (1-alpha) lamV[3] = [(1-alpha) E0/d0, (1-alpha)(alpha+beta) E1/d1]
  //       lamV[2] = beta lamV[3] = [beta E0/d0, beta^2 E1/d1]        (no output spike at 3)
  //  i=1: eps[1] = 18 (beta - (1-alpha)) E0/d0 + 10 (beta^2 - (1-alpha)(alpha+beta)) E1/d1
  //       lamI[1] = [(1-alpha)(alpha+beta) E0/d0, (1-alpha)(alpha^2+alpha beta+beta^2) E1/d1]
  //       lamV[1] = [beta^2 E0/d0, beta^3 E1/d1]
  //  i=0: eps[0] = W.(lamV[1] - lamI[1]); eps[4] = eps[5] = eps[6] = 0.
  //  G_o = -tau * sum over hidden spike steps i <= 5 of lamI[i] = -tau (lamI[2] + lamI[5]) = -tau lamI[2]:
  //       G_o[0][0] = -0.005 (1-alpha) E0/d0 = -0.005*0.1812692*0.2262665/13.183358 = -1.55555e-5
  //       G_o[0][1] = -0.005 (1-alpha)(alpha+beta) E1/d1 = -0.005*0.1812692*1.7699602*(-0.0407121) = +6.53103e-5
  //
  // Hidden layer backward, e_h = eps of the output layer (dh2 := D_h2 + 1e-10, dh5 := D_h5 + 1e-10):
  //  i=5,4,3,2: lamI = 0; lamV[4] = s[5]*(lamV[5] + e_h[5])/dh5 = (0 + 0)/dh5 = 0, others 0
  //  i=1: lamI[1] = 0; lamV[1] = s[2]*(0 + e_h[2])/dh2 = eps[2]/dh2
  //  i=0: lamI[0] = (1-alpha) eps[2]/dh2; eps_h[0] = 15 (lamV[1] - lamI[1]) = 15 eps[2]/dh2
  //  G_h[0][0] = -tau s_in[0] lamI[0] = -0.005 (1-alpha) eps[2]/dh2
  //    eps[2] = 18*0.2262665/13.183358 + 10*(0.9512295 - 0.1812692)*(-0.2261624/5.555161)
  //           = 0.3089347 - 0.3134672 = -0.0045324
  //    G_h[0][0] = -0.005*0.1812692*(-0.0045324)/10.986132 = +3.7392e-7
  const T = 7;
  const theNet = net([[[15]], [[18, 10]]], T);
  const r = oracleRun(theNet, LOSS, [{ spikes: [[0, 0]], label: 0 }]);

  const a = ALPHA;
  const b = BETA;
  const oma = ONE_MINUS_ALPHA;
  const p0 = 1 / (1 + Math.exp(-1 / 1.5));
  const p1 = 1 - p0;
  const E0 = (1 - p0) / 1.5 + (0.01 / 100) * Math.exp(4 / 100);
  const E1 = -p1 / 1.5;

  it('forward matches the hand trace', () => {
    expect(r.spikes[0][0].map((x) => x[0])).toEqual([0, 0, 1, 0, 0, 1, 0]);
    expect(r.spikes[0][1].map((x) => x[0])).toEqual([0, 0, 0, 0, 1, 0, 1]);
    expect(r.spikes[0][1].map((x) => x[1])).toEqual([0, 0, 0, 0, 0, 1, 0]);
    expect(r.firstSpikes[0]).toEqual([4, 5]);
    expect(r.predictions[0]).toBe(0);
    expect(r.D[0][0][2][0]).toBeCloseTo(10.986132, 5);
    expect(r.D[0][0][5][0]).toBeCloseTo(5.5856056, 5);
    expect(r.D[0][1][4][0]).toBeCloseTo(13.183358, 5);
    expect(r.D[0][1][5][1]).toBeCloseTo(5.555161, 5);
  });

  it('loss and injected errors match the hand values', () => {
    expect(r.loss).toBeCloseTo(0.4147782, 6);
    expectRel(r.loss, -Math.log(p0) + 0.01 * (Math.exp(0.04) - 1));
    expect(r.outputErrors[0][4][0]).toBeCloseTo(0.2262665, 6);
    expect(r.outputErrors[0][5][1]).toBeCloseTo(-0.2261624, 6);
    expectRel(r.outputErrors[0][4][0], E0);
    expectRel(r.outputErrors[0][5][1], E1);
  });

  it('output-layer eps and gradients match the hand derivation', () => {
    const d0 = r.D[0][1][4][0] + 1e-10;
    const d1 = r.D[0][1][5][1] + 1e-10;
    const eps = r.epsIn[0][1].map((x) => x[0]);
    expect(eps[6]).toBe(0);
    expect(eps[5]).toBe(0);
    expect(eps[4]).toBe(0);
    expectRel(eps[3], (10 * E1) / d1);
    expectRel(eps[2], (18 * E0) / d0 + 10 * (b - oma) * (E1 / d1));
    expectRel(eps[1], 18 * (b - oma) * (E0 / d0) + 10 * (b * b - oma * (a + b)) * (E1 / d1), 1e-10);
    const lamV1 = [b * b * (E0 / d0), b * b * b * (E1 / d1)];
    const lamI1 = [oma * (a + b) * (E0 / d0), oma * (a * a + a * b + b * b) * (E1 / d1)];
    expectRel(eps[0], 18 * (lamV1[0] - lamI1[0]) + 10 * (lamV1[1] - lamI1[1]), 1e-10);
    expect(eps[2]).toBeCloseTo(-0.0045324, 6);

    const G = r.grads[1];
    expectRel(G[0][0], -TAU * oma * (E0 / d0));
    expectRel(G[0][1], -TAU * oma * (a + b) * (E1 / d1));
    expect(G[0][0]).toBeCloseTo(-1.55555e-5, 9);
    expect(G[0][1]).toBeCloseTo(6.53103e-5, 9);
  });

  it('hidden-layer eps and gradient match the hand derivation', () => {
    const d0 = r.D[0][1][4][0] + 1e-10;
    const d1 = r.D[0][1][5][1] + 1e-10;
    const dh2 = r.D[0][0][2][0] + 1e-10;
    const epsOut2 = (18 * E0) / d0 + 10 * (b - oma) * (E1 / d1);
    expectRel(r.epsIn[0][1][2][0], epsOut2);
    const epsH = r.epsIn[0][0].map((x) => x[0]);
    expectRel(epsH[0], (15 * epsOut2) / dh2);
    expect(epsH.slice(1)).toEqual([0, 0, 0, 0, 0, 0]);
    expectRel(r.grads[0][0][0], (-TAU * oma * epsOut2) / dh2);
    expect(r.grads[0][0][0]).toBeCloseTo(3.7392e-7, 10);
  });

  it('backwardLayer exposes the adjoints used above', () => {
    const e = r.outputErrors[0];
    const bw = backwardLayer(r.spikes[0][0], r.spikes[0][1], r.D[0][1], e, [[18, 10]], T, a, b, TAU);
    const d0 = r.D[0][1][4][0] + 1e-10;
    const d1 = r.D[0][1][5][1] + 1e-10;
    expect(bw.lamV[6]).toEqual([0, 0]);
    expect(bw.lamV[5]).toEqual([0, 0]);
    expect(bw.lamV[4][0]).toBe(0);
    expectRel(bw.lamV[4][1], E1 / d1);
    expectRel(bw.lamV[3][0], E0 / d0);
    expectRel(bw.lamV[3][1], (b * E1) / d1);
    expectRel(bw.lamI[2][0], (oma * E0) / d0);
    expectRel(bw.lamI[2][1], (oma * (a + b) * E1) / d1);
    expect(bw.lamI[5]).toEqual([0, 0]);
  });

  it('a batch of two identical samples gives the same gradient sum and the same loss', () => {
    const r2 = oracleRun(theNet, LOSS, [
      { spikes: [[0, 0]], label: 0 },
      { spikes: [[0, 0]], label: 0 },
    ]);
    expectRel(r2.loss, r.loss);
    for (let l = 0; l < 2; l++) {
      for (let k = 0; k < r.grads[l].length; k++) {
        for (let j = 0; j < r.grads[l][k].length; j++) expectRel(r2.grads[l][k][j], r.grads[l][k][j]);
      }
    }
    expectRel(r2.outputErrors[1][4][0], E0 / 2);
  });

  it('does not mutate the input weights', () => {
    expect(theNet.weights).toEqual([[[15]], [[18, 10]]]);
  });
});

describe('input validation', () => {
  it('rejects out-of-range input spikes and labels', () => {
    const n = net([[[1, 1]]], 4);
    expect(() => oracleRun(n, LOSS, [{ spikes: [[1, 0]], label: 0 }])).toThrow();
    expect(() => oracleRun(n, LOSS, [{ spikes: [[0, 4]], label: 0 }])).toThrow();
    expect(() => oracleRun(n, LOSS, [{ spikes: [[0, 0]], label: 2 }])).toThrow();
  });
});
