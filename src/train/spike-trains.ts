import type { EngineNetwork } from '../engine/network.js';
import * as tf from '@tensorflow/tfjs-core';
import { readOutcomes, runBatchPending, type EncodedSet } from './batch-runner.js';

/** Per sample: first spikes of the outputs and, per layer, the spikes as [neuron, step] in step order. */
export interface SpikeTrains {
  firstSpikes: number[][];
  spikes: [number, number][][][];
}

/** The tensor engine's forward pass over a data set, read out as spike lists (for comparing with a chip). */
export async function engineSpikeTrains(net: EngineNetwork, set: EncodedSet, batchSize: number): Promise<SpikeTrains> {
  const sizes = net.weights.map((w) => w.shape[1]);
  const out: SpikeTrains = { firstSpikes: [], spikes: [] };
  for (let start = 0; start < set.count; start += batchSize) {
    const order = Int32Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
    let spikes: tf.Tensor[] = [];
    const { pending } = runBatchPending(net, [set], [order], false, (trace) => (spikes = trace.spikes.slice(1).map((s) => tf.clone(s))));
    let perLayer: Uint8Array[];
    let outcome;
    try {
      [perLayer, [[outcome]]] = await Promise.all([Promise.all(spikes.map((s) => s.data() as Promise<Uint8Array>)), readOutcomes([pending])]);
    } finally {
      tf.dispose(spikes);
    }
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
