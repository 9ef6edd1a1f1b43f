import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CalibrationProgress } from '../../src/quant/calibrated-rounding.js';
import { calibrationLine, calibrationReporter, duration } from '../../src/cli/calibration-progress.js';

/**
 * The progress line of calibrated rounding (src/cli/calibration-progress.ts): its text and time left
 * (hand calculations), and when it is written on a terminal and in a log (a clock under the test's control).
 */

const at: CalibrationProgress = { round: 1, rounds: 3, layer: 0, layers: 2, exp: -4, sweep: 2, neuron: 50, neurons: 200, errors: 72, samples: 998, fraction: 0.25 };

function fakeStream(tty: boolean) {
  const writes: string[] = [];
  const stream = { isTTY: tty, columns: 200, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('calibration progress line', () => {
  it('a quarter done after 10 s leaves 10 * 0.75 / 0.25 = 30 s; 200 s is 3 min 20 s; no estimate before 2 % or 1 s', () => {
    expect(calibrationLine(at, 10)).toBe(
      'calibrated rounding: round 1/3, layer 1/2 (2^-4), sweep 2, neuron 50/200, 72 of 998 samples misclassified, 25 % done, about 30 s left',
    );
    expect(duration(200)).toBe('3 min 20 s');
    expect(calibrationLine({ ...at, fraction: 0.01 }, 10)).not.toContain('left');
    expect(calibrationLine(at, 0.5)).not.toContain('left');
  });

  it('on a terminal: drawn at once with a carriage return, redrawn after 200 ms, cleared by done', () => {
    const clock = vi.spyOn(performance, 'now').mockReturnValue(1000);
    const { stream, writes } = fakeStream(true);
    const r = calibrationReporter(stream);
    r.onProgress(at);
    clock.mockReturnValue(1100);
    r.onProgress(at); // within 200 ms: not redrawn
    clock.mockReturnValue(1300);
    r.onProgress(at);
    expect(writes).toHaveLength(2);
    expect(writes[0].startsWith('\r') && writes[0].endsWith('\x1b[K')).toBe(true);
    r.done();
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });

  it('in a log: nothing in the first 10 s (a short calibration writes nothing), then one line per 10 s; the clock restarts after done', () => {
    const clock = vi.spyOn(performance, 'now').mockReturnValue(0);
    const { stream, writes } = fakeStream(false);
    const r = calibrationReporter(stream);
    r.onProgress(at);
    clock.mockReturnValue(9_999);
    r.onProgress(at);
    expect(writes).toEqual([]);
    clock.mockReturnValue(10_000);
    r.onProgress(at);
    expect(writes).toEqual([calibrationLine(at, 10) + '\n']);
    r.done();
    expect(writes).toHaveLength(1); // nothing to clear in a log
    clock.mockReturnValue(15_000);
    r.onProgress(at);
    expect(writes).toHaveLength(1);
  });
});
