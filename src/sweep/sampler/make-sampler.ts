import type { SearchSpace } from '../space/space-file.js';
import type { Propose } from '../types.js';
import { gridParams } from './grid.js';
import { randomParams } from './random.js';
import { tpeParams } from './tpe.js';

/** The sampler a space names; it proposes the parameters of trial number `trials.length`. */
export function makeSampler(space: SearchSpace): Propose {
  const { parameters, objective, sampler } = space;
  switch (sampler.type) {
    case 'grid':
      return (trials) => gridParams(parameters, trials.length);
    case 'random':
      return (trials) => randomParams(parameters, sampler.seed, trials.length);
    case 'tpe':
      return (trials) => tpeParams(parameters, objective, sampler, trials);
  }
}
