import type { EngineNetwork } from '../engine/network.js';
import { runBatch, type EncodedSet } from './batch-runner.js';

/** Per sample: first spikes of the outputs and, per layer, the spikes as [neuron, step] in step order. */
export interface SpikeTrains {
  firstSpikes: number[][];
  spikes: [number, number][][][];
}

/** The tensor engine's forward pass over a data set, read out as spike lists (for comparing with a chip). */
export function engineSpikeTrains(net: EngineNetwork, set: EncodedSet, batchSize: number): SpikeTrains {
  const sizes = net.weights.map((w) => w.shape[1]);
  const out: SpikeTrains = { firstSpikes: [], spikes: [] };
  for (let start = 0; start < set.count; start += batchSize) {
    const order = Int32Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
    const perLayer: Uint8Array[] = [];
    const { outcome } = runBatch(net, set, order, false, (trace) => {
      for (let l = 0; l < sizes.length; l++) perLayer.push(trace.spikes[l + 1].dataSync() as Uint8Array);
    });
    const T = set.steps;
    order.forEach((_, b) => {
      out.spikes.push(
        sizes.map((n, l) => {
          const list: [number, number][] = [];
          for (let t = 0; t < T; t++) for (let j = 0; j < n; j++) if (perLayer[l][(b * T + t) * n + j]) list.push([j, t]);
          return list;
        }),
      );
      const outputs = sizes[sizes.length - 1];
      out.firstSpikes.push(Array.from(outcome.firstSpikes.subarray(b * outputs, (b + 1) * outputs)));
    });
  }
  return out;
}
