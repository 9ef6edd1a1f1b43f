/**
 * One sample's spikes as lists per step (compressed rows): the inputs that spiked at step i are
 * `index[start[i]] .. index[start[i+1]-1]`, in ascending order. Reused across samples to avoid garbage.
 */
export class StepSpikeLists {
  readonly start: Int32Array;
  readonly index: Int32Array;

  constructor(
    readonly steps: number,
    readonly width: number,
  ) {
    this.start = new Int32Array(steps + 1);
    this.index = new Int32Array(steps * width);
  }

  /** Fill from a dense raster [*, T, width] at sample `b`. */
  load(raster: Uint8Array | Int32Array | Float32Array, b: number): this {
    const { steps, width, start, index } = this;
    let p = 0;
    for (let i = 0; i < steps; i++) {
      start[i] = p;
      const base = (b * steps + i) * width;
      for (let k = 0; k < width; k++) if (raster[base + k] !== 0) index[p++] = k;
    }
    start[steps] = p;
    return this;
  }
}
