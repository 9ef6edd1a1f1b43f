/**
 * A labelled data set in memory: `features` is row-major, `count` rows by `featureNames.length`
 * columns; `labels[i]` is the class of row i. `source` says where it came from (a file path or a
 * generator description such as `yinyang:test`), for reports and error messages.
 */
export interface Dataset {
  featureNames: string[];
  features: Float64Array;
  labels: Int32Array;
  count: number;
  source: string;
}
