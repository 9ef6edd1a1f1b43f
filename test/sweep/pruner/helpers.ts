import type { Trial } from '../../../src/sweep/types.js';

/** A trial with objective `values[i]` at epoch i + 1. */
export function withHistory(number: number, values: number[], state: Trial['state'] = 'running'): Trial {
  return {
    number,
    params: {},
    state,
    value: state === 'running' ? null : values[values.length - 1],
    intermediate: values.map((value, i) => ({ epoch: i + 1, value })),
    worker: null,
    heartbeatAt: null,
    startedAt: 0,
    finishedAt: null,
    attrs: {},
  };
}

/** The same history as a loss: 1 - accuracy, so minimising it ranks trials as maximising accuracy does. */
export function mirrored(t: Trial): Trial {
  return { ...t, value: t.value === null ? null : 1 - t.value, intermediate: t.intermediate.map((r) => ({ ...r, value: 1 - r.value })) };
}
