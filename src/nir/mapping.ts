import type { NeuronSettings } from '../model/neuron.js';

/**
 * How s2prop's discrete neuron (docs/contract.md, "Forward pass") maps to NIR's continuous CubaLIF
 *
 *   tau_syn dI/dt = -I + w_in S,   tau_mem dv/dt = (v_leak - v) + r I,   spike when v > v_threshold, v <- v_reset
 *
 * and back. NIR fixes no discretisation, so a file says which one it means in its metadata (`mapping`,
 * with the step `dt` in seconds). Two are offered; both keep the weights as they are and differ in the
 * neuron constants. Per step of length dt, with S the step's input spikes (0/1) times the weights:
 *
 * `s2prop` (exact exponential decay; the default, and what the reference fixtures assume):
 *   I <- exp(-dt/tau_syn) I + w_in S
 *   v <- exp(-dt/tau_mem) v + (1 - exp(-dt/tau_mem)) r I        (v_leak = 0)
 *   so alpha = exp(-dt/tau_syn), beta = exp(-dt/tau_mem): tau_syn = tauSyn, tau_mem = tauMem (seconds),
 *   r = 1, w_in = 1, v_threshold = threshold, v_leak = 0, v_reset = 0.
 *
 * `snntorch` (forward Euler, as snnTorch's export_nir/import_nir for `Synaptic`, whose step is fixed at
 * dt = 1e-4 s):
 *   I <- (1 - dt/tau_syn) I + (dt/tau_syn) w_in S
 *   v <- (1 - dt/tau_mem) v + (dt/tau_mem) r I
 *   written as tau_syn = dt/(1-alpha), tau_mem = dt/(1-beta), r = tau_mem/dt, w_in = tau_syn/dt, so that
 *   I <- alpha I + S and v <- beta v + I (snnTorch's Synaptic); this v is ours divided by (1 - beta), hence
 *   v_threshold = threshold / (1 - beta).
 *
 * In general the importer folds the per-neuron gain g (v in the file = g * our V) into the threshold:
 * g = r * w_in (s2prop) or r * w_in * (1 - alpha) (snntorch), threshold = v_threshold / g.
 */

export const CONVENTIONS = ['s2prop', 'snntorch'] as const;
export type Convention = (typeof CONVENTIONS)[number];

/** snnTorch's export_nir and import_nir assume every step lasts 1e-4 s. */
export const SNNTORCH_DT_SECONDS = 1e-4;

/** One CubaLIF parameter set (the same for every neuron). */
export interface CubaLifValues {
  tau_syn: number;
  tau_mem: number;
  r: number;
  w_in: number;
  v_threshold: number;
  v_leak: number;
  v_reset: number;
}

/** The CubaLIF values and the step (seconds) a model's neuron is written with under a convention. */
export function toCubaLif(n: NeuronSettings, convention: Convention): { dtSeconds: number; values: CubaLifValues } {
  if (convention === 's2prop') {
    return {
      dtSeconds: n.dtMs / 1000,
      values: { tau_syn: n.tauSynMs / 1000, tau_mem: n.tauMemMs / 1000, r: 1, w_in: 1, v_threshold: n.threshold, v_leak: 0, v_reset: 0 },
    };
  }
  const dt = SNNTORCH_DT_SECONDS;
  const alpha = Math.exp(-n.dtMs / n.tauSynMs);
  const beta = Math.exp(-n.dtMs / n.tauMemMs);
  const tauSyn = dt / (1 - alpha);
  const tauMem = dt / (1 - beta);
  return {
    dtSeconds: dt,
    values: { tau_syn: tauSyn, tau_mem: tauMem, r: tauMem / dt, w_in: tauSyn / dt, v_threshold: n.threshold / (1 - beta), v_leak: 0, v_reset: 0 },
  };
}

/** The float64 `k` steps of one unit in the last place away from x (k may be negative). */
function ulpStep(x: number, k: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  view.setBigInt64(0, x >= 0 ? bits + BigInt(k) : bits - BigInt(k));
  return view.getFloat64(0);
}

/**
 * Undo the last-bit noise of a conversion: among numbers near `x0` (its roundings to 1..17 significant
 * digits, then its neighbours a few units in the last place away), the first that `writes` maps to
 * exactly the value found in the file; `x0` when none does. A setting typed as 5 ms is written as
 * 0.005 s and read back as 5, not 4.999999999999999; for any value the exporter wrote, the result
 * writes the same file value again.
 */
export function shortestPreimage(x0: number, writes: (x: number) => boolean): number {
  if (!Number.isFinite(x0)) return x0;
  for (let p = 1; p <= 17; p++) {
    const c = Number(x0.toPrecision(p));
    if (writes(c)) return c;
  }
  for (let k = 1; k <= 8; k++) {
    for (const c of [ulpStep(x0, k), ulpStep(x0, -k)]) if (writes(c)) return c;
  }
  return x0;
}

/** The neuron one CubaLIF (or LIF, with tau_syn absent) parameter set means, as model-file settings. */
export interface FromNirInput {
  convention: Convention;
  values: Omit<CubaLifValues, 'tau_syn' | 'w_in'> & { tau_syn?: number; w_in?: number };
  /** The step the file's constants are discretised with (seconds). */
  dtSeconds: number;
  /** The step length of the model written (milliseconds). */
  dtMs: number;
}

export type FromNir = { ok: true; neuron: NeuronSettings; alpha: number; beta: number } | { ok: false; problem: string };

/**
 * A LIF (no synaptic current) runs as alpha = 0: tauSyn = dt / 1000, for which exp(-dt/tauSyn) =
 * exp(-1000) is exactly 0 in float64 and float32.
 */
export const LIF_TAU_SYN_FRACTION_OF_DT = 1 / 1000;

export function fromCubaLif(input: FromNirInput): FromNir {
  const { convention, values: v, dtSeconds, dtMs } = input;
  const wIn = v.w_in ?? 1;
  if (convention === 's2prop') {
    const gain = v.r * wIn;
    if (!(gain > 0)) return { ok: false, problem: `r * w_in is ${gain}, expected a positive gain` };
    const seconds = (x: number) => shortestPreimage(x * 1000, (ms) => ms / 1000 === x);
    // The graph's time constants are physical; the model discretises them with its own step dtMs.
    const tauSynMs = v.tau_syn === undefined ? dtMs * LIF_TAU_SYN_FRACTION_OF_DT : seconds(v.tau_syn);
    const tauMemMs = seconds(v.tau_mem);
    const threshold = shortestPreimage(v.v_threshold / gain, (t) => t * gain === v.v_threshold);
    return { ok: true, neuron: { dtMs, tauSynMs, tauMemMs, threshold }, alpha: Math.exp(-dtMs / tauSynMs), beta: Math.exp(-dtMs / tauMemMs) };
  }
  // Forward Euler at the file's own step: alpha and beta are fixed by the file; dtMs only sets the time unit.
  const alpha = v.tau_syn === undefined ? 0 : 1 - dtSeconds / v.tau_syn;
  const beta = 1 - dtSeconds / v.tau_mem;
  if (!(alpha >= 0 && alpha < 1)) return { ok: false, problem: `tau_syn is ${v.tau_syn} s, expected more than dt = ${dtSeconds} s (forward Euler needs 0 <= 1 - dt/tau_syn < 1)` };
  if (!(beta > 0 && beta < 1)) return { ok: false, problem: `tau_mem is ${v.tau_mem} s, expected more than dt = ${dtSeconds} s (forward Euler needs 0 < 1 - dt/tau_mem < 1)` };
  const gain = v.r * wIn * (1 - alpha);
  if (!(gain > 0)) return { ok: false, problem: `r * w_in * dt/tau_syn is ${gain}, expected a positive gain` };
  const decayToTau = (decay: number, written: number) =>
    shortestPreimage(-dtMs / Math.log(decay), (tau) => dtSeconds / (1 - Math.exp(-dtMs / tau)) === written);
  const tauSynMs = alpha === 0 ? dtMs * LIF_TAU_SYN_FRACTION_OF_DT : decayToTau(alpha, v.tau_syn!);
  const tauMemMs = decayToTau(beta, v.tau_mem);
  const threshold = shortestPreimage(v.v_threshold / gain, (t) => t / (1 - Math.exp(-dtMs / tauMemMs)) === v.v_threshold);
  return { ok: true, neuron: { dtMs, tauSynMs, tauMemMs, threshold }, alpha, beta };
}
