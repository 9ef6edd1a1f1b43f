import { spawn } from 'node:child_process';
import { PARENT_PID_ENV } from './parent-watch.js';

export interface WorkerProcesses {
  /** How many processes to start. */
  count: number;
  /** Node's arguments for each: options, the script, its arguments. */
  args: string[];
  /** Added to this process's environment (what must stay off the command line, where `ps` shows it). */
  env: Record<string, string>;
  /** What worker `index` writes to stderr, as it comes. */
  onStderr: (index: number, text: string) => void;
}

/**
 * Start worker processes on this machine and wait for all of them; their exit codes. Each is told this
 * process's pid, so that it ends when this one does (parent-watch.ts), even when killed with SIGKILL.
 */
export function runWorkerProcesses(o: WorkerProcesses): Promise<number[]> {
  return Promise.all(
    Array.from(
      { length: o.count },
      (_, index) =>
        new Promise<number>((resolve) => {
          const child = spawn(process.execPath, o.args, {
            stdio: ['ignore', 'inherit', 'pipe'],
            env: { ...process.env, ...o.env, [PARENT_PID_ENV]: String(process.pid) },
          });
          child.stderr.setEncoding('utf8').on('data', (text: string) => o.onStderr(index, text));
          child.on('close', (code) => resolve(code ?? 1));
        }),
    ),
  );
}
