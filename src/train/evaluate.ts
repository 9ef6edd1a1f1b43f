import { checkDatasetFits, loadDataset } from '../data/sources.js';
import { networkFromModel } from '../engine/model-network.js';
import type { EngineNetwork } from '../engine/network.js';
import { modelInputs, modelOutputs } from '../model/model-file.js';
import type { ModelFile } from '../model/schema.js';
import { encodeSet, runBatch, type EncodedSet } from './batch-runner.js';

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

/** Run the network over a whole data set in batches of `batchSize`; no gradients. */
export function evaluate(net: EngineNetwork, set: EncodedSet, batchSize: number): Evaluation {
  const layers = net.weights.length;
  const sizes = net.weights.map((w) => w.shape[1]);
  const outputs = sizes[layers - 1];
  const spikeTotals = new Array<number>(layers).fill(0);
  const fired = sizes.map((n) => new Uint8Array(n));
  const confusion = Array.from({ length: outputs }, () => new Array<number>(outputs).fill(0));
  const predictions = new Int32Array(set.count);
  const firstSpikes = new Int32Array(set.count * outputs);
  let ceSum = 0;
  let rSum = 0;
  let correct = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const order = Int32Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
    const { outcome } = runBatch(net, set, order, false, (trace) => {
      for (let l = 0; l < layers; l++) {
        const s = trace.spikes[l + 1].dataSync();
        const n = sizes[l];
        for (let i = 0; i < s.length; i++) {
          if (s[i] !== 0) {
            spikeTotals[l]++;
            fired[l][i % n] = 1;
          }
        }
      }
    });
    ceSum += outcome.ceSum;
    rSum += outcome.rSum;
    correct += outcome.correct;
    predictions.set(outcome.predictions, start);
    firstSpikes.set(outcome.firstSpikes, start * outputs);
    order.forEach((s, b) => {
      const label = set.labels[s];
      if (label < outputs) confusion[label][outcome.predictions[b]]++;
    });
  }
  return {
    count: set.count,
    accuracy: correct / set.count,
    loss: (ceSum + rSum) / set.count,
    confusion,
    spikesPerSample: spikeTotals.map((t) => t / set.count),
    silentNeurons: fired.map((f) => f.length - f.reduce((a, b) => a + b, 0)),
    predictions,
    firstSpikes,
  };
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
