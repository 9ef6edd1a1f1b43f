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
 * Read several float32 and int32 tensors in one go: the tensors of each dtype are flattened and
 * concatenated, and the (at most two) downloads are issued together. Returns each tensor's values in
 * order, exactly (no casts: on WebGPU a cast from int32 or bool to float32 only relabels the buffer).
 * The tensors are not disposed.
 */
export async function readTogether(tensors: tf.Tensor[]): Promise<(Float32Array | Int32Array)[]> {
  // In host memory a read is a copy: joining first would only add ops (a third of a small batch's time).
  if (hostBackend()) return tensors.map((t) => t.dataSync() as Float32Array | Int32Array);
  const groups = (['float32', 'int32'] as const).map((dtype) => ({ dtype, members: tensors.filter((t) => t.dtype === dtype) }));
  const other = tensors.find((t) => t.dtype !== 'float32' && t.dtype !== 'int32');
  if (other) throw new Error(`readTogether: float32 and int32 tensors only, got ${other.dtype}`);
  const joined = groups.map(({ members }) =>
    members.length ? tf.tidy(() => (members.length === 1 ? tf.reshape(members[0], [-1]) : tf.concat(members.map((t) => tf.reshape(t, [-1])), 0))) : null,
  );
  let values: (Float32Array | Int32Array | null)[];
  try {
    values = await Promise.all(joined.map((t) => (t ? (t.data() as Promise<Float32Array | Int32Array>) : null)));
  } finally {
    tf.dispose(joined.filter((t): t is tf.Tensor => t !== null));
  }
  const offsets = [0, 0];
  return tensors.map((t) => {
    const g = t.dtype === 'float32' ? 0 : 1;
    const out = values[g]!.subarray(offsets[g], offsets[g] + t.size);
    offsets[g] += t.size;
    return out;
  });
}
