import { describe, expect, it } from 'vitest';
import { workerEventLine } from '../../src/report/sweep-log.js';
import type { ClaimedTrial } from '../../src/sweep/types.js';

const trial = (extra: Partial<ClaimedTrial> = {}): ClaimedTrial => ({
  number: 3, params: { 'optimiser.lr': 0.0031623, 'loss.xi': 1 }, state: 'running', value: null, intermediate: [], worker: 'h:2', heartbeatAt: 100_000, startedAt: 0, finishedAt: null, attrs: {}, ...extra,
});

describe('worker event lines name the trial and the worker', () => {
  it('start, take-over (silence from the two heartbeats: 164 s - 100 s = 64 s), prune, completion, failure, loss', () => {
    expect(workerEventLine({ type: 'start', worker: 'h:2', trial: trial() }, 'validationAccuracy')).toBe('trial 3 started by h:2: optimiser.lr 0.003162, loss.xi 1');
    const taken = trial({ heartbeatAt: 164_000, takenOver: { worker: 'h:1', heartbeatAt: 100_000, epochs: 2 } });
    expect(workerEventLine({ type: 'start', worker: 'h:2', trial: taken }, 'validationAccuracy')).toBe(
      'trial 3 taken over by h:2 from h:1 (no heartbeat for 64 s; its 2 epochs are discarded, it restarts at epoch 1): optimiser.lr 0.003162, loss.xi 1',
    );
    const finish = (state: 'complete' | 'pruned' | 'failed', value: number | null, epochs: number, error?: string) =>
      workerEventLine({ type: 'finish', worker: 'h:2', trial: trial(), state, value, epochs, ...(error ? { error } : {}) }, 'validationAccuracy');
    expect(finish('pruned', 0.61333, 2)).toBe('trial 3 pruned by h:2 after epoch 2: validationAccuracy 0.6133');
    expect(finish('complete', 0.88, 4)).toBe('trial 3 complete (h:2, 4 epochs): validationAccuracy 0.8800');
    expect(finish('failed', null, 0, 'steps: expected at most 1000')).toBe('trial 3 failed (h:2): steps: expected at most 1000');
    expect(workerEventLine({ type: 'lost', worker: 'h:2', trial: trial() }, 'validationAccuracy')).toMatch(/^trial 3 lost by h:2: another worker took it over/);
  });
});
