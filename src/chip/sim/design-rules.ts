/**
 * Design rules: the checks a chip config directory must pass before the simulator runs it, each a named
 * function with a one-line description, run in order (as Rockpool's Xylo design-rule checks are). A rule
 * throws one UserError line naming the file, the field and what was expected, or returns; the first rule
 * that fails ends the load. Some rules also record what later rules read (the region table of an image,
 * the slices an optimiser holds): a rule list is therefore run in its written order, never reordered.
 */
export interface Rule<C> {
  /** The check function's name. */
  readonly name: string;
  /** One line: what the rule requires. */
  readonly description: string;
  readonly check: (c: C) => void;
}

export function rule<C>(description: string, check: (c: C) => void): Rule<C> {
  return { name: check.name, description, check };
}

/** Run `rules` in order on `c`; the first that fails throws. */
export function runRules<C>(rules: readonly Rule<C>[], c: C): void {
  for (const r of rules) r.check(c);
}
