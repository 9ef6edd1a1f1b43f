import * as tf from '@tensorflow/tfjs-core';
import { batchFileRaster, type BatchFile } from '../formats/batch-file.js';
import type { GradientReport } from '../formats/gradient-report.js';
import type { ModelFile } from '../model/schema.js';
import { networkFromModel } from './model-network.js';
import { disposeTrace, forward, gradients, ttfsLoss } from './network.js';

/** Loss, first spikes and dL/dW of one batch of explicit input spike trains (batch checked by the caller). */
export async function batchGradients(model: ModelFile, batch: BatchFile, withSpikes = false): Promise<GradientReport> {
  const net = networkFromModel(model);
  const B = batch.samples.length;
  const input = tf.tensor3d(batchFileRaster(batch), [B, batch.steps, batch.inputs], 'bool');
  const labels = tf.tensor1d(batch.samples.map((s) => s.label), 'int32');
  const trace = forward(net, input);
  const loss = ttfsLoss(net, trace.spikes[trace.spikes.length - 1], labels);
  const grads = gradients(net, trace, loss, labels);
  try {
    const [terms, firstSpikes, gradArrays, spikes] = await Promise.all([
      loss.terms.data(),
      loss.firstSpikes.array() as Promise<number[][]>,
      Promise.all(grads.map((g) => g.array())),
      withSpikes ? Promise.all(trace.spikes.slice(1).map((s) => s.array() as unknown as Promise<boolean[][][]>)) : null,
    ]);
    let total = 0;
    for (let b = 0; b < B; b++) total += terms[2 * b] + terms[2 * b + 1];
    const report: GradientReport = { loss: total / B, firstSpikes, grads: gradArrays };
    if (spikes) report.spikes = spikes.map((s) => s.map((a) => a.map((r) => r.map(Number))));
    return report;
  } finally {
    disposeTrace(trace);
    tf.dispose([input, labels, loss.firstSpikes, loss.terms, loss.errors, ...grads, ...net.weights]);
  }
}
