import * as tf from '@tensorflow/tfjs-core';
import { H } from '../chip/memory-layout.js';
import { ChipSimulator } from '../chip/sim/simulator.js';
import type { ChipConfig } from '../chip/sim/load-config.js';
import type { Dataset } from '../data/dataset.js';
import { batchRaster, encodeDataset, encodedInputs } from '../data/encoding.js';
import { lifForwardKernel } from '../engine/lif-forward-kernel.js';
import { uploadWeights } from '../engine/model-network.js';
import { gradients, ttfsLoss, type EngineNetwork } from '../engine/network.js';
import { runTypedKernel } from '../engine/typed-kernel.js';
import { neuronConstants, type NeuronConstants } from '../model/neuron.js';
import type { ModelFile } from '../model/schema.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { runTrials, type BatchSums, type EpochEnd, type Learner, type LoopTrial } from '../train/loop.js';
import { Optimiser, type OptimiserSettings } from '../train/optimiser.js';

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
  optimiser: OptimiserSettings;
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

/** Where the model and the export came from, for the provenance of the trained model. */
export interface InTheLoopSources {
  modelPath: string;
  configDir: string;
}

/**
 * Chip-in-the-loop training, then the chosen weights tested on the chip: the model file of the weights
 * the chip runs at the best epoch (float weights as the chip runs them, no quantisation record), with
 * its chip test and validation accuracies and provenance.
 */
export async function trainInTheLoop(opts: InTheLoopOptions & { test: Dataset; sources: InTheLoopSources }): Promise<{ model: ModelFile; result: InTheLoopResult; testAccuracy: number }> {
  // Its own simulator, made before training: the one the training ran on holds its last batch's state.
  const sim = new ChipSimulator(opts.config);
  const result = await chipInTheLoop(opts);
  sim.writeWeights(result.chipWeights);
  const { test } = opts;
  const run = sim.run(test.features, test.count, test.labels);
  const testAccuracy = run.samples.filter((s) => s.prediction === s.label).length / test.count;
  const { quantisation: _q, metrics: _m, ...rest } = opts.model;
  const model: ModelFile = {
    ...rest,
    layers: result.chipWeights.map((weights) => ({ weights })),
    provenance: {
      tool: TOOL_NAME,
      toolVersion: TOOL_VERSION,
      seed: opts.seed,
      epochs: result.history.length,
      bestEpoch: result.bestEpoch,
      trainedOn: `chip-in-the-loop (${opts.sources.configDir})`,
      initModel: opts.sources.modelPath,
    },
    metrics: { chipTestAccuracy: testAccuracy, chipValidationAccuracy: result.bestValidationAccuracy },
  };
  return { model, result, testAccuracy };
}

/** Spike lists per layer of one sample ([[neuron, step], ...]) into a dense raster [T][N] at `offset`. */
function fill(raster: Uint8Array, offset: number, N: number, spikes: [number, number][]): void {
  for (const [n, t] of spikes) raster[offset + t * N + n] = 1;
}

/** The chip in the loop as the training loop's learner (one trial). */
class InTheLoopLearner implements Learner<LoopTrial<null>> {
  private readonly sim: ChipSimulator;
  private readonly sizes: number[];
  private readonly encoded: Int32Array;
  private readonly inputs: number;
  private readonly constants: NeuronConstants;
  /** The float master weights [1, inputs, outputs] per layer. */
  private readonly master: tf.Tensor3D[];
  private readonly optimiser: Optimiser;
  private mismatches = 0;

  constructor(private readonly opts: InTheLoopOptions) {
    const { model, train } = opts;
    this.sim = new ChipSimulator(opts.config);
    this.sizes = [model.layers[0].weights.length, ...model.layers.map((l) => l.weights[0].length)];
    const enc = { steps: model.steps, ...model.encoding };
    this.encoded = encodeDataset(train, enc);
    this.inputs = encodedInputs(train.featureNames.length, enc);
    this.constants = neuronConstants(model.neuron);
    this.master = uploadWeights(model.layers.map((l) => l.weights)).map((w) => {
      const stacked = tf.expandDims(w, 0) as tf.Tensor3D;
      w.dispose();
      return stacked;
    });
    this.optimiser = new Optimiser(opts.optimiser.type, this.sizes.slice(1).map((n, l) => [this.sizes[l], n] as [number, number]), [opts.optimiser]);
  }

  join(): void {}

  keep(): void {}

  private async writeMaster(): Promise<void> {
    this.sim.writeWeights((await Promise.all(this.master.map((w) => w.array()))).map((w) => w[0]));
  }

  async runBatch([idx]: Int32Array[], lrs: number[]): Promise<BatchSums[]> {
    const { model, train } = this.opts;
    const { sizes, constants } = this;
    const T = model.steps;
    const B = idx.length;
    const nf = train.featureNames.length;
    // 1. Forward on the chip with the current weights; read back every layer's spikes.
    await this.writeMaster();
    const features = new Float64Array(B * nf);
    idx.forEach((s, i) => features.set(train.features.subarray(s * nf, (s + 1) * nf), i * nf));
    const labelsArr = Int32Array.from(idx, (s) => train.labels[s]);
    const run = this.sim.run(features, B, labelsArr, true);
    const rasters = sizes.slice(1).map((N, l) => {
      const r = new Uint8Array(B * T * N);
      run.samples.forEach((s, i) => fill(r, i * T * N, N, s.spikes![l]));
      return r;
    });
    const sums: BatchSums = { ceSum: 0, rSum: 0, correct: run.samples.filter((s) => s.prediction === s.label).length };
    // 2. Off-chip: I - Vpre per layer from its recorded inputs and the chip's weights, loss, adjoint.
    const chipW = uploadWeights(readChipWeights(this.sim, sizes));
    const net: EngineNetwork = { weights: chipW, constants, loss: model.loss };
    const spikes = [tf.tensor3d(batchRaster(this.encoded, this.inputs, T, idx), [B, T, this.inputs], 'bool'), ...rasters.map((r, l) => tf.tensor3d(r, [B, T, sizes[l + 1]], 'bool'))];
    const D: tf.Tensor3D[] = [];
    const differing: tf.Tensor[] = [];
    chipW.forEach((W, l) => {
      const [s, d] = runTypedKernel(lifForwardKernel, [spikes[l], W], constants);
      differing.push(tf.tidy(() => tf.sum(tf.cast(tf.notEqual(s, spikes[l + 1]), 'int32'))));
      s.dispose();
      D.push(d as tf.Tensor3D);
    });
    for (const n of differing) this.mismatches += (await n.data())[0];
    tf.dispose(differing);
    const labels = tf.tensor1d(labelsArr, 'int32');
    const loss = ttfsLoss(net, spikes[spikes.length - 1] as tf.Tensor3D, labels, B);
    const terms = await loss.terms.data();
    for (let i = 0; i < B; i++) {
      sums.ceSum += terms[2 * i];
      sums.rSum += terms[2 * i + 1];
    }
    const grads = gradients(net, { spikes: spikes as tf.Tensor3D[], D }, loss, labels);
    // 3. The optimiser on the master weights (straight-through: the gradient of the chip's weights).
    const stacked = grads.map((g) => tf.expandDims(g, 0) as tf.Tensor3D);
    this.optimiser.apply(this.master, stacked, lrs);
    tf.dispose([...chipW, ...spikes, ...D, labels, loss.firstSpikes, loss.terms, loss.errors, ...grads, ...stacked]);
    return [sums];
  }

  async endEpoch(): Promise<EpochEnd[]> {
    await this.writeMaster();
    const v = this.opts.validation;
    const r = this.sim.run(v.features, v.count, v.labels);
    const accuracy = r.samples.filter((s) => s.prediction === s.label).length / v.count;
    const columns = { spikeMismatches: this.mismatches };
    this.mismatches = 0;
    return [{ validation: { accuracy }, candidate: readChipWeights(this.sim, this.sizes), columns }];
  }

  async state(): Promise<null> {
    return null;
  }

  dispose(): void {
    tf.dispose(this.master);
    this.optimiser.dispose();
  }
}

/**
 * Chip-in-the-loop training: the training loop (train/loop.ts) with the chip in the loop as its learner.
 * The weights as given (epoch 0) are a candidate too: fine-tuning must beat the starting point.
 */
export async function chipInTheLoop(opts: InTheLoopOptions): Promise<InTheLoopResult> {
  const learner = new InTheLoopLearner(opts);
  try {
    const trial: LoopTrial<null> = {
      seed: opts.seed,
      batch: opts.batch,
      epochs: opts.epochs,
      schedule: opts.optimiser,
      count: opts.train.count,
      startIsCandidate: true,
      onProgress: (p) => {
        if (p.type === 'epoch') opts.onEpoch?.(p.metrics);
      },
    };
    const [{ best, history }] = await runTrials(learner, [trial]);
    return { chipWeights: best.weights, bestEpoch: best.epoch, bestValidationAccuracy: best.accuracy, history };
  } finally {
    learner.dispose();
  }
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
