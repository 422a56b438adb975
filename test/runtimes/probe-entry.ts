/**
 * Runtime probe, run in Deno and headless Chromium by test/runtimes.test.ts (see harness.ts for
 * the entry contract): finds the adapter through src/gpu/device.ts and runs one tiny compute
 * shader, `out[i] = in[i] * 2 + 1`, checking validation errors and the values read back.
 */
import { getGpu, releaseGpu, type AdapterSummary } from '../../src/gpu/device.js';

export interface ProbeResult {
  adapter: AdapterSummary | null;
  runtime?: string;
  ok?: boolean;
  /** Set when something went wrong: a validation error, or the first wrong value. */
  error?: string | null;
  features?: string[];
  maxStorageBufferBindingSize?: number;
  maxBufferSize?: number;
  adapterMaxStorageBufferBindingSize?: number;
  adapterMaxBufferSize?: number;
  maxComputeInvocationsPerWorkgroup?: number;
  maxComputeWorkgroupStorageSize?: number;
  ms?: number;
}

const N = 1000;

const SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < arrayLength(&src)) {
    dst[i] = src[i] * 2.0 + 1.0;
  }
}
`;

export async function run(): Promise<ProbeResult> {
  const t0 = performance.now();
  const ctx = await getGpu();
  if (!ctx) return { adapter: null };
  const { device } = ctx;
  const input = new Float32Array(N);
  for (let i = 0; i < N; i++) input[i] = i * 0.5 - 100;

  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: SHADER });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bytes = N * 4;
  const src = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const dst = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(src, 0, input);
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: src } },
      { binding: 1, resource: { buffer: dst } },
    ],
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(Math.ceil(N / 64));
  pass.end();
  enc.copyBufferToBuffer(dst, 0, read, 0, bytes);
  device.queue.submit([enc.finish()]);
  const validation = await device.popErrorScope();

  let error: string | null = validation ? `validation error: ${validation.message}` : null;
  let ok = false;
  if (!error) {
    await read.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
    ok = true;
    for (let i = 0; i < N; i++) {
      const want = Math.fround(Math.fround(input[i]! * 2) + 1);
      if (out[i] !== want) {
        ok = false;
        error = `out[${i}] = ${out[i]}, expected ${want}`;
        break;
      }
    }
  }
  error ??= ctx.takeError();
  if (error) ok = false;

  const result: ProbeResult = {
    runtime: ctx.runtime,
    adapter: ctx.adapter,
    ok,
    error,
    features: ctx.features,
    maxStorageBufferBindingSize: ctx.limits.maxStorageBufferBindingSize,
    maxBufferSize: ctx.limits.maxBufferSize,
    adapterMaxStorageBufferBindingSize: ctx.adapterLimits.maxStorageBufferBindingSize,
    adapterMaxBufferSize: ctx.adapterLimits.maxBufferSize,
    maxComputeInvocationsPerWorkgroup: ctx.limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupStorageSize: ctx.limits.maxComputeWorkgroupStorageSize,
    ms: Math.round(performance.now() - t0),
  };
  src.destroy();
  dst.destroy();
  read.destroy();
  await releaseGpu();
  return result;
}
