import type { WorkerEvent } from '../sweep/worker.js';

/** A parameter or objective value, short: integers as they are, other numbers to 4 significant digits. */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  return JSON.stringify(v);
}

/** Parameters as `name value, ...`, numbers to 4 significant digits without trailing zeros (0.004, 1.5). */
function paramList(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? String(Number(v.toPrecision(4))) : JSON.stringify(v)}`)
    .join(', ');
}

/**
 * One stderr line per worker event, naming the trial and the worker:
 *   trial 3 started by host:412: optimiser.lr 0.003162, loss.xi 1
 *   trial 1 taken over by host:412 from host:377 (no heartbeat for 64 s; its 2 epochs are discarded, it restarts at epoch 1): ...
 *   trial 3 pruned by host:412 after epoch 2: validationAccuracy 0.6133
 *   trial 3 complete (host:412, 4 epochs): validationAccuracy 0.8800
 *   trial 3 failed (host:412): <the error>
 *   trial 3 lost by host:412: another worker took it over (this worker sent no heartbeat for longer than --stale-after)
 */
export function workerEventLine(e: WorkerEvent, metric: string): string {
  const t = e.trial;
  if (e.type === 'start') {
    const params = paramList(t.params);
    const to = e.trial.takenOver;
    if (!to) return `trial ${t.number} started by ${e.worker}: ${params}`;
    const silence = to.heartbeatAt !== null && t.heartbeatAt !== null ? `no heartbeat for ${Math.round((t.heartbeatAt - to.heartbeatAt) / 1000)} s` : 'no heartbeat';
    const discarded = to.epochs ? `its ${to.epochs} epoch${to.epochs === 1 ? ' is' : 's are'} discarded, it restarts at epoch 1` : 'it restarts at epoch 1';
    return `trial ${t.number} taken over by ${e.worker} from ${to.worker ?? 'an unnamed worker'} (${silence}; ${discarded}): ${params}`;
  }
  if (e.type === 'lost') return `trial ${t.number} lost by ${e.worker}: another worker took it over (this worker sent no heartbeat for longer than --stale-after)`;
  const value = e.value === null ? '' : `: ${metric} ${formatValue(e.value)}`;
  if (e.state === 'pruned') return `trial ${t.number} pruned by ${e.worker} after epoch ${e.epochs}${value}`;
  if (e.state === 'failed') return `trial ${t.number} failed (${e.worker}): ${e.error ?? 'no reason given'}`;
  return `trial ${t.number} complete (${e.worker}, ${e.epochs} epoch${e.epochs === 1 ? '' : 's'})${value}`;
}
