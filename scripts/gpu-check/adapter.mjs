// The WebGPU adapter this machine gives (probeAdapter() of the engine): vendor, architecture, device,
// description, whether it is a software one, its limits and features. Prints one line and writes
// adapter.json (with what run.sh found about the Vulkan loader and ICDs, passed in GPU_CHECK_VULKAN).
//
//   node scripts/gpu-check/adapter.mjs [--out FILE]
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const i = process.argv.indexOf('--out');
const outPath = resolve(i >= 0 ? process.argv[i + 1] : 'adapter.json');

const report = {
  date: new Date().toISOString(),
  node: process.version,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1) },
  env: Object.fromEntries(['LD_LIBRARY_PATH', 'VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'NVIDIA_DRIVER_CAPABILITIES', 'NVIDIA_VISIBLE_DEVICES'].map((k) => [k, process.env[k] ?? null])),
  vulkan: process.env.GPU_CHECK_VULKAN ? JSON.parse(process.env.GPU_CHECK_VULKAN) : null,
};
try {
  const { probeAdapter, adapterName } = await import(join(root, 'dist/engine/webgpu/adapter.js'));
  const p = await probeAdapter();
  if (!p.ok) {
    report.ok = false;
    report.missing = p.missing;
    console.log(`webgpu adapter: none (${p.missing})`);
  } else {
    const l = p.adapter.limits;
    const limits = {};
    for (const k of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupStorageSize', 'maxStorageBuffersPerShaderStage', 'maxUniformBufferBindingSize']) {
      limits[k] = l[k];
    }
    report.ok = true;
    report.adapter = p.info;
    report.name = adapterName(p.info);
    report.limits = limits;
    report.features = [...p.adapter.features].sort();
    console.log(`webgpu adapter: ${report.name}`);
    console.log(`  vendor ${p.info.vendor || '?'}, architecture ${p.info.architecture || '?'}, device ${p.info.device || '?'}, software ${p.info.software}`);
    console.log(`  maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}, maxBufferSize ${limits.maxBufferSize}, maxComputeWorkgroupsPerDimension ${limits.maxComputeWorkgroupsPerDimension}`);
  }
} catch (err) {
  report.ok = false;
  report.error = String(err?.stack ?? err).split('\n').slice(0, 5).join(' | ');
  console.log(`webgpu adapter: error ${report.error}`);
}
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, JSON.stringify(report, null, 2) + '\n');
process.exit(report.ok ? 0 : 1);
