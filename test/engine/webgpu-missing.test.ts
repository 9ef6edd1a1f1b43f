import { describe, expect, it, vi } from 'vitest';

// A machine where the optional package did not install.
vi.mock('webgpu', () => {
  throw new Error("Cannot find package 'webgpu'");
});

describe('webgpu package missing', () => {
  it('--backend webgpu names the package to install; auto uses wasm', async () => {
    const { backendNote, useBackend } = await import('../../src/engine/backend.js');
    await expect(useBackend('webgpu')).rejects.toThrow('backend webgpu: the optional package webgpu is not installed (npm install webgpu@0.6.2)');
    expect(await useBackend('auto')).toBe('wasm');
    expect(backendNote()).toContain('webgpu not used: the optional package webgpu is not installed');
  });
});
