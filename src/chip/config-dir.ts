import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { z } from 'zod';
import { SettingError, UserError, inFile } from '../errors.js';
import { parseWith } from '../formats/validate.js';
import { toJsonText } from '../io/json.js';
import { LINKS } from './routing.js';
import { REGIONS } from './memory-layout.js';
import { EncodingSchema, LossSchema, NeuronSchema } from '../model/schema.js';
import { withCurrentNames } from '../model/train-config.js';

/**
 * The chip config directory: what `s2prop export` writes and the simulator reads, and nothing else.
 *
 *   spec.json         experiment: active PEs (program, image, region map, checksum), words to write per
 *                     sample, regions to read back, duration in ticks
 *   machine.json      the machine description
 *   placement.json    which program, slot, layer slice runs on which PE, and the memory per region
 *   routing.json      key layout and key/mask/route entries per router
 *   images/ID.bin     the little-endian 32-bit words each PE loads; images/ID.regions.json its region map
 *   export.json       provenance and quantisation;  report.json  resources, real time, energy
 *
 * Files are named relative to the directory; a name that leaves it (`..`, an absolute path, a link) is
 * refused, so a directory received from someone else cannot make the simulator read elsewhere.
 */

const int = z.number().int();
const regionName = z.enum(Object.keys(REGIONS) as [keyof typeof REGIONS, ...(keyof typeof REGIONS)[]]);

export const SpecSchema = z
  .object({
    format: z.literal('s2prop-experiment'),
    version: z.literal(1),
    machine: z.string(),
    placement: z.string(),
    routing: z.string(),
    ticks: int.min(1),
    slots: int.min(1),
    pes: z
      .array(
        z
          .object({
            id: z.string(),
            chip: int.nonnegative(),
            qpe: int.nonnegative(),
            pe: int.nonnegative(),
            program: z.enum(['input', 'layer', 'loss', 'optimiser']),
            image: z.string(),
            regions: z.string(),
            sha256: z.string().regex(/^[0-9a-f]{64}$/),
          })
          .strict(),
      )
      .min(1),
    /** Before each sample: the sample's features go into this region of the slot's input PE. */
    write: z.array(z.object({ pe: z.string(), region: regionName, source: z.literal('sample-features'), slot: int.nonnegative() }).strict()),
    /** After each sample: regions to read back, per slot and layer slice. */
    read: z.array(
      z.object({ pe: z.string(), region: regionName, slot: int.nonnegative(), layer: int.min(1), neuronStart: int.nonnegative(), neurons: int.min(1) }).strict(),
    ),
    /**
     * A training export: the batch it was made for and the schedule of one sample window (forward T ticks,
     * backward T, gradient gather, weight update), and the host's learning-rate schedule (Adam on chip).
     * One written before the optimiser was renamed holds it as `optimizer`.
     */
    training: z
      .preprocess(
        (v) => withCurrentNames(v),
        z
          .object({
            batchSize: int.min(1),
            packetsPerTick: int.min(1),
            gatherTicks: int.min(1),
            updateTicks: int.min(1),
            optimiser: z.object({ type: z.literal('adam'), lr: z.number().positive(), gamma: z.number().positive().max(1) }).strict(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();
export type Spec = z.output<typeof SpecSchema>;

export const RegionMapSchema = z
  .object({
    format: z.literal('s2prop-regions'),
    version: z.literal(1),
    pe: z.string(),
    words: int.min(1),
    regions: z.array(z.object({ name: regionName, offset: int.nonnegative(), words: int.nonnegative() }).strict()),
  })
  .strict();
export type RegionMap = z.output<typeof RegionMapSchema>;

export const RoutingSchema = z
  .object({
    format: z.literal('s2prop-routing'),
    version: z.literal(1),
    keyLayout: z.record(z.string(), z.object({ shift: int, bits: int }).strict()),
    routers: z.array(
      z
        .object({
          chip: int.nonnegative(),
          entries: z.array(
            z.object({ key: int.nonnegative().max(0xffffffff), mask: int.nonnegative().max(0xffffffff), pes: z.array(z.string()), links: z.array(z.enum(LINKS)) }).strict(),
          ),
        })
        .strict(),
    ),
  })
  .strict();
export type Routing = z.output<typeof RoutingSchema>;

/**
 * export.json: what the configuration was made from. The simulator never reads it; `validate` (the
 * network's shape and the mantissas as exported) and `chip-train` (the model settings its weights belong
 * to) do. Exports written before on-chip training have no `model.loss`; before calibrated rounding, no
 * mantissas.
 */
export const ExportFileSchema = z
  .object({
    model: z
      .object({
        sizes: z.array(z.number()),
        steps: z.number().int(),
        neuron: NeuronSchema,
        encoding: EncodingSchema,
        loss: LossSchema.optional(),
        features: z.array(z.string()).optional(),
        /** SHA-256 of the weights exported from (model-file.ts weightsSha256); older exports lack it. */
        weightsSha256: z.string().optional(),
      })
      .passthrough(),
    quant: z
      .object({
        type: z.enum(['float32', 'int8', 'int4']),
        clipPercentile: z.number(),
        /** Per layer: the exponent and the mantissas as exported (base64 int8 bytes); older exports lack them. */
        layers: z.array(z.object({ exp: z.number().int(), mantissas: z.string().optional() }).passthrough()).optional(),
      })
      .passthrough(),
  })
  .passthrough();
export type ExportFile = z.output<typeof ExportFileSchema>;

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Files every config directory has, read by their fixed names (other files are named by spec.json). */
const FIXED_FILES = new Set(['spec', 'export', 'report']);

/**
 * Resolve a file named in the directory, refusing names that leave it. `field` is the spec.json field
 * that names the file (`pes[c0q0p1].image`), or `spec`, `export`, `report` for the fixed files.
 */
export function insideDir(dir: string, name: string, field: string): string {
  const norm = normalize(name);
  const fixed = FIXED_FILES.has(field);
  const where = fixed ? join(dir, name) : `${join(dir, 'spec.json')}: ${field} '${name}'`;
  if (isAbsolute(name) || norm === '..' || norm.startsWith(`..${sep}`) || norm.split(sep).includes('..')) {
    throw new UserError(`${where} names a file outside the config directory; config directories are self-contained`);
  }
  const path = join(dir, norm);
  if (!existsSync(path)) {
    if (field === 'spec' && !existsSync(dir)) throw new UserError(`${dir}: does not exist (expected a config directory written by s2prop export)`);
    if (field === 'spec') throw new UserError(`${dir}: not an s2prop config directory (it has no spec.json; s2prop export writes one)`);
    throw new UserError(fixed ? `${path}: does not exist (every config directory written by s2prop export has one)` : `${where} names ${path}, which does not exist`);
  }
  // No links anywhere below the directory: a link could point anywhere.
  let walk = dir;
  for (const part of norm.split(sep)) {
    walk = join(walk, part);
    if (lstatSync(walk).isSymbolicLink()) {
      throw new UserError(`${where}${fixed ? ':' : ''} goes through the symbolic link ${walk}; config directories hold plain files only`);
    }
  }
  const root = realpathSync(dir);
  if (!realpathSync(path).startsWith(root + sep)) throw new UserError(`${where}${fixed ? ':' : ''} resolves outside the config directory`);
  if (!lstatSync(path).isFile()) throw new UserError(`${where}${fixed ? ':' : ''} is not a file`);
  return path;
}

/** Whether `path` (a file that may not exist yet) would lie inside the directory `dir`, links resolved. */
export function isInsideDir(dir: string, path: string): boolean {
  if (!existsSync(dir)) return false;
  const root = realpathSync(dir);
  // Resolve the deepest existing folder above the path, then append the rest.
  let head = resolve(path);
  let tail = '';
  while (!existsSync(head) && dirname(head) !== head) {
    tail = tail ? join(basename(head), tail) : basename(head);
    head = dirname(head);
  }
  const full = tail ? join(realpathSync(head), tail) : realpathSync(head);
  return full === root || full.startsWith(root + sep);
}

export function readDirJson(dir: string, name: string, field: string): unknown {
  const path = insideDir(dir, name, field);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw inFile(path, `not valid JSON (${(err as Error).message})`);
  }
}

export function readDirFile<S extends z.ZodType>(dir: string, name: string, field: string, schema: S): z.output<S> {
  return parseWith(schema, readDirJson(dir, name, field), join(dir, name));
}

/**
 * Write a whole directory atomically: into a sibling temporary directory, then swap it in. An existing
 * target is replaced only when it is an earlier export (it has a spec.json).
 */
export function writeDirAtomic(dir: string, files: Map<string, string | Uint8Array>): void {
  if (existsSync(dir) && (!lstatSync(dir).isDirectory() || !existsSync(join(dir, 'spec.json')))) {
    throw new SettingError('out', dir, 'exists and is not an s2prop config directory; refusing to replace it');
  }
  replaceDir(dir, files);
}

/**
 * Swap a folder in: write the files into a sibling temporary folder, then rename it over `dir` (the old
 * one is moved aside first and put back if the swap fails), so a crash never leaves half a folder.
 */
export function replaceDir(dir: string, files: Map<string, string | Uint8Array>): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    for (const [name, contents] of files) {
      const path = join(tmp, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, contents);
    }
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(old) && !existsSync(dir)) renameSync(old, dir);
    const code = (err as NodeJS.ErrnoException).code;
    if (code && ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR'].includes(code)) throw new UserError(`${dir}: cannot write the folder (${code})`);
    throw err;
  }
}

export const jsonFile = toJsonText;
