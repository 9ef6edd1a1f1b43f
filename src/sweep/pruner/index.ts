/** The pruners: median and ASHA, and the one a space names. */
export { makePruner, type Prune } from './make-pruner.js';
export { medianPrune, type MedianOptions } from './median.js';
export { ashaPrune, isRung, type AshaOptions } from './asha.js';
