import { z } from 'zod';
import { SettingError } from '../errors.js';
import { parseWith, readJsonFile } from '../formats/validate.js';

/**
 * The machine description (format `s2prop-machine`, version 1): everything the exporter and the
 * simulator assume about the hardware, each value marked with where it comes from —
 * `confirmed` (the chip's makers), `reported` (other users' code or notes), `model` (a choice of this
 * toolkit where nothing public says more; change it here and nowhere else).
 */

export const CONFIDENCE = ['confirmed', 'reported', 'model'] as const;

const fact = <T extends z.ZodType>(value: T) =>
  z.object({ value, confidence: z.enum(CONFIDENCE), note: z.string().optional() }).strict();
const posInt = z.number().int().positive();
const posNum = z.number().finite().positive();
const nonNeg = z.number().finite().nonnegative();

export const MachineSchema = z
  .object({
    format: z.literal('s2prop-machine'),
    version: z.literal(1),
    name: z.string(),
    chips: z
      .object({
        count: fact(posInt),
        /** Chips laid out on a grid of this width (rows follow), linked to their grid neighbours. */
        gridWidth: fact(posInt),
      })
      .strict(),
    qpe: z
      .object({
        perChip: fact(posInt),
        pesPerQpe: fact(posInt),
        /** QPE coordinates on the chip, [x, y] per QPE index. */
        coordinates: fact(z.array(z.tuple([z.number().int(), z.number().int()]))),
        /** PEs offered to applications per chip (the rest run system software). */
        applicationPesPerChip: fact(posInt),
      })
      .strict(),
    memory: z
      .object({
        sramBytesPerPe: fact(posInt),
        /** The part of a PE's SRAM usable for data (code and stack take the rest). */
        dataBytesPerPe: fact(posInt),
      })
      .strict(),
    clock: z.object({ optionsMHz: fact(z.array(posNum).min(1)), tickMicroseconds: fact(posNum) }).strict(),
    router: z.object({ entriesPerChip: fact(posInt) }).strict(),
    packet: z.object({ keyBits: fact(z.literal(32)), payloadBits: fact(z.literal(32)) }).strict(),
    cost: z
      .object({
        cyclesPerSynapticEvent: fact(nonNeg),
        cyclesPerNeuronUpdate: fact(nonNeg),
        cyclesPerPacketSent: fact(nonNeg),
        cyclesPerPacketReceived: fact(nonNeg),
        cyclesPerFloatOp: fact(nonNeg),
        cyclesPerTickOverhead: fact(nonNeg),
        picojoulesPerCycle150MHz: fact(nonNeg),
        picojoulesPerCycle300MHz: fact(nonNeg),
        picojoulesPerPacketHop: fact(nonNeg),
        microwattsIdlePerPe: fact(nonNeg),
      })
      .strict(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.qpe.coordinates.value.length !== m.qpe.perChip.value) {
      ctx.addIssue({ code: 'custom', path: ['qpe', 'coordinates', 'value'], message: `has ${m.qpe.coordinates.value.length} entries, expected qpe.perChip = ${m.qpe.perChip.value}` });
    }
    if (m.memory.dataBytesPerPe.value > m.memory.sramBytesPerPe.value) {
      ctx.addIssue({ code: 'custom', path: ['memory', 'dataBytesPerPe', 'value'], message: 'is larger than sramBytesPerPe' });
    }
  });

export type Machine = z.output<typeof MachineSchema>;

/** SpiNNaker2's QPE grid: 8 x 5 positions, two of which hold no QPE (model: which two is not public). */
function qpeGrid(): [number, number][] {
  const out: [number, number][] = [];
  for (let y = 0; y < 5; y++) for (let x = 0; x < 8; x++) if (!(x === 0 && (y === 0 || y === 4))) out.push([x, y]);
  return out;
}

function machine(name: string, chips: number, gridWidth: number): Machine {
  return {
    format: 's2prop-machine',
    version: 1,
    name,
    chips: {
      count: { value: chips, confidence: chips === 1 ? 'confirmed' : 'reported', note: chips === 1 ? 'one chip' : 'boards of 48 chips' },
      gridWidth: { value: gridWidth, confidence: 'model', note: 'chips on a grid, linked to grid neighbours; the real board wiring (6 links per chip) is not modelled' },
    },
    qpe: {
      perChip: { value: 38, confidence: 'confirmed' },
      pesPerQpe: { value: 4, confidence: 'confirmed' },
      coordinates: { value: qpeGrid(), confidence: 'model', note: '8 x 5 grid less two corners' },
      applicationPesPerChip: { value: 148, confidence: 'reported', note: 'of 152; the rest run system software' },
    },
    memory: {
      sramBytesPerPe: { value: 131072, confidence: 'confirmed', note: '128 KiB' },
      dataBytesPerPe: { value: 94208, confidence: 'reported', note: '~96 KiB data less the top 4 KiB for stack and heap' },
    },
    clock: {
      optionsMHz: { value: [150, 300], confidence: 'reported', note: '150 MHz at 0.5 V, 300 MHz at 0.8 V (DVFS)' },
      tickMicroseconds: { value: 1000, confidence: 'confirmed', note: 'default timer tick = one model step of 1 ms' },
    },
    router: { entriesPerChip: { value: 16384, confidence: 'reported', note: 'SpiNNaker1 had 1024' } },
    packet: { keyBits: { value: 32, confidence: 'confirmed' }, payloadBits: { value: 32, confidence: 'confirmed' } },
    cost: {
      cyclesPerSynapticEvent: { value: 8, confidence: 'model', note: 'load weight, add, store, loop' },
      cyclesPerNeuronUpdate: { value: 30, confidence: 'model', note: 'I, V update, threshold test' },
      cyclesPerPacketSent: { value: 20, confidence: 'model' },
      cyclesPerPacketReceived: { value: 40, confidence: 'model', note: 'interrupt entry, buffer write' },
      cyclesPerFloatOp: { value: 1, confidence: 'model', note: 'Cortex-M4F VADD/VMUL single cycle; VDIV 14' },
      cyclesPerTickOverhead: { value: 500, confidence: 'model', note: 'timer interrupt and loop overhead' },
      picojoulesPerCycle150MHz: { value: 10, confidence: 'model' },
      picojoulesPerCycle300MHz: { value: 25, confidence: 'model' },
      picojoulesPerPacketHop: { value: 50, confidence: 'model' },
      microwattsIdlePerPe: { value: 100, confidence: 'model' },
    },
  };
}

export const BUILTIN_MACHINES: Record<string, Machine> = { chip: machine('chip', 1, 1), board: machine('board', 48, 8) };

export function parseMachine(data: unknown, fileName: string): Machine {
  return parseWith(MachineSchema, data, fileName);
}

/** `chip`, `board` or a machine description file. */
export function loadMachine(nameOrFile: string): Machine {
  const builtin = BUILTIN_MACHINES[nameOrFile];
  if (builtin) return structuredClone(builtin);
  if (!nameOrFile.endsWith('.json')) {
    throw new SettingError('machine', undefined, `unknown machine '${nameOrFile}' (expected ${Object.keys(BUILTIN_MACHINES).join(', ')} or a .json file)`);
  }
  return parseMachine(readJsonFile(nameOrFile), nameOrFile);
}

/** Application PEs per QPE and chip as the placer sees them. */
export function pesPerChip(m: Machine): number {
  return Math.min(m.qpe.applicationPesPerChip.value, m.qpe.perChip.value * m.qpe.pesPerQpe.value);
}
