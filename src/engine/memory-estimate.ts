import { totalmem } from 'node:os';
import { UserError } from '../errors.js';

/**
 * What a network's tensors take on the engine, estimated before any work so that an absurd setting
 * (a million steps, a huge hidden layer or batch) is refused with one line instead of an out-of-memory
 * crash deep inside a kernel. Bytes per neuron and step, from the kernels' outputs:
 * - forward: the input raster (bool, 1 byte), each layer's spikes (1 byte on wasm/cpu, int32 on webgpu)
 *   and D at its spikes (float32), kept for the adjoint;
 * - backward: the errors to the previous layer, eps_in (float32 per input and step, layers 2..L), and on
 *   webgpu the two per-step adjoint buffers of each layer (8 bytes) and the input-step lists (8 bytes);
 * - weights: master weights, gradients and two Adam moments, float32 (16 bytes per weight and trial).
 */

export interface NetworkShape {
  /** Layer sizes, inputs (with the bias input) first. */
  sizes: number[];
  steps: number;
  /** Samples per training batch, all trials together (0: evaluation only). */
  batch: number;
  /** Samples per evaluation batch, all trials together. */
  evalBatch: number;
  trials: number;
}

export interface MemoryEstimate {
  trainingBatch: number;
  evaluationBatch: number;
  weights: number;
  /** The larger of a training and an evaluation batch, plus the weights. */
  peak: number;
}

const GPU = (backend: string) => backend === 'webgpu';

export function estimateMemory(shape: NetworkShape, backend: string): MemoryEstimate {
  const { sizes, steps, batch, evalBatch, trials } = shape;
  const spikeBytes = GPU(backend) ? 4 : 1;
  const neurons = sizes.slice(1).reduce((a, b) => a + b, 0);
  const forwardPerSample = steps * (sizes[0] + (spikeBytes + 4) * neurons);
  const epsIn = 4 * sizes.slice(1, -1).reduce((a, b) => a + b, 0);
  const gpuAdjoint = GPU(backend) ? 8 * neurons + 8 * sizes.slice(0, -1).reduce((a, b) => a + b, 0) : 0;
  const backwardPerSample = steps * (epsIn + gpuAdjoint);
  let weightCount = 0;
  for (let l = 1; l < sizes.length; l++) weightCount += sizes[l - 1] * sizes[l];
  const weights = 16 * weightCount * trials;
  const trainingBatch = batch * (forwardPerSample + backwardPerSample);
  const evaluationBatch = evalBatch * forwardPerSample;
  return { trainingBatch, evaluationBatch, weights, peak: Math.max(trainingBatch, evaluationBatch) + weights };
}

/** The memory a backend's tensors can use: the wasm backend's heap is 2 GiB; elsewhere 80 % of RAM. */
export function memoryLimit(backend: string): { bytes: number; what: string } {
  if (backend === 'wasm') return { bytes: 2 ** 31, what: "the wasm backend's 2 GiB memory" };
  const bytes = 0.8 * totalmem();
  return { bytes, what: `80 % of this machine's memory (${gib(bytes)})` };
}

export function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.ceil(bytes / 2 ** 20)} MiB`;
}

/** Refuse a network whose tensors cannot fit, naming the estimate, the limit and what to shrink. */
export function checkMemory(shape: NetworkShape, backend: string, what: string): void {
  const e = estimateMemory(shape, backend);
  const limit = memoryLimit(backend);
  if (e.peak <= limit.bytes) return;
  const neurons = shape.sizes.reduce((a, b) => a + b, 0);
  const training = e.trainingBatch >= e.evaluationBatch;
  const samples = training ? shape.batch : shape.evalBatch;
  throw new UserError(
    `${what}: needs about ${gib(e.peak)} of tensor memory (${training ? 'a training' : 'an evaluation'} batch of ${samples} samples x ${shape.steps} steps x ${neurons} neurons` +
      `${e.weights > 2 ** 28 ? `, weights ${gib(e.weights)}` : ''}), more than ${limit.what}; use fewer steps, neurons or samples per batch`,
  );
}
