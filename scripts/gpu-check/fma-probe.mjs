// Does the GPU's shader compiler contract a WGSL `a * b + c` into a fused multiply-add? The engine's
// numerical contract is operation-by-operation float32 (each product rounded, then each sum), so a
// contracting compiler changes spikes. A raw WebGPU compute shader computes, for 65536 float32 triples
// chosen so that the fused and the unfused results differ in most of them,
//   inline:  a * b + c
//   let:     let p = a * b; p + c
//   guarded: bitcast<f32>(bitcast<u32>(a * b) ^ u.zero) + c   (u.zero a runtime uniform 0: the
//            compiler cannot see that the product passes unchanged, so it cannot fuse it)
//   fma:     fma(a, b, c)   (the builtin, for reference: what fused looks like on this GPU)
// and each is compared with the host's correctly rounded unfused result fround(fround(a * b) + c) and
// fused result (a * b + c rounded once to float32; see fusedF32). Writes fma-probe.json.
//
//   node scripts/gpu-check/fma-probe.mjs [--out FILE]
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fusedF32, unfusedF32, triples } from './lib/fma-math.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const i = process.argv.indexOf('--out');
const outPath = resolve(i >= 0 ? process.argv[i + 1] : 'fma-probe.json');
const N = 65536;

const SHADER = /* wgsl */ `
struct U { zero: u32, n: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read> C: array<f32>;
@group(0) @binding(3) var<storage, read_write> R: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x;
  if (i >= u.n) { return; }
  let a = A[i];
  let b = B[i];
  let c = C[i];
  R[i] = a * b + c;
  let p = a * b;
  R[u.n + i] = p + c;
  let q = bitcast<f32>(bitcast<u32>(a * b) ^ u.zero);
  R[2u * u.n + i] = q + c;
  R[3u * u.n + i] = fma(a, b, c);
}`;

async function gpuRun(device, { a, b, c }) {
  const input = (arr) => {
    const buf = device.createBuffer({ size: arr.byteLength, usage: GPUBufferUsage.STORAGE, mappedAtCreation: true });
    new Float32Array(buf.getMappedRange()).set(arr);
    buf.unmap();
    return buf;
  };
  const bufs = [input(a), input(b), input(c)];
  const outBytes = 4 * N * 4;
  const out = device.createBuffer({ size: outBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const uni = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
  new Uint32Array(uni.getMappedRange()).set([0, N, 0, 0]);
  uni.unmap();
  const read = device.createBuffer({ size: outBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: SHADER });
  const info = await module.getCompilationInfo?.();
  const messages = info ? info.messages.map((m) => `${m.type}: ${m.message}`) : [];
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [...bufs, out, uni].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(Math.ceil(N / 64));
  pass.end();
  enc.copyBufferToBuffer(out, 0, read, 0, outBytes);
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`WebGPU validation: ${err.message}`);
  await read.mapAsync(GPUMapMode.READ);
  const r = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  for (const x of [...bufs, out, uni, read]) x.destroy();
  return { r, messages };
}

const report = { what: 'does the shader compiler contract a * b + c into a fused multiply-add?', triples: N, date: new Date().toISOString() };
try {
  const { probeAdapter, adapterName } = await import(join(root, 'dist/engine/webgpu/adapter.js'));
  const p = await probeAdapter();
  if (!p.ok) throw new Error(`no WebGPU adapter: ${p.missing}`);
  report.adapter = adapterName(p.info);
  const device = await p.adapter.requestDevice();
  const data = triples(N);
  const host = { unfused: new Float32Array(N), fused: new Float32Array(N) };
  for (let k = 0; k < N; k++) {
    host.unfused[k] = unfusedF32(data.a[k], data.b[k], data.c[k]);
    host.fused[k] = fusedF32(data.a[k], data.b[k], data.c[k]);
  }
  let distinguishing = 0;
  for (let k = 0; k < N; k++) if (host.unfused[k] !== host.fused[k]) distinguishing++;
  report.distinguishing = distinguishing;
  const t0 = performance.now();
  const { r, messages } = await gpuRun(device, data);
  report.gpuSeconds = +((performance.now() - t0) / 1000).toFixed(3);
  if (messages.length) report.compilerMessages = messages;
  report.variants = {};
  ['inline', 'let', 'guarded', 'fmaBuiltin'].forEach((name, v) => {
    let matchUnfused = 0;
    let matchFused = 0;
    let onlyUnfused = 0;
    let onlyFused = 0;
    let neither = 0;
    for (let k = 0; k < N; k++) {
      const x = r[v * N + k];
      const u = x === host.unfused[k];
      const f = x === host.fused[k];
      matchUnfused += u;
      matchFused += f;
      if (host.unfused[k] !== host.fused[k]) {
        if (u) onlyUnfused++;
        else if (f) onlyFused++;
        else neither++;
      } else if (!u) neither++;
    }
    const verdict = neither > 0 ? 'neither (other rounding)' : onlyFused === 0 ? 'unfused' : onlyUnfused === 0 ? 'fused' : 'mixed';
    report.variants[name] = { matchUnfused, matchFused, onlyUnfused, onlyFused, neither, verdict };
  });
  const v = report.variants;
  report.contracts = v.inline.verdict !== 'unfused' || v.let.verdict !== 'unfused';
  report.guardWorks = v.guarded.verdict === 'unfused';
  report.summary = `inline ${v.inline.verdict}, let ${v.let.verdict}, guarded ${v.guarded.verdict}, fma() ${v.fmaBuiltin.verdict} (${distinguishing} of ${N} triples distinguish fused from unfused)`;
  console.log(`fma probe on ${report.adapter}: ${report.summary}`);
  device.destroy();
  report.ok = true;
} catch (err) {
  report.ok = false;
  report.error = String(err?.stack ?? err).split('\n').slice(0, 5).join(' | ');
  console.log(`fma probe failed: ${report.error}`);
}
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, JSON.stringify(report, null, 2) + '\n');
process.exit(report.ok ? 0 : 1);
