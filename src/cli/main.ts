#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { SettingError, UserError } from '../errors.js';
import { dataCommand } from './data.js';
import { evalCommand } from './evaluate.js';
import { exportCommand } from './export.js';
import { simulateCommand } from './simulate.js';
import { sweepCommand } from './sweep.js';
import { chipGradCommand } from './chip-grad.js';
import { chipLoopCommand } from './chip-loop.js';
import { chipTrainCommand } from './chip-train.js';
import { validateCommand } from './validate.js';
import { gradCommand } from './grad.js';
import { initCommand } from './init.js';
import { mainCommand } from './main-job.js';
import { nirCommand } from './nir.js';
import { trainCommand } from './train.js';
import { TOOL_VERSION } from '../version.js';

/** One line for what the user can fix, a stack trace for anything else (a bug). */
function fail(err: unknown): never {
  if (err instanceof SettingError) {
    // The setting as the flag that sets it: clipPercentile -> --clip-percentile.
    const flag = `--${err.setting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    process.stderr.write(`s2prop: ${flag}${err.value === undefined ? '' : ` ${err.value}`}: ${err.problem}\n`);
    process.exit(1);
  }
  if (err instanceof UserError) {
    process.stderr.write(`s2prop: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`s2prop: internal error (please report): ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(2);
}

try {
  await yargs(hideBin(process.argv))
    .scriptName('s2prop')
    // A flag given twice takes the last value (not an array, which no handler expects).
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .version(TOOL_VERSION)
    .command(dataCommand)
    .command(initCommand)
    .command(trainCommand)
    .command(evalCommand)
    .command(gradCommand)
    .command(exportCommand)
    .command(simulateCommand)
    .command(validateCommand)
    .command(chipGradCommand)
    .command(chipTrainCommand)
    .command(chipLoopCommand)
    .command(sweepCommand)
    .command(mainCommand)
    .command(nirCommand)
    .demandCommand(1, 'expected a command (see s2prop --help)')
    .recommendCommands()
    .strictCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((msg, err) => {
      if (err) throw err;
      // recommendCommands reports only its suggestion; name the command that was not found too.
      const typed = hideBin(process.argv).find((a) => !a.startsWith('-'));
      if (/^Did you mean/.test(msg) && typed) throw new UserError(`Unknown command: ${typed}. ${msg}`);
      throw new UserError(msg);
    })
    .parseAsync();
} catch (err) {
  fail(err);
}
