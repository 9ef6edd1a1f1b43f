import { describe, expect, it, vi } from 'vitest';
import { describeAdapter } from '../../src/engine/webgpu/adapter.js';

// A machine where the Vulkan loader finds no driver: Dawn's requestAdapter resolves to null.
vi.mock('webgpu', () => ({ globals: {}, create: () => ({ requestAdapter: async () => null }) }));

describe('webgpu adapter selection', () => {
  it('the webgpu backend without an adapter is one error naming what is missing (the CLI prefixes --backend); auto falls back to wasm and says why', async () => {
    const { backendNote, useBackend } = await import('../../src/engine/backend.js');
    await expect(useBackend('webgpu')).rejects.toThrow(/^backend webgpu: no WebGPU adapter: the Vulkan loader found no driver/);
    expect(await useBackend('auto')).toBe('wasm');
    expect(backendNote()).toMatch(/^webgpu not used: no WebGPU adapter/);
  });

  it('tells software adapters (lavapipe, SwiftShader) from hardware ones', () => {
    const lavapipe = describeAdapter({ vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7' } as GPUAdapterInfo);
    const swiftshader = describeAdapter({ vendor: 'google', architecture: '', device: 'SwiftShader Device (Subzero)', description: '' } as GPUAdapterInfo);
    const nvidia = describeAdapter({ vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200' } as GPUAdapterInfo);
    expect([lavapipe.software, swiftshader.software, nvidia.software]).toEqual([true, true, false]);
  });
});

describe('the Vulkan loader', () => {
  it('is looked for in LD_LIBRARY_PATH, then in the ld.so cache, else in the usual folders', async () => {
    const { vulkanLoaderPresent } = await import('../../src/engine/webgpu/adapter.js');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 's2prop-vk-'));
    try {
      expect(vulkanLoaderPresent('', '\tlibc.so.6 (libc6,x86-64) => /lib/libc.so.6\n', [])).toBe(false);
      expect(vulkanLoaderPresent('', '\tlibvulkan.so.1 (libc6,x86-64) => /usr/lib/libvulkan.so.1\n', [])).toBe(true);
      expect(vulkanLoaderPresent('', null, [dir])).toBe(false);
      writeFileSync(join(dir, 'libvulkan.so.1'), '');
      expect(vulkanLoaderPresent(`/nonexistent:${dir}`, '', [])).toBe(true);
      expect(vulkanLoaderPresent('', null, [dir])).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
