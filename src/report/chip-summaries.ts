import type { ExportReport } from '../chip/export.js';
import type { Simulation } from '../chip/sim/simulator.js';
import { percent, table } from './format.js';

/** What the terminal shows of an export and of a simulation; the details are in the files. */

/** The export summary for the terminal; the details are in DIR/report.json. */
export function exportSummary(r: ExportReport): string {
  const byRole = new Map<string, ExportReport['pes']>();
  for (const p of r.pes.filter((p) => p.slot === 0)) {
    const role = p.program === 'layer' ? `layer ${p.layer}` : p.program;
    byRole.set(role, [...(byRole.get(role) ?? []), p]);
  }
  const rows = [...byRole.entries()].map(([role, pes]) => [
    role,
    pes.length,
    Math.max(...pes.map((p) => p.neurons)),
    Math.max(...pes.map((p) => p.bytes)),
    `${Math.max(...pes.map((p) => p.percentOfData)).toFixed(1)} %`,
    Math.max(...pes.map((p) => p.worstCaseCyclesPerTick)),
  ]);
  const q = r.quantisation.map((l) => `layer ${l.layer}: 2^${l.exp}, ${l.clipped} clipped, rms error ${l.rmsError.toExponential(2)}`);
  const cal = r.calibration as { data: string; samples: number; errorsNearest: number; errors: number; changed: number[]; patterns?: number; patternsSearched?: number; samplesSearched?: number } | null;
  // The search may run on a bounded subset of the input patterns; the errors count every sample.
  const subset = cal && cal.patternsSearched !== undefined && cal.patterns !== undefined && cal.patternsSearched < cal.patterns ? `, searched on ${cal.patternsSearched} of ${cal.patterns} input patterns (${cal.samplesSearched} samples)` : '';
  const rounding =
    r.rounding === 'calibrated' && cal
      ? [`rounding: calibrated on ${cal.data} (${cal.samples} samples${subset}): ${cal.errorsNearest} misclassified with round-to-nearest, ${cal.errors} calibrated; mantissas moved per layer: ${cal.changed.join('/')}`]
      : r.rounding === 'nearest'
        ? ['rounding: nearest']
        : [];
  return [
    `network ${r.sizes.join('-')}, ${r.quant}${r.quant === 'float32' ? '' : ` (clip percentile ${r.clipPercentile})`}, machine ${r.machine}`,
    `${r.slots} slot(s), ${r.activePes} PEs on ${r.chipsUsed} chip(s), router entries ${r.routerEntries.map((e) => e.entries).join('/')} (capacity ${r.routerEntries[0]?.capacity ?? '-'})`,
    '',
    table(['PEs of slot 0' + (r.pes.some((p) => p.program === 'optimiser') ? ' (and optimisers)' : ''), 'PEs', 'neurons/PE', 'max bytes', 'of data SRAM', 'worst-case cycles/tick'], rows),
    '',
    ...(q.length ? ['quantisation: ' + q.join('; ')] : []),
    ...rounding,
    ...r.realTime.map((t) => `real time at ${t.mhz} MHz: worst case ${t.worstCaseCycles} of ${t.budgetCycles} cycles per tick: ${t.fits ? 'fits' : 'DOES NOT FIT'}`),
    ...(r.time.speed === 1
      ? []
      : [`time: model steps of ${r.time.stepMs} ms on ticks of ${r.time.tickMicroseconds} µs (one step per tick): the chip runs the network at ${+r.time.speed.toFixed(4)} × its own time; a machine with tickMicroseconds ${+(1000 * r.time.stepMs).toFixed(3)} runs it in real time`]),
  ].join('\n');
}

/** A simulation run: accuracy, packets, the real-time verdict per clock, the model's latency and energy. */
export function simulationSummary(sim: Simulation): string {
  const s = sim.stats;
  const correct = sim.samples.filter((r) => r.prediction === r.label).length;
  return [
    `${s.samples} samples, accuracy ${percent(correct / s.samples)}`,
    `packets ${s.packetsSent} (${(s.packetsSent / s.samples).toFixed(1)} per sample, ${s.packetHops} chip-to-chip hops, ${s.packetsDropped} dropped), synaptic events ${s.synapticEvents}`,
    ...s.realTime.map((r) => `real time at ${r.mhz} MHz: busiest PE ${r.worstTickCycles} of ${r.budgetCycles} cycles per tick, ${r.ticksOverBudget} tick(s) over budget: ${r.fits ? 'keeps up' : 'FALLS BEHIND'}`),
    `model values: latency ${(1000 * s.latencyPerInferenceSeconds).toFixed(1)} ms per inference, energy ${s.energyPerInferenceJoules.map((e) => `${(e.joules * 1e6).toFixed(2)} µJ at ${e.mhz} MHz`).join(', ')}`,
  ].join('\n');
}
