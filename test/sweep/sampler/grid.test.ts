import { describe, expect, it } from 'vitest';
import { gridParams, gridSize } from '../../../src/sweep/sampler/grid.js';
import { makeSampler } from '../../../src/sweep/sampler/make-sampler.js';
import { trial } from './helpers.js';
import { spaceWith } from './space.js';

describe('grid sampler', () => {
  const space = spaceWith(
    {
      batch: { type: 'int', low: 16, high: 48, step: 16 },
      hidden: { type: 'categorical', choices: [[60], [120]] },
      steps: { type: 'fixed', value: 27 },
    },
    { type: 'grid' },
    6,
  );

  it('has 3 x 2 x 1 = 6 combinations (counted by hand)', () => {
    expect(gridSize(space)).toBe(6);
  });

  it('trial n gets combination n, the last parameter changing fastest (listed by hand)', () => {
    const all = Array.from({ length: 6 }, (_, n) => gridParams(space.parameters, n));
    expect(all).toEqual([
      { batch: 16, hidden: [60], steps: 27 },
      { batch: 16, hidden: [120], steps: 27 },
      { batch: 32, hidden: [60], steps: 27 },
      { batch: 32, hidden: [120], steps: 27 },
      { batch: 48, hidden: [60], steps: 27 },
      { batch: 48, hidden: [120], steps: 27 },
    ]);
  });

  it('enumerates every combination exactly once over gridSize trials (int step 1: 4 x 3 x 2 = 24)', () => {
    const s = spaceWith(
      {
        batch: { type: 'int', low: 10, high: 13 },
        'loss.xi': { type: 'categorical', choices: [0.5, 1, 2] },
        'encoding.bias': { type: 'categorical', choices: [true, false] },
      },
      { type: 'grid' },
      24,
    );
    expect(gridSize(s)).toBe(24);
    const seen = new Set<string>();
    for (let n = 0; n < 24; n++) seen.add(JSON.stringify(gridParams(s.parameters, n)));
    expect(seen.size).toBe(24);
    for (const b of [10, 11, 12, 13]) for (const xi of [0.5, 1, 2]) for (const bias of [true, false]) {
      expect(seen.has(JSON.stringify({ batch: b, 'loss.xi': xi, 'encoding.bias': bias }))).toBe(true);
    }
  });

  it('makeSampler proposes combination trials.length, whatever the trials hold', () => {
    const propose = makeSampler(space);
    expect(propose([])).toEqual({ batch: 16, hidden: [60], steps: 27 });
    const three = [0, 1, 2].map((n) => trial(n, {}, n === 1 ? 'failed' : 'complete', 0.5));
    expect(propose(three)).toEqual({ batch: 32, hidden: [120], steps: 27 });
  });

  it('returns copies: changing a proposed list does not change the space', () => {
    const p = gridParams(space.parameters, 0);
    (p.hidden as number[])[0] = 1;
    expect(gridParams(space.parameters, 0).hidden).toEqual([60]);
  });
});
