// Shared by the GPU benchmark and the agreement checks: run a child node process with a wall-clock limit
// and take its last stdout line as its JSON answer (so a crash or a timeout becomes a recorded error).
import { spawn } from 'node:child_process';

/** Resolves to the child's JSON answer, or to `{ error }` saying why there is none. */
export function runJsonChild(args, limitSeconds, timeoutWhy = 'its time limit') {
  return new Promise((done) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      killed = true;
      p.kill('SIGKILL');
    }, limitSeconds * 1000);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      try {
        done(JSON.parse(stdout.trim().split('\n').pop()));
      } catch {
        done({ error: killed ? `killed after ${limitSeconds} s (${timeoutWhy})` : `exited with ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
      }
    });
  });
}
