import type { Argv } from 'yargs';
import { backendNote, useBackend, parseBackend } from '../engine/backend.js';
import { SPLITS } from '../data/sources.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { toJsonText } from '../io/json.js';
import { checkFileOutput } from '../io/output-paths.js';

/** `--backend`, shared by every command that runs the engine. */
export function withBackend<T>(y: Argv<T>) {
  return y.option('backend', {
    type: 'string',
    default: 'auto',
    describe: 'auto (tensorflow when @tensorflow/tfjs-node[-gpu] loads, else webgpu on a hardware adapter, else wasm) | wasm | cpu | webgpu | tensorflow',
  });
}

/** Start the chosen backend; says on stderr which GPU adapter was seen (or why none is used). */
export async function startBackend(choice: string): Promise<string> {
  const name = await useBackend(parseBackend(choice));
  const note = backendNote();
  if (note) process.stderr.write(`${note}\n`);
  return name;
}

/** Write JSON to a file (atomically) or to stdout when no path is given. */
export function emitJson(value: unknown, out?: string): void {
  if (out) writeFileAtomic(out, toJsonText(value));
  else process.stdout.write(toJsonText(value));
}

/** A number flag that must be a positive integer, with a clear message. */
export function positiveInt(flag: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new UserError(`--${flag}: expected a positive integer, got '${String(value)}'`);
  }
  return value;
}

/**
 * An output-file flag: a path (`--out` with no value parses as '') that can be created or replaced as a
 * file, checked before any work is done.
 */
export function outputFile(flag: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new UserError(`--${flag}: expected a file path, got '${String(value ?? '')}'`);
  checkFileOutput(`--${flag} ${value}`, value);
  return value;
}

/** A path flag that must not be empty (`--nir` with no value parses as ''): an input, or a folder checked elsewhere. */
export function filePath(flag: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new UserError(`--${flag}: expected a file path, got '${String(value ?? '')}'`);
  return value;
}

/** Which data a chip command runs: a canonical split or a CSV. */
export function dataSpecFrom(args: { split?: string; data?: string }): string {
  if (args.data) return args.data;
  const split = args.split ?? 'test';
  if (!(SPLITS as readonly string[]).includes(split)) throw new UserError(`--split: unknown split '${split}' (expected ${SPLITS.join(', ')})`);
  return `yinyang:${split}`;
}
