import { parseSpace, type SearchSpace } from '../../../src/sweep/space/space-file.js';

/** A valid space over `parameters` with this sampler (budget trials as many as the test needs). */
export function spaceWith(parameters: Record<string, unknown>, sampler: Record<string, unknown>, trials = 40): SearchSpace {
  return parseSpace(
    {
      format: 's2prop-space',
      version: 1,
      base: { preset: 'twin' },
      objective: { metric: 'validationAccuracy', direction: 'maximize' },
      budget: { trials, epochs: 5 },
      sampler,
      parameters,
    },
    'test space',
  );
}
