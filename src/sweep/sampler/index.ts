/** The samplers: grid, random and TPE, and the one a space names. */
export { makeSampler } from './make-sampler.js';
export { gridParams, gridSize, gridValues } from './grid.js';
export { randomParams, sampleParam } from './random.js';
export { tpeParams, goodCount, splitTrials, type TpeOptions } from './tpe.js';
