import cliProgress from 'cli-progress';
import { epochLine } from '../report/format.js';
import type { TrainProgress } from '../train/trainer.js';

/**
 * Turns the trainer's progress callback into a progress bar per epoch (on a terminal) and one line per
 * finished epoch (always, on stderr). Training runs synchronously, so the bar is redrawn from here,
 * at most every 100 ms, instead of from cli-progress's timer.
 */
export function epochReporter(): (p: TrainProgress) => void {
  const tty = Boolean(process.stderr.isTTY);
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} batches  loss {loss}  acc {acc}  {eta_formatted} left',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let epochs = 0;
  let lastDraw = 0;
  return (p) => {
    if (p.type === 'calibrated') {
      const r = p.report;
      process.stderr.write(
        `calibrated start: exponents ${r.exponents.join(',')} (percentile rule ${r.exponentsRule.join(',')}), ` +
          `training errors ${r.errorsNearest} -> ${r.errors} of ${r.samples}, validation ${(100 * p.validationAccuracy).toFixed(2)} % (epoch 0)\n`,
      );
    } else if (p.type === 'warning') {
      return; // printed by the command, --quiet or not
    } else if (p.type === 'start') {
      epochs = p.epochs;
      if (tty) bar.start(p.batches, 0, { epoch: p.epoch, epochs, loss: '-', acc: '-' });
    } else if (p.type === 'batch') {
      if (!tty) return;
      // GPU backends give no running numbers (their outcomes are read once per epoch).
      bar.update(p.batch, { loss: p.loss?.toFixed(4) ?? '-', acc: p.accuracy === undefined ? '-' : `${(100 * p.accuracy).toFixed(1)}%` });
      const now = performance.now();
      if (now - lastDraw > 100) {
        bar.render();
        lastDraw = now;
      }
    } else {
      if (tty) bar.stop();
      process.stderr.write(epochLine(p.metrics, epochs, p.best) + '\n');
    }
  };
}
