/**
 * The prediction rule (docs/contract.md, "Time-to-first-spike loss"): the output neuron whose first spike
 * is earliest, ties to the lowest index. A silent neuron's first spike is T, so it loses to any spiking one
 * and a sample with no output spike predicts 0.
 * Independent copies on purpose: the chip simulator's (chip/sim/simulator.ts), the oracle's
 * (test/oracle/eventprop-oracle.ts), and the generated Python of the py-spinnaker2 export (export/py-spinnaker2/script.ts).
 */
export function predictedClass(firstSpikes: ArrayLike<number>, at = 0, outputs = firstSpikes.length - at): number {
  let best = 0;
  for (let n = 1; n < outputs; n++) if (firstSpikes[at + n] < firstSpikes[at + best]) best = n;
  return best;
}
