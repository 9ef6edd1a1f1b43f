import type { ParamSpec, Params } from '../types.js';
import { intCount } from './random.js';

/**
 * Grid search: every combination of the parameters' values, in a fixed order (the last parameter of
 * the space changes fastest, as nested loops in the file's order would); trial n gets combination n.
 */

/** The values a grid takes for one parameter, in order. */
export function gridValues(name: string, p: ParamSpec): unknown[] {
  switch (p.type) {
    case 'int':
      return Array.from({ length: intCount(p) }, (_, k) => p.low + k * (p.step ?? 1));
    case 'categorical':
      return p.choices;
    case 'fixed':
      return [p.value];
    default:
      throw new Error(`grid: parameter ${name} is ${p.type}, which has no finite set of values`);
  }
}

/** How many combinations the grid has. */
export function gridSize(space: { parameters: Record<string, ParamSpec> }): number {
  let n = 1;
  for (const [name, p] of Object.entries(space.parameters)) n *= gridValues(name, p).length;
  return n;
}

/**
 * Combination `trial` of the grid. Trials past the end start the grid again (a study should hold at
 * most `gridSize` trials: more only repeat combinations).
 */
export function gridParams(parameters: Record<string, ParamSpec>, trial: number): Params {
  const entries = Object.entries(parameters).map(([name, p]) => [name, gridValues(name, p)] as const);
  let rest = trial % gridSize({ parameters });
  const out: Params = {};
  for (let i = entries.length - 1; i >= 0; i--) {
    const [name, values] = entries[i];
    out[name] = structuredClone(values[rest % values.length]);
    rest = Math.floor(rest / values.length);
  }
  // In the space's order, for readers that show the parameters.
  return Object.fromEntries(entries.map(([name]) => [name, out[name]]));
}
