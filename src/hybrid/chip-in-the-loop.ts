import * as tf from '@tensorflow/tfjs-core';
import { H } from '../chip/memory-layout.js';
import { ChipSimulator } from '../chip/sim/simulator.js';
import type { ChipConfig } from '../chip/sim/load-config.js';
import type { Dataset } from '../data/dataset.js';
import { batchRaster, encodeDataset, encodedInputs } from '../data/encoding.js';
import { epochOrder } from '../data/epoch-order.js';
import { lifForwardKernel } from '../engine/lif-forward-kernel.js';
import { uploadWeights } from '../engine/model-network.js';
import { backward, ttfsLoss, type EngineNetwork } from '../engine/network.js';
import { runTypedKernel } from '../engine/typed-kernel.js';
import { neuronConstants } from '../model/neuron.js';
import type { ModelFile } from '../model/schema.js';
import { Optimizer, scheduledLr, type OptimizerSettings } from '../train/optimizer.js';

/**
 * Chip-in-the-loop training: the forward pass runs on the chip (here the simulator, with an inference
 * export of any quantisation), the gradients are computed off-chip from the spikes read back, and the
 * host writes the updated weights into the chip for the next batch. The weights the chip runs are the
 * master weights quantised at the scale of the export (which stays as exported); the gradient is taken
 * with respect to them and applied to the float master weights (straight-through), so fine-tuning in the
 * loop recovers what quantisation lost, on the very configuration that goes to the board.
 *
 * The backward pass needs, besides the spikes, I - Vpre at each spike: it is recomputed off-chip by
 * running each layer on its recorded input spikes with the chip's weights; `mismatches` counts spikes
 * where that recomputation disagrees with the chip (0 on the bit-faithful simulator; on hardware, a
 * measure of how far the chip is from the model).
 */
export interface InTheLoopOptions {
  config: ChipConfig;
  model: ModelFile;
  train: Dataset;
  validation: Dataset;
  optimizer: OptimizerSettings;
  batch: number;
  epochs: number;
  seed: number;
  onEpoch?: (row: Record<string, number>) => void;
}

export interface InTheLoopResult {
  /** The weights the chip runs at the best validation epoch, 0 = as given (dequantised: exact float32 values). */
  chipWeights: number[][][];
  bestEpoch: number;
  bestValidationAccuracy: number;
  history: Record<string, number>[];
}

/** Spike lists per layer of one sample ([[neuron, step], ...]) into a dense raster [T][N] at `offset`. */
function fill(raster: Uint8Array, offset: number, N: number, spikes: [number, number][]): void {
  for (const [n, t] of spikes) raster[offset + t * N + n] = 1;
}

export async function chipInTheLoop(opts: InTheLoopOptions): Promise<InTheLoopResult> {
  const { model, train, optimizer, batch } = opts;
  const sim = new ChipSimulator(opts.config);
  const sizes = [model.layers[0].weights.length, ...model.layers.map((l) => l.weights[0].length)];
  const T = model.steps;
  const enc = { steps: T, ...model.encoding };
  const encoded = encodeDataset(train, enc);
  const inputs = encodedInputs(train.featureNames.length, enc);
  const constants = neuronConstants(model.neuron);
  const master = uploadWeights(model.layers.map((l) => l.weights));
  const opt = new Optimizer(optimizer, master.map((w) => w.shape as [number, number]));
  const nf = train.featureNames.length;
  const batches = Math.ceil(train.count / batch);
  const history: Record<string, number>[] = [];
  const masterArrays = () => Promise.all(master.map((w) => w.array()));
  const validationAccuracy = () => {
    const r = sim.run(opts.validation.features, opts.validation.count, opts.validation.labels);
    return r.samples.filter((s) => s.prediction === s.label).length / opts.validation.count;
  };
  // Epoch 0, the weights as given, is a candidate too: fine-tuning must beat the starting point.
  sim.writeWeights(await masterArrays());
  let best = { epoch: 0, accuracy: validationAccuracy(), weights: readChipWeights(sim, sizes) };
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const order = epochOrder(train.count, opts.seed, epoch);
    let lossSum = 0;
    let correct = 0;
    let mismatches = 0;
    for (let b = 0; b < batches; b++) {
      const idx = order.subarray(b * batch, Math.min(train.count, (b + 1) * batch));
      const B = idx.length;
      // 1. Forward on the chip with the current weights; read back every layer's spikes.
      sim.writeWeights(await masterArrays());
      const features = new Float64Array(B * nf);
      idx.forEach((s, i) => features.set(train.features.subarray(s * nf, (s + 1) * nf), i * nf));
      const labelsArr = Int32Array.from(idx, (s) => train.labels[s]);
      const run = sim.run(features, B, labelsArr, true);
      const rasters = sizes.slice(1).map((N, l) => {
        const r = new Uint8Array(B * T * N);
        run.samples.forEach((s, i) => fill(r, i * T * N, N, s.spikes![l]));
        return r;
      });
      correct += run.samples.filter((s) => s.prediction === s.label).length;
      // 2. Off-chip: I - Vpre per layer from its recorded inputs and the chip's weights, loss, adjoint.
      const chipW = uploadWeights(readChipWeights(sim, sizes));
      const net: EngineNetwork = { weights: chipW, constants, loss: { xi: model.loss.xi, a: model.loss.alpha, tau1: model.loss.tau1 } };
      const spikes = [tf.tensor3d(batchRaster(encoded, inputs, T, idx), [B, T, inputs], 'bool'), ...rasters.map((r, l) => tf.tensor3d(r, [B, T, sizes[l + 1]], 'bool'))];
      const D: tf.Tensor3D[] = [];
      const differing: tf.Tensor[] = [];
      chipW.forEach((W, l) => {
        const [s, d] = runTypedKernel(lifForwardKernel, [spikes[l], W], constants);
        differing.push(tf.tidy(() => tf.sum(tf.cast(tf.notEqual(s, spikes[l + 1]), 'int32'))));
        s.dispose();
        D.push(d as tf.Tensor3D);
      });
      for (const n of differing) mismatches += (await n.data())[0];
      tf.dispose(differing);
      const labels = tf.tensor1d(labelsArr, 'int32');
      const loss = ttfsLoss(net, spikes[spikes.length - 1] as tf.Tensor3D, labels, B);
      const terms = await loss.terms.data();
      for (let i = 0; i < B; i++) lossSum += terms[2 * i] + terms[2 * i + 1];
      const grads = backward(net, { spikes: spikes as tf.Tensor3D[], D }, loss.errors);
      // 3. Adam on the master weights (straight-through: the gradient of the chip's weights).
      opt.apply(master, grads, scheduledLr(optimizer, epoch * batches + b, batches));
      tf.dispose([...chipW, ...spikes, ...D, labels, loss.firstSpikes, loss.terms, loss.errors, ...grads]);
    }
    sim.writeWeights(await masterArrays());
    const row = { epoch: epoch + 1, trainLoss: lossSum / train.count, trainAccuracy: correct / train.count, validationAccuracy: validationAccuracy(), spikeMismatches: mismatches };
    history.push(row);
    if (row.validationAccuracy > best.accuracy) best = { epoch: epoch + 1, accuracy: row.validationAccuracy, weights: readChipWeights(sim, sizes) };
    opts.onEpoch?.(row);
  }
  tf.dispose(master);
  opt.dispose();
  return { chipWeights: best.weights, bestEpoch: best.epoch, bestValidationAccuracy: best.accuracy, history };
}

/** The weights the chip's layer PEs of slot 0 run, dequantised, as layers [inputs][outputs]. */
export function readChipWeights(sim: ChipSimulator, sizes: number[]): number[][][] {
  const out = sizes.slice(1).map((N, l) => Array.from({ length: sizes[l] }, () => new Array<number>(N).fill(0)));
  for (const pe of sim.pes.filter((p) => p.program === 'layer' && p.words[H.slot] === 0)) {
    const h = pe.words;
    const [l, start] = [h[H.layer] - 1, h[H.neuronStart]];
    sim.layerWeights(pe.id).forEach((row, k) => row.forEach((w, j) => (out[l][k][start + j] = w)));
  }
  return out;
}
