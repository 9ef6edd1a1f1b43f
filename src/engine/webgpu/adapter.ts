/// <reference types="@webgpu/types" />
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Finding a WebGPU adapter in Node: the optional `webgpu` package (Dawn's Node bindings) needs the
 * system's Vulkan loader (libvulkan.so.1) and a Vulkan driver. Each missing piece gets its own reason,
 * so that `--backend webgpu` can say exactly what is absent.
 */

/** What the adapter says about itself (GPUAdapterInfo's fields). */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (Mesa's lavapipe/llvmpipe, SwiftShader): slower than the wasm engine. */
  software: boolean;
}

export type AdapterProbe =
  | { ok: true; gpu: GPU; adapter: GPUAdapter; info: AdapterDescription }
  | { ok: false; missing: string };

const STANDARD_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu'];

/** The ld.so cache's listing (`ldconfig -p`), or null where there is no ldconfig to ask. */
function ldconfigListing(): string | null {
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    if (!existsSync(ldconfig)) continue;
    try {
      return execFileSync(ldconfig, ['-p'], { encoding: 'utf8' });
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Is libvulkan.so.1 where the dynamic loader will look: a folder of LD_LIBRARY_PATH, then the ld.so
 * cache (or, with no ldconfig, the usual library folders)? Asked before Dawn is, which would only
 * print a warning and find no adapter.
 */
export function vulkanLoaderPresent(
  ldLibraryPath = process.env.LD_LIBRARY_PATH ?? '',
  listing: string | null = ldconfigListing(),
  libDirs = STANDARD_LIB_DIRS,
): boolean {
  if (process.platform !== 'linux') return true; // Dawn uses Metal / D3D12 there
  if (ldLibraryPath.split(':').some((dir) => dir && existsSync(join(dir, 'libvulkan.so.1')))) return true;
  if (listing !== null) return listing.includes('libvulkan.so.1');
  return libDirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

export function describeAdapter(info: GPUAdapterInfo): AdapterDescription {
  const d: AdapterDescription = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    software: false,
  };
  const text = `${d.architecture} ${d.device} ${d.description}`.toLowerCase();
  d.software = d.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/.test(text);
  return d;
}

/** A one-line name for an adapter, e.g. "nvidia (NVIDIA H200)" or "mesa llvmpipe (software)". */
export function adapterName(d: AdapterDescription): string {
  const what = d.description || d.device || d.architecture || 'unknown device';
  return `${d.vendor || 'unknown vendor'}: ${what}${d.software ? ' (software)' : ''}`;
}

let probed: Promise<AdapterProbe> | null = null;

/** Look for an adapter once per process (high-performance preference). */
export function probeAdapter(): Promise<AdapterProbe> {
  probed ??= (async (): Promise<AdapterProbe> => {
    let webgpu: { create(flags: string[]): GPU; globals: Record<string, unknown> };
    try {
      webgpu = (await import('webgpu')) as unknown as typeof webgpu;
    } catch {
      return { ok: false, missing: 'the optional package webgpu is not installed (npm install webgpu@0.6.2)' };
    }
    if (!vulkanLoaderPresent()) {
      return { ok: false, missing: 'the Vulkan loader libvulkan.so.1 was not found (install libvulkan1, or set LD_LIBRARY_PATH to its folder)' };
    }
    // The WebGPU constants (GPUBufferUsage, ...) that tfjs-backend-webgpu expects as globals.
    Object.assign(globalThis, webgpu.globals);
    const gpu = webgpu.create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { ok: false, missing: 'no WebGPU adapter: the Vulkan loader found no driver (install a GPU driver with Vulkan support, or Mesa\'s mesa-vulkan-drivers)' };
    return { ok: true, gpu, adapter, info: describeAdapter(adapter.info) };
  })();
  return probed;
}
