import type { Machine } from './machine.js';

/** What a PE did in one tick, the input of the cost model. */
export interface TickWork {
  received: number;
  synapticEvents: number;
  neuronUpdates: number;
  sent: number;
  /** Float operations outside the synaptic and neuron updates (on-chip training: adjoint, loss, Adam). */
  floatOps?: number;
}

/** Estimated cycles for a tick's work (cost model: all constants are model values in the machine file). */
export function tickCycles(w: TickWork, m: Machine): number {
  const c = m.cost;
  return (
    c.cyclesPerTickOverhead.value +
    w.received * c.cyclesPerPacketReceived.value +
    w.synapticEvents * c.cyclesPerSynapticEvent.value +
    w.neuronUpdates * c.cyclesPerNeuronUpdate.value +
    w.sent * c.cyclesPerPacketSent.value +
    (w.floatOps ?? 0) * c.cyclesPerFloatOp.value
  );
}

/** Cycles available per tick at a clock frequency. */
export function tickBudget(m: Machine, mhz: number): number {
  return Math.floor(m.clock.tickMicroseconds.value * mhz);
}

/** What the energy estimate is made of: work done, and the PEs idling for a time, at a clock frequency. */
export interface EnergyUse {
  cycles: number;
  hops: number;
  activePes: number;
  seconds: number;
  mhz: number;
}

/** Estimated energy in joules (model values) for cycles spent and packet hops, plus idle power. */
export function energyJoules({ cycles, hops, activePes, seconds, mhz }: EnergyUse, m: Machine): number {
  const perCycle = mhz <= 150 ? m.cost.picojoulesPerCycle150MHz.value : m.cost.picojoulesPerCycle300MHz.value;
  return cycles * perCycle * 1e-12 + hops * m.cost.picojoulesPerPacketHop.value * 1e-12 + activePes * m.cost.microwattsIdlePerPe.value * 1e-6 * seconds;
}
