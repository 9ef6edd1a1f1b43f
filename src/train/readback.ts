import * as tf from '@tensorflow/tfjs-core';

/**
 * When training reads tensor data back to the host, and where batches form their input.
 *
 * On the backends whose tensors live in host memory (cpu, wasm) a read is free, so training reads each
 * batch's outcome as it goes (for the running loss and accuracy of the progress bar) and builds each
 * batch's input raster on the host. On GPU backends (webgpu, tensorflow) every read waits for the device
 * to finish all queued work: training keeps each batch's outcome tensors and reads them all at the end
 * of the epoch in one download, and the input rasters are formed on the device from the encoded set,
 * uploaded once.
 */
const HOST_BACKENDS = new Set(['cpu', 'wasm']);

let forced: { readsPerBatch?: boolean; rastersOnDevice?: boolean } = {};

function hostBackend(): boolean {
  return HOST_BACKENDS.has(tf.getBackend());
}

/** True where reading a batch's results right away costs nothing (cpu, wasm). */
export function readsPerBatch(): boolean {
  return forced.readsPerBatch ?? hostBackend();
}

/** True where batches form their input raster on the device from the uploaded encoded set (GPU backends). */
export function rastersOnDevice(): boolean {
  return forced.rastersOnDevice ?? !hostBackend();
}

/**
 * For tests: take either path on any backend (e.g. the GPU paths on cpu, to check they give the same
 * numbers); `{}` returns to the backend's own choice.
 */
export function forceReadPaths(paths: { readsPerBatch?: boolean; rastersOnDevice?: boolean }): void {
  forced = { ...paths };
}

/**
 * Read several tensors with one download: each is flattened and cast to float32, all are concatenated
 * and read once. Returns each tensor's values in order. Their values must be exact in float32 (float32
 * data, or integers of magnitude below 2^24). The tensors are not disposed.
 */
export async function readTogether(tensors: tf.Tensor[]): Promise<Float32Array[]> {
  if (!tensors.length) return [];
  const all = tf.tidy(() => {
    const flat = tensors.map((t) => tf.reshape(t.dtype === 'float32' ? t : tf.cast(t, 'float32'), [-1]));
    return flat.length === 1 ? flat[0].clone() : tf.concat(flat, 0);
  });
  let values: Float32Array;
  try {
    values = (await all.data()) as Float32Array;
  } finally {
    all.dispose();
  }
  const out: Float32Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    out.push(values.subarray(offset, offset + t.size));
    offset += t.size;
  }
  return out;
}
