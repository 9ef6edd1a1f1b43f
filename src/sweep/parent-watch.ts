import { Worker } from 'node:worker_threads';

/**
 * A sweep worker started by `sweep run` must not outlive it: killed with SIGKILL, `sweep run` can tell
 * nobody, and its children would go on claiming trials. Each child watches its parent instead.
 *
 * The watch runs on its own thread, because a worker's main thread can be busy for a whole epoch
 * between two turns of its event loop. Every `intervalMs` it compares the process's parent with the pid
 * it was started by; once they differ (the parent died and the child was handed to init or a
 * subreaper), it ends the process with SIGKILL, which needs no help from the busy main thread.
 *
 * Nothing is left half done: a claim, report or finish is one store transaction, which a killed process
 * never commits in part, and the trial it was training stays `running` until its heartbeat goes stale
 * and another worker takes it over (as after any crash). POSIX only (Windows keeps a dead parent's pid).
 */
export function exitWithParent(parentPid: number, intervalMs = 200): void {
  if (process.ppid !== parentPid) process.kill(process.pid, 'SIGKILL');
  const watch = new Worker(
    `const { workerData } = require('node:worker_threads');
     setInterval(() => { if (process.ppid !== workerData.parentPid) process.kill(process.pid, 'SIGKILL'); }, workerData.intervalMs);`,
    { eval: true, workerData: { parentPid, intervalMs }, stdout: false, stderr: false },
  );
  // The watch never keeps the process alive by itself.
  watch.unref();
}

/** A process started by `runWorkerProcesses` (run-workers.ts) ends with the parent its environment names; any other runs on. */
export function exitWithParentFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  const parent = env[PARENT_PID_ENV];
  if (parent !== undefined && /^\d+$/.test(parent)) exitWithParent(Number(parent));
}

/** The environment variable through which `sweep run` tells its workers its pid. */
export const PARENT_PID_ENV = 'S2PROP_SWEEP_PARENT_PID';
