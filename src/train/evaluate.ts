import { checkDatasetFits, loadDataset } from '../data/sources.js';
import { networkFromModel } from '../engine/model-network.js';
import type { EngineNetwork } from '../engine/network.js';
import { modelInputs, modelOutputs } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { encodeSet, runBatch, type BatchOutcome, type EncodedSet } from './batch-runner.js';

export interface Evaluation {
  count: number;
  accuracy: number;
  /** Mean CE + mean regulariser, as the training loss. */
  loss: number;
  /** confusion[label][prediction] */
  confusion: number[][];
  /** Mean number of spikes per sample in each layer (hidden layers, then the output layer). */
  spikesPerSample: number[];
  /** Neurons of each layer that never spiked on this data. */
  silentNeurons: number[];
  predictions: Int32Array;
  /** First-spike steps, [count][outputs] flattened (T when silent). */
  firstSpikes: Int32Array;
}

/**
 * An evaluation summed batch by batch, in batch order (shared by `evaluate` and the stacked evaluation,
 * so that both add the same numbers in the same order).
 */
export class EvaluationTally {
  private readonly outputs: number;
  private readonly spikeTotals: number[];
  private readonly fired: Uint8Array[];
  private readonly confusion: number[][];
  private readonly predictions: Int32Array;
  private readonly firstSpikes: Int32Array;
  private ceSum = 0;
  private rSum = 0;
  private correct = 0;

  constructor(
    private readonly set: EncodedSet,
    private readonly sizes: number[],
  ) {
    this.outputs = sizes[sizes.length - 1];
    this.spikeTotals = new Array<number>(sizes.length).fill(0);
    this.fired = sizes.map((n) => new Uint8Array(n));
    this.confusion = Array.from({ length: this.outputs }, () => new Array<number>(this.outputs).fill(0));
    this.predictions = new Int32Array(set.count);
    this.firstSpikes = new Int32Array(set.count * this.outputs);
  }

  /** Count the spikes of layer `l` in `s[from, to)` (whole samples of a [B, T, N_l] raster). */
  addSpikes(l: number, s: ArrayLike<number>, from = 0, to = s.length): void {
    const n = this.sizes[l];
    for (let i = from; i < to; i++) {
      if (s[i] !== 0) {
        this.spikeTotals[l]++;
        this.fired[l][i % n] = 1;
      }
    }
  }

  /** Add the outcome of the batch of samples `order`, which start at position `start` of the set. */
  addBatch(start: number, order: ArrayLike<number>, outcome: BatchOutcome): void {
    this.ceSum += outcome.ceSum;
    this.rSum += outcome.rSum;
    this.correct += outcome.correct;
    this.predictions.set(outcome.predictions, start);
    this.firstSpikes.set(outcome.firstSpikes, start * this.outputs);
    for (let b = 0; b < order.length; b++) {
      const label = this.set.labels[order[b]];
      if (label < this.outputs) this.confusion[label][outcome.predictions[b]]++;
    }
  }

  result(): Evaluation {
    const { set } = this;
    return {
      count: set.count,
      accuracy: this.correct / set.count,
      loss: (this.ceSum + this.rSum) / set.count,
      confusion: this.confusion,
      spikesPerSample: this.spikeTotals.map((t) => t / set.count),
      silentNeurons: this.fired.map((f) => f.length - f.reduce((a, b) => a + b, 0)),
      predictions: this.predictions,
      firstSpikes: this.firstSpikes,
    };
  }
}

/** The samples of an evaluation batch: positions start .. start + size - 1 of the set, in order. */
export function evaluationOrder(start: number, count: number, batchSize: number): Int32Array {
  return Int32Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i);
}

/** Run the network over a whole data set in batches of `batchSize`; no gradients. */
export function evaluate(net: EngineNetwork, set: EncodedSet, batchSize: number): Evaluation {
  const sizes = net.weights.map((w) => w.shape[1]);
  const tally = new EvaluationTally(set, sizes);
  for (let start = 0; start < set.count; start += batchSize) {
    const order = evaluationOrder(start, set.count, batchSize);
    const { outcome } = runBatch(net, set, order, false, (trace) => {
      for (let l = 0; l < sizes.length; l++) tally.addSpikes(l, trace.spikes[l + 1].dataSync());
    });
    tally.addBatch(start, order, outcome);
  }
  return tally.result();
}

/** Evaluate a model file on a data set (`yinyang:<split>` or a CSV), encoded with the model's own encoding. */
export function evaluateModel(model: ModelFile, dataSpec: string, batchSize: number): Evaluation {
  const ds = loadDataset(dataSpec);
  const enc = { steps: model.steps, ...model.encoding };
  checkDatasetFits(ds, model.features ?? modelInputs(model) - (enc.bias ? 1 : 0), modelOutputs(model));
  const net = networkFromModel(model);
  try {
    return evaluate(net, encodeSet(ds, enc), batchSize);
  } finally {
    net.weights.forEach((w) => w.dispose());
  }
}
