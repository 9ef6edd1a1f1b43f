/**
 * The plots, as standalone SVG text: one file per plot under plots/ (shared building blocks in
 * plots/svg.ts). Sweep reports: optimisation history, parallel coordinates, parameter importance;
 * training: the loss and accuracy curves `train --log` writes beside its metrics CSV.
 */
export { historyPlot } from './plots/history.js';
export { importancePlot, parameterImportance } from './plots/importance.js';
export { parallelCoordinates } from './plots/parallel-coordinates.js';
export { trainingCurves } from './plots/training-curves.js';
