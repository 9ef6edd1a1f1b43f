import { join } from 'node:path';
import { insideDir, readDirFile, readDirJson, RegionMapSchema, RoutingSchema, SpecSchema, type Routing, type Spec } from '../config-dir.js';
import { parseMachine, type Machine } from '../machine.js';
import type { RegionName } from '../memory-layout.js';
import { CONFIG_RULES, PE_ENTRY_RULES, type ConfigCheck } from './config-rules.js';
import { runRules } from './design-rules.js';
import { HEADER_RULES, IMAGE_FILE_RULES, ImageCheck, PROGRAM_RULES, REGION_RULES } from './image-rules.js';

/** One PE as the simulator loads it: its memory image, checked against the spec and region map. */
export interface LoadedPe {
  id: string;
  chip: number;
  program: Spec['pes'][number]['program'];
  words: Uint32Array;
  regions: Map<RegionName, { offset: number; words: number }>;
}

export interface ChipConfig {
  dir: string;
  spec: Spec;
  machine: Machine;
  routing: Routing;
  pes: Map<string, LoadedPe>;
}

/** Read one PE's image and region map and run the image rules on them (image-rules.ts). */
function loadPe(dir: string, p: Spec['pes'][number], training: boolean): LoadedPe {
  const path = insideDir(dir, p.image, `pes[${p.id}].image`);
  const map = readDirFile(dir, p.regions, `pes[${p.id}].regions`, RegionMapSchema);
  const c = new ImageCheck(p, training, path, join(dir, p.regions), map);
  for (const rules of [IMAGE_FILE_RULES, HEADER_RULES, PROGRAM_RULES[p.program], REGION_RULES]) runRules(rules, c);
  return { id: p.id, chip: p.chip, program: p.program, words: c.words, regions: c.regions };
}

/**
 * Load a chip config directory, checking every file and every cross-reference (the design rules of
 * config-rules.ts and image-rules.ts, in order: each spec.json PE entry, then its image; then the directory
 * as a whole). Reads nothing else.
 */
export function loadChipConfig(dir: string): ChipConfig {
  const spec = readDirFile(dir, 'spec.json', 'spec', SpecSchema);
  const specPath = join(dir, 'spec.json');
  const machine = parseMachine(readDirJson(dir, spec.machine, 'machine'), join(dir, spec.machine));
  const routing = readDirFile(dir, spec.routing, 'routing', RoutingSchema);
  const routingPath = join(dir, spec.routing);
  insideDir(dir, spec.placement, 'placement');
  const c: ConfigCheck = { specPath, routingPath, spec, machine, routing, pes: new Map() };
  const places = new Map<string, string>();
  for (const p of spec.pes) {
    runRules(PE_ENTRY_RULES, { ...c, p, places });
    c.pes.set(p.id, loadPe(dir, p, spec.training !== undefined));
  }
  runRules(CONFIG_RULES, c);
  return { dir, spec, machine, routing, pes: c.pes };
}
