import { closeSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError, inFile } from '../errors.js';

/**
 * HDF5 files as plain trees, read and written with h5wasm (the HDF5 C library compiled to WebAssembly:
 * no native build). Only what NIR files use: groups, and datasets of UTF-8 strings, floats and integers,
 * scalar or n-dimensional (values flat, row-major, with their shape).
 *
 * The HDF5 library prints its own diagnostics straight to the process's stderr when an operation fails,
 * so every check that can fail (the file exists, is HDF5, has the member) is made before HDF5 is asked.
 */

export type H5Dataset =
  | { kind: 'string'; shape: number[]; values: string[] }
  | { kind: 'float'; shape: number[]; values: Float32Array | Float64Array }
  | { kind: 'int'; shape: number[]; values: number[] };

export interface H5Group {
  kind: 'group';
  children: Map<string, H5Node>;
}

export type H5Node = H5Group | H5Dataset;

type H5Module = typeof import('h5wasm/node');
type H5Entity = ReturnType<InstanceType<H5Module['Group']>['get']>;

let loaded: Promise<H5Module> | undefined;

/** The h5wasm module, initialised once (its WebAssembly instance loads from node_modules, no network). */
async function loadH5wasm(): Promise<H5Module> {
  loaded ??= import('h5wasm/node').then(async (m) => {
    await m.ready;
    return m;
  });
  return loaded;
}

/** The 8-byte signature at the start of an HDF5 superblock (at offset 0, 512, 1024, ... in a file). */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function hasHdf5Signature(path: string, size: number): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(8);
    for (let offset = 0; offset + 8 <= size; offset = offset === 0 ? 512 : offset * 2) {
      readSync(fd, buf, 0, 8, offset);
      if (SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

function toNumbers(values: unknown): number[] {
  return Array.from(values as ArrayLike<number | bigint>, (v) => Number(v));
}

function readEntity(m: H5Module, entity: H5Entity, path: string, file: string): H5Node {
  if (entity instanceof m.Group) {
    const children = new Map<string, H5Node>();
    for (const key of entity.keys()) children.set(key, readEntity(m, entity.get(key), `${path}/${key}`, file));
    return { kind: 'group', children };
  }
  if (entity instanceof m.Dataset) {
    const meta = entity.metadata;
    const shape = meta.shape ?? [];
    const value = entity.value;
    // h5wasm metadata.type is HDF5's type class: 0 integer, 1 float, 3 string.
    if (meta.type === 3) return { kind: 'string', shape, values: (Array.isArray(value) ? value : [value]).map(String) };
    if (meta.type === 1 && (value instanceof Float32Array || value instanceof Float64Array)) return { kind: 'float', shape, values: value };
    if (meta.type === 1 && typeof value === 'number') return { kind: 'float', shape, values: Float64Array.of(value) };
    if (meta.type === 0) return { kind: 'int', shape, values: typeof value === 'number' || typeof value === 'bigint' ? [Number(value)] : toNumbers(value) };
    throw inFile(file, `${path}: a dataset of an HDF5 type NIR does not use (type class ${meta.type}, ${meta.size} bytes)`);
  }
  throw inFile(file, `${path}: not a group or a dataset (a link or a named type, which NIR does not use)`);
}

/** Read a whole HDF5 file into a tree; one clear line if it is missing or not HDF5. */
export async function readHdf5(path: string): Promise<H5Group> {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UserError(`${path}: cannot read the file (it is a folder)`);
    size = st.size;
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: cannot read the file (${code === 'ENOENT' ? 'it does not exist' : code})`);
  }
  if (!hasHdf5Signature(path, size)) throw inFile(path, 'not an HDF5 file (no HDF5 signature), expected a NIR file as written by nir.write');
  const m = await loadH5wasm();
  const f = new m.File(path, 'r');
  if (f.file_id < 0n) throw inFile(path, 'HDF5 could not open the file (damaged?)');
  try {
    return readEntity(m, f.get('/'), '', path) as H5Group;
  } finally {
    f.close();
  }
}

function writeGroup(g: InstanceType<H5Module['Group']>, tree: H5Group): void {
  for (const [name, node] of tree.children) {
    if (node.kind === 'group') {
      writeGroup(g.create_group(name), node);
    } else if (node.kind === 'string') {
      // h5wasm writes JS strings as variable-length UTF-8, as h5py's string_dtype() does.
      g.create_dataset({ name, data: node.shape.length === 0 ? node.values[0] : node.values, shape: node.shape });
    } else if (node.kind === 'float') {
      const dtype = node.values instanceof Float32Array ? '<f' : '<d';
      const scalar = node.shape.length === 0;
      // Arrays gzip-compressed in one chunk, as nir.write does (h5py's default compression="gzip").
      g.create_dataset({ name, data: scalar ? node.values[0] : node.values, shape: node.shape, dtype, ...(scalar ? {} : { chunks: node.shape, compression: 4 }) });
    } else {
      const scalar = node.shape.length === 0;
      g.create_dataset({ name, data: BigInt64Array.from(node.values, (v) => BigInt(v)), shape: node.shape, dtype: '<q', ...(scalar ? {} : { chunks: node.shape, compression: 4 }) });
    }
  }
}

/** Write a tree as an HDF5 file, atomically (a temporary file in the same folder, then renamed). */
export async function writeHdf5(path: string, tree: H5Group): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path) || '.', { recursive: true });
    // Made by Node first, so that an unwritable place is reported here, not by HDF5 on stderr.
    writeFileSync(tmp, '');
  } catch (err) {
    rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: cannot write the file (${code === 'EISDIR' ? 'it is a folder' : code})`);
  }
  const m = await loadH5wasm();
  try {
    const f = new m.File(tmp, 'w');
    if (f.file_id < 0n) throw new UserError(`${path}: cannot write the file (HDF5 could not create it)`);
    try {
      writeGroup(f, tree);
    } finally {
      f.close();
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new UserError(`${path}: cannot write the file (it is a folder)`);
    throw err;
  }
}

/** Tree-building helpers. */
export const h5 = {
  group(entries: [string, H5Node][]): H5Group {
    return { kind: 'group', children: new Map(entries) };
  },
  string(value: string): H5Dataset {
    return { kind: 'string', shape: [], values: [value] };
  },
  strings(values: string[], shape: number[]): H5Dataset {
    return { kind: 'string', shape, values };
  },
  float64(values: ArrayLike<number>, shape: number[] = [values.length]): H5Dataset {
    return { kind: 'float', shape, values: Float64Array.from(values) };
  },
  scalar(value: number): H5Dataset {
    return { kind: 'float', shape: [], values: Float64Array.of(value) };
  },
  ints(values: number[], shape: number[] = [values.length]): H5Dataset {
    return { kind: 'int', shape, values };
  },
};
