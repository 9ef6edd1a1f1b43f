import type { CalibrationProgress } from '../quant/calibrated-rounding.js';

/** Seconds as "42 s" or "3 min 05 s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** One progress line: where calibrated rounding stands, the fraction done and the time left (when it can be estimated). */
export function calibrationLine(p: CalibrationProgress, elapsedSeconds: number): string {
  const left = p.fraction > 0.02 && elapsedSeconds >= 1 ? `, about ${duration((elapsedSeconds * (1 - p.fraction)) / p.fraction)} left` : '';
  return (
    `calibrated rounding: round ${p.round}/${p.rounds}, layer ${p.layer + 1}/${p.layers} (2^${p.exp}), sweep ${p.sweep}, ` +
    `neuron ${p.neuron}/${p.neurons}, ${p.errors} of ${p.samples} samples misclassified, ${Math.floor(100 * p.fraction)} % done${left}`
  );
}

/**
 * Turns calibrated rounding's progress callback into a progress line on stderr: on a terminal one line,
 * redrawn at most every 200 ms and cleared by `done`; elsewhere (a log) a line every 10 s, the first after
 * 10 s, so that a short calibration writes nothing. `done` ends a calibration (the next one starts its
 * clock anew).
 */
export function calibrationReporter(stream: NodeJS.WriteStream = process.stderr): { onProgress: (p: CalibrationProgress) => void; done: () => void } {
  const tty = Boolean(stream.isTTY);
  const every = tty ? 200 : 10_000;
  let start: number | null = null;
  let last = 0;
  let drawn = false;
  return {
    onProgress: (p) => {
      const now = performance.now();
      if (start === null) {
        start = now;
        last = tty ? now - every : now;
      }
      if (now - last < every) return;
      last = now;
      const line = calibrationLine(p, (now - start) / 1000);
      if (tty) {
        stream.write(`\r${line.slice(0, stream.columns ? stream.columns - 1 : line.length)}\x1b[K`);
        drawn = true;
      } else stream.write(line + '\n');
    },
    done: () => {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
      start = null;
    },
  };
}
