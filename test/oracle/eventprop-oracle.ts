/**
 * Independent reference ("oracle") implementation of the discretised LIF forward pass, the
 * time-to-first-spike loss and the EventProp backward pass, written with plain nested arrays and
 * loops straight from the numerical contract in shared/reference/docs/contract.md.
 *
 * It exists only so that tests can check the fast tensor implementation against it. It is
 * deliberately slow and literal: one function per phase, every step commented with the contract
 * line it implements, no vectorisation, no caching, no shortcuts.
 *
 * Precision decisions (project rules):
 *   - FORWARD: float32 emulation. Every arithmetic result goes through Math.fround, in the order the
 *     contract writes the expression. Weights are rounded to float32 once before use. The subnormal
 *     rule: weights, and the new I and V of every step, are flushed to +0 where |value| < 2^-126
 *     (float32 subnormals); x and the products are not.
 *   (The float64 backward needs no flushing: values below 2^-126 change no gradient within its tolerance.)
 *   - LOSS: float64.
 *   - BACKWARD: float64, no rounding, using the float32 alpha/beta values as given (1 - alpha is
 *     computed in float64 from the float32 alpha) and the float32 weights / D values from the forward.
 *
 * Index conventions: time step i = 0..T-1; layer l = 0..L-1 (layer 0 reads the sample's input
 * spikes, layer L-1 is the output layer); weights[l][k][j] = weight from input k to neuron j.
 */

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface OracleNet {
  /** Per layer, [inputs][outputs]. */
  weights: number[][][];
  /** Number of time steps T. */
  steps: number;
  /** The float32 values (already rounded once from double precision). */
  alpha: number;
  beta: number;
  oneMinusBeta: number;
  threshold: number;
  /** tauSynSeconds = tauSynMs / 1000 (the factor in the weight gradient). */
  tauSynMs: number;
}

/** Loss parameters; tau1 is in steps. */
export interface OracleLoss {
  xi: number;
  alpha: number;
  tau1: number;
  /**
   * The silent-label nudge (outside the contract; docs/training-collapse.md): for a sample whose label
   * neuron first spikes at T-1 or never, dL/dW[k][label] of the output layer gains -nudge/B per spike of
   * the layer's input k.
   */
  nudge?: number;
}

/** Input spikes as [inputIndex, step] pairs, plus the class label. */
export interface OracleSample {
  spikes: [number, number][];
  label: number;
}

export interface OracleResult {
  /** [sample][layer][step][neuron], 0/1. */
  spikes: number[][][][];
  /** [sample][layer][step][neuron]: D = I - Vpre (float32) at spike steps, 0 elsewhere. */
  D: number[][][][];
  /** [sample][outputNeuron]: first-spike step, T when silent. */
  firstSpikes: number[][];
  /** Batch loss L = mean CE + mean R (float64). */
  loss: number;
  /** Per layer [inputs][outputs], summed over the batch. */
  grads: number[][][];
  /** [sample][layer][step][input]: eps_in of that layer (error it sends to its inputs). */
  epsIn: number[][][][];
  // ---- extras (not required by the consumers, handy when debugging a mismatch) ----
  /** [sample]: argmin_n t_n, ties to the lowest index. */
  predictions: number[];
  /** [sample][step][outputNeuron]: error e injected by the loss into the output layer. */
  outputErrors: number[][][];
  /** [sample]: CE_b and R_b (float64). */
  crossEntropy: number[];
  regulariser: number[];
}

/** Round to the nearest float32 (round half to even), returned as a JS number. */
export function float32(x: number): number {
  return Math.fround(x);
}

/** The contract's subnormal rule for a float32 value: +0 where |x| < 2^-126 (subnormal or -0). */
export function flush32(x: number): number {
  return Math.abs(x) < 1.1754943508222875e-38 ? 0 : x;
}

// ---------------------------------------------------------------------------------------------
// Small helpers (plain loops only)
// ---------------------------------------------------------------------------------------------

function zeros1(n: number): number[] {
  const out: number[] = [];
  for (let a = 0; a < n; a++) out.push(0);
  return out;
}

function zeros2(n: number, m: number): number[][] {
  const out: number[][] = [];
  for (let a = 0; a < n; a++) out.push(zeros1(m));
  return out;
}

function copyRoundedToFloat32(w: number[][]): number[][] {
  const out: number[][] = [];
  for (let k = 0; k < w.length; k++) {
    const row: number[] = [];
    for (let j = 0; j < w[k].length; j++) row.push(flush32(float32(w[k][j])));
    out.push(row);
  }
  return out;
}

/** Dense input raster [step][input] from [inputIndex, step] pairs (a repeated pair is still one spike). */
export function inputRaster(sample: OracleSample, steps: number, numInputs: number): number[][] {
  const raster = zeros2(steps, numInputs);
  for (const [k, i] of sample.spikes) {
    if (!Number.isInteger(k) || k < 0 || k >= numInputs) {
      throw new Error(`oracle: input index ${k} out of range 0..${numInputs - 1}`);
    }
    if (!Number.isInteger(i) || i < 0 || i >= steps) {
      throw new Error(`oracle: spike step ${i} out of range 0..${steps - 1}`);
    }
    raster[i][k] = 1;
  }
  return raster;
}

// ---------------------------------------------------------------------------------------------
// Forward pass (one layer), float32 emulation
// ---------------------------------------------------------------------------------------------

export interface ForwardLayerResult {
  /** [step][neuron] 0/1 output spikes. */
  spikes: number[][];
  /** [step][neuron] D = I - Vpre at spike steps, 0 elsewhere. */
  D: number[][];
  /** [step][neuron] current I (float32). */
  I: number[][];
  /** [step][neuron] Vpre, the membrane potential before reset (float32). */
  Vpre: number[][];
}

/**
 * Contract, "Forward pass (one layer)".
 * `sIn` is [step][input] (0/1), `w` is [input][neuron] and already float32.
 */
export function forwardLayer(
  sIn: number[][],
  w: number[][],
  steps: number,
  alpha: number,
  beta: number,
  oneMinusBeta: number,
  threshold: number,
): ForwardLayerResult {
  const numInputs = w.length;
  const numNeurons = numInputs > 0 ? w[0].length : 0;

  const spikes = zeros2(steps, numNeurons);
  const D = zeros2(steps, numNeurons);
  const Itrace = zeros2(steps, numNeurons);
  const VpreTrace = zeros2(steps, numNeurons);

  // "Start I[0] = V[0] = 0, s[0] = 0."
  let I = zeros1(numNeurons);
  let V = zeros1(numNeurons);

  // "For i = 1 .. T-1, in this order:"
  for (let i = 1; i < steps; i++) {
    const newI = zeros1(numNeurons);
    const newV = zeros1(numNeurons);
    for (let j = 0; j < numNeurons; j++) {
      // x_j = (s_in[i-1] · W)_j: sum over inputs k that spiked at step i-1, k ascending,
      // accumulated in float32 from 0.  ("input of the previous step: one step of delay per layer")
      let x = 0;
      for (let k = 0; k < numInputs; k++) {
        if (sIn[i - 1][k] !== 0) x = float32(x + w[k][j]);
      }

      // 1. "I[i] = alpha * I[i-1] + s_in[i-1] · W", rounded as  I = (alpha * I) + x
      //    then flushed: +0 where |I| < 2^-126 (the subnormal rule)
      const Ii = flush32(float32(float32(alpha * I[j]) + x));

      // 2. "V[i] = beta * V[i-1] + (1 - beta) * I[i]   (uses the updated current)",
      //    rounded as  V = (beta * V) + (oneMinusBeta * I)
      //    then flushed like I
      let Vi = flush32(float32(float32(beta * V[j]) + float32(oneMinusBeta * Ii)));

      // 3. "Vpre[i] = V[i]   (kept for the backward pass)"
      const Vpre = Vi;

      // 4. "s[i] = 1 if V[i] > theta else 0   (strictly greater)"
      const s = Vi > threshold ? 1 : 0;

      if (s === 1) {
        // "D[i] = I[i] - Vpre[i] at the steps where the neuron spiked" (a float32 subtraction)
        D[i][j] = float32(Ii - Vpre);
        // 5. "V[i] = 0 where s[i] = 1"
        Vi = 0;
      }

      spikes[i][j] = s;
      Itrace[i][j] = Ii;
      VpreTrace[i][j] = Vpre;
      newI[j] = Ii;
      newV[j] = Vi;
    }
    I = newI;
    V = newV;
  }

  return { spikes, D, I: Itrace, Vpre: VpreTrace };
}

// ---------------------------------------------------------------------------------------------
// Time-to-first-spike loss, float64
// ---------------------------------------------------------------------------------------------

export interface TtfsLossResult {
  /** First-spike step per output neuron, T when silent. */
  firstSpikes: number[];
  /** argmin_n t_n, ties to the lowest index. */
  prediction: number;
  /** softmax(-t / xi). */
  p: number[];
  crossEntropy: number;
  regulariser: number;
  /** [step][neuron] error e injected into the output layer (1/B already applied). */
  e: number[][];
}

/**
 * Contract, "Time-to-first-spike loss (output layer)", for one sample of a batch of size `batchSize`.
 * `outSpikes` is [step][outputNeuron].
 */
export function ttfsLoss(
  outSpikes: number[][],
  label: number,
  steps: number,
  loss: OracleLoss,
  batchSize: number,
): TtfsLossResult {
  const numOut = steps > 0 ? outSpikes[0].length : 0;
  if (!Number.isInteger(label) || label < 0 || label >= numOut) {
    throw new Error(`oracle: label ${label} out of range 0..${numOut - 1}`);
  }

  // "t_n = min{ i : s_n[i] = 1 }, or t_n = T if it never spikes."
  const t: number[] = [];
  for (let n = 0; n < numOut; n++) {
    let tn = steps;
    for (let i = 0; i < steps; i++) {
      if (outSpikes[i][n] !== 0) {
        tn = i;
        break;
      }
    }
    t.push(tn);
  }

  // "Prediction = argmin_n t_n (ties: lowest index)."
  let prediction = 0;
  for (let n = 1; n < numOut; n++) {
    if (t[n] < t[prediction]) prediction = n;
  }

  // "p = softmax(-t / xi)" (silent neurons take t = T). Max-subtracted for stability.
  const z: number[] = [];
  for (let n = 0; n < numOut; n++) z.push(-t[n] / loss.xi);
  let zMax = -Infinity;
  for (let n = 0; n < numOut; n++) if (z[n] > zMax) zMax = z[n];
  let sumExp = 0;
  for (let n = 0; n < numOut; n++) sumExp += Math.exp(z[n] - zMax);
  const p: number[] = [];
  for (let n = 0; n < numOut; n++) p.push(Math.exp(z[n] - zMax) / sumExp);

  // "CE = -log softmax(-t / xi)[c]", written as log-sum-exp minus z_c.
  const c = label;
  const crossEntropy = -(z[c] - zMax) + Math.log(sumExp);

  // "R = a * (exp(t_c / tau1) - 1). Times are in steps."
  const regulariser = loss.alpha * (Math.exp(t[c] / loss.tau1) - 1);

  // "e_n[t_n] = dL/dt_n = (1/B) * [ (delta_{n,c} - p_n) / xi + delta_{n,c} * (a / tau1) * exp(t_c / tau1) ]"
  // "No error is injected when t_n >= T-1 (silent, or first spike at the last step)."
  // "e is zero at every other step."
  const e = zeros2(steps, numOut);
  for (let n = 0; n < numOut; n++) {
    if (t[n] >= steps - 1) continue;
    const delta = n === c ? 1 : 0;
    const value =
      (1 / batchSize) *
      ((delta - p[n]) / loss.xi + delta * (loss.alpha / loss.tau1) * Math.exp(t[c] / loss.tau1));
    e[t[n]][n] = value;
  }

  return { firstSpikes: t, prediction, p, crossEntropy, regulariser, e };
}

// ---------------------------------------------------------------------------------------------
// Backward pass (one layer, reverse time), float64
// ---------------------------------------------------------------------------------------------

export interface BackwardLayerResult {
  /** [input][neuron] G for this sample. */
  G: number[][];
  /** [step][input] eps_in, the error sent to the previous layer. */
  epsIn: number[][];
  /** [step][neuron] adjoints (float64). */
  lamV: number[][];
  lamI: number[][];
}

/**
 * Contract, "Backward pass (one layer, reverse time)".
 * `sIn` [step][input], `s` [step][neuron] (this layer's output spikes), `D` [step][neuron],
 * `e` [step][neuron] (error on this layer's output spikes), `w` [input][neuron] (float32 values).
 */
export function backwardLayer(
  sIn: number[][],
  s: number[][],
  D: number[][],
  e: number[][],
  w: number[][],
  steps: number,
  alpha: number,
  beta: number,
  tauSynSeconds: number,
): BackwardLayerResult {
  const numInputs = w.length;
  const numNeurons = numInputs > 0 ? w[0].length : 0;
  const oneMinusAlpha = 1 - alpha; // float64, from the float32 alpha

  // "Start lamV[T-1] = lamI[T-1] = 0, G = 0 (shape [N_in, N])."  "eps_in[T-1] = 0."
  const lamV = zeros2(steps, numNeurons);
  const lamI = zeros2(steps, numNeurons);
  const epsIn = zeros2(steps, numInputs);
  const G = zeros2(numInputs, numNeurons);

  // "For i = T-2 down to 0:"
  for (let i = steps - 2; i >= 0; i--) {
    // 1. "eps_in[i] = W · (lamV[i+1] - lamI[i+1])"
    for (let k = 0; k < numInputs; k++) {
      let acc = 0;
      for (let j = 0; j < numNeurons; j++) {
        acc += w[k][j] * (lamV[i + 1][j] - lamI[i + 1][j]);
      }
      epsIn[i][k] = acc;
    }

    for (let j = 0; j < numNeurons; j++) {
      // 2. "lamI[i] = alpha * lamI[i+1] + (1 - alpha) * lamV[i+1]"
      lamI[i][j] = alpha * lamI[i + 1][j] + oneMinusAlpha * lamV[i + 1][j];

      // 3. "lamV[i] = beta * lamV[i+1] + s[i+1] * (lamV[i+1] + e[i+1]) / (D[i+1] + 1e-10)"
      //    (the jump term is only evaluated where s[i+1] = 1; elsewhere it is exactly 0)
      let jump = 0;
      if (s[i + 1][j] !== 0) {
        jump = (lamV[i + 1][j] + e[i + 1][j]) / (D[i + 1][j] + 1e-10);
      }
      lamV[i][j] = beta * lamV[i + 1][j] + jump;
    }

    // 4. "G -= tauSynSeconds * outer(s_in[i], lamI[i])"
    for (let k = 0; k < numInputs; k++) {
      if (sIn[i][k] === 0) continue;
      for (let j = 0; j < numNeurons; j++) {
        G[k][j] -= tauSynSeconds * sIn[i][k] * lamI[i][j];
      }
    }
  }

  return { G, epsIn, lamV, lamI };
}

// ---------------------------------------------------------------------------------------------
// Whole network, whole batch
// ---------------------------------------------------------------------------------------------

export function oracleRun(net: OracleNet, loss: OracleLoss, samples: OracleSample[]): OracleResult {
  const T = net.steps;
  const L = net.weights.length;
  const B = samples.length;
  if (L === 0) throw new Error('oracle: network has no layers');
  if (B === 0) throw new Error('oracle: empty batch');
  for (let l = 1; l < L; l++) {
    if (net.weights[l].length !== net.weights[l - 1][0].length) {
      throw new Error(`oracle: layer ${l} has ${net.weights[l].length} inputs, previous layer has ${net.weights[l - 1][0].length} neurons`);
    }
  }

  // "those three float32 values are what every implementation uses" (rounding is a no-op if the
  // caller already passed float32 values). Threshold and weights are compared/used as float32 too.
  const alpha = float32(net.alpha);
  const beta = float32(net.beta);
  const oneMinusBeta = float32(net.oneMinusBeta);
  const threshold = float32(net.threshold);
  const tauSynSeconds = net.tauSynMs / 1000;
  const W: number[][][] = [];
  for (let l = 0; l < L; l++) W.push(copyRoundedToFloat32(net.weights[l]));

  const grads: number[][][] = [];
  for (let l = 0; l < L; l++) grads.push(zeros2(W[l].length, W[l][0].length));

  const result: OracleResult = {
    spikes: [],
    D: [],
    firstSpikes: [],
    loss: 0,
    grads,
    epsIn: [],
    predictions: [],
    outputErrors: [],
    crossEntropy: [],
    regulariser: [],
  };

  let sumCE = 0;
  let sumR = 0;

  for (let b = 0; b < B; b++) {
    const sample = samples[b];

    // ---- forward, layer by layer: "The layer's output s is the next layer's s_in."
    const layerInputs: number[][][] = []; // s_in per layer, [step][input]
    const layerSpikes: number[][][] = [];
    const layerD: number[][][] = [];
    let sIn = inputRaster(sample, T, W[0].length);
    for (let l = 0; l < L; l++) {
      const fwd = forwardLayer(sIn, W[l], T, alpha, beta, oneMinusBeta, threshold);
      layerInputs.push(sIn);
      layerSpikes.push(fwd.spikes);
      layerD.push(fwd.D);
      sIn = fwd.spikes;
    }

    // ---- loss on the output layer
    const lossResult = ttfsLoss(layerSpikes[L - 1], sample.label, T, loss, B);
    sumCE += lossResult.crossEntropy;
    sumR += lossResult.regulariser;

    // ---- backward, output layer first: "The previous layer's e is this layer's eps_in."
    const layerEps: number[][][] = new Array(L);
    let e = lossResult.e;
    for (let l = L - 1; l >= 0; l--) {
      const bwd = backwardLayer(layerInputs[l], layerSpikes[l], layerD[l], e, W[l], T, alpha, beta, tauSynSeconds);
      // "The weight gradient of the batch is the sum of G over the samples."
      for (let k = 0; k < grads[l].length; k++) {
        for (let j = 0; j < grads[l][k].length; j++) grads[l][k][j] += bwd.G[k][j];
      }
      layerEps[l] = bwd.epsIn;
      e = bwd.epsIn;
    }
    if (loss.nudge && lossResult.firstSpikes[sample.label] >= T - 1) {
      const inputs = layerInputs[L - 1];
      for (let k = 0; k < inputs[0].length; k++) {
        let count = 0;
        for (let i = 0; i < T; i++) count += inputs[i][k];
        grads[L - 1][k][sample.label] -= (loss.nudge / B) * count;
      }
    }

    result.spikes.push(layerSpikes);
    result.D.push(layerD);
    result.firstSpikes.push(lossResult.firstSpikes);
    result.epsIn.push(layerEps);
    result.predictions.push(lossResult.prediction);
    result.outputErrors.push(lossResult.e);
    result.crossEntropy.push(lossResult.crossEntropy);
    result.regulariser.push(lossResult.regulariser);
  }

  // "Batch loss L = mean_b CE_b + mean_b R_b."
  result.loss = sumCE / B + sumR / B;
  return result;
}
