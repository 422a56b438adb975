/**
 * shaders/ds_gaps.wgsl on WebGPU against float64: θ = arccos ρ and the ReLU's gap 1 − κ1(ρ) of a
 * double-single signed gap, on both sides of ρ = 0 and across both of relu_gap_ds's branches (the
 * series below θ = 0.5, √((1 − ρ)(1 + ρ)) − θρ above), from 1 − ρ = 1e−9 to ρ = −1 + 1e−9. These
 * are what the segments before an avgPool carry (test/gpu-conv-pool.test.ts checks the whole path);
 * an f32 gap would be 6e−8 off; double-single is within 1e−11 of the float64 value, relative to it
 * (7.9e−13 measured on lavapipe; it was 9.5e−9 where a ReLU gap of 1 − 1e−8 was clamped to 1 by its
 * high part alone).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../src/index.js';
import { wgslStruct, BANK } from '../src/gpu/layout.js';
import { DS_GAPS_WGSL, KERNEL_OPS_WGSL } from '../src/gpu/shaders.generated.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requireGpu();
});
afterAll(async () => {
  await releaseGpuForTests();
});

const SHADER = `${wgslStruct(BANK)}
${KERNEL_OPS_WGSL}
${DS_GAPS_WGSL}
@group(0) @binding(0) var<storage, read> inp: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> outp: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> one: vec4<f32>;

// Per signed gap (q, ql): the ReLU's gap and θ, each as hi + lo.
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  ONE = one.x;
  let i = id.x;
  if (i >= arrayLength(&inp)) { return; }
  let q = inp[i];
  let gh = gaps_ds(q);
  var theta = theta_ds(gh.xy);
  if (on_neg(q.x)) { theta = ds_add(PI_DS, -theta_ds(gh.zw)); }
  outp[i] = vec4<f32>(relu_gap_ds(q), theta);
}`;

async function run(q: Float32Array<ArrayBuffer>): Promise<Float32Array> {
  const device = ctx.device;
  const n = q.length / 2;
  const U = GPUBufferUsage;
  const inB = device.createBuffer({ size: q.byteLength, usage: U.STORAGE | U.COPY_DST });
  device.queue.writeBuffer(inB, 0, q);
  const outB = device.createBuffer({ size: n * 16, usage: U.STORAGE | U.COPY_SRC });
  const oneB = device.createBuffer({ size: 16, usage: U.UNIFORM | U.COPY_DST });
  device.queue.writeBuffer(oneB, 0, new Float32Array([1, 0, 0, 0]));
  const readB = device.createBuffer({ size: n * 16, usage: U.MAP_READ | U.COPY_DST });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' } });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [inB, outB, oneB].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  enc.copyBufferToBuffer(outB, 0, readB, 0, n * 16);
  device.queue.submit([enc.finish()]);
  await readB.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(readB.getMappedRange().slice(0));
  readB.unmap();
  for (const b of [inB, outB, oneB, readB]) b.destroy();
  expect(ctx.takeError()).toBeNull();
  return out;
}

/** θ and the ReLU's gap in float64 from the gap d to the nearer of ρ = ±1 (d = 1 − ρ, or 1 + ρ when negative). */
function reference(d: number, negative: boolean): { theta: number; relu: number } {
  const a = 2 * Math.asin(Math.sqrt(d / 2));
  const theta = negative ? Math.PI - a : a;
  const g = negative ? 2 - d : d;
  const h = negative ? d : 2 - d;
  // sin θ − θ cos θ, by its series for small θ (no cancellation).
  const t2 = theta * theta;
  const s = theta < 0.1 ? theta * t2 * (1 / 3 - t2 / 30 + (t2 * t2) / 840 - (t2 * t2 * t2) / 45360) : Math.sqrt(g * h) - theta * (1 - g);
  return { theta, relu: g - s / Math.PI };
}

describe('double-single gaps (shaders/ds_gaps.wgsl) against float64', () => {
  it('θ and the ReLU gap on both sides, 1e−9 … 1 from ρ = ±1: within 1e−11 relative', async () => {
    const gaps = [1e-9, 3.7e-7, 1e-5, 2.3e-3, 0.0471, 0.118, 0.1224, 0.25, 0.4, 0.61, 0.83, 0.999, 1];
    const cases: { d: number; negative: boolean }[] = [];
    for (const d of gaps) for (const negative of [false, true]) cases.push({ d, negative });
    const q = new Float32Array(cases.length * 2);
    const exact: number[] = [];
    cases.forEach(({ d, negative }, k) => {
      // The gap as hi + lo: the value the shader sees (its f32 pair, summed in float64) is the exact input.
      const hi = Math.fround(d);
      const lo = Math.fround(d - hi);
      exact.push(hi + lo);
      q[2 * k] = negative ? -hi : hi;
      q[2 * k + 1] = negative ? -lo : lo;
    });
    const out = await run(q);
    let worstTheta = 0;
    let worstRelu = 0;
    cases.forEach(({ negative }, k) => {
      const ref = reference(exact[k]!, negative);
      const relu = out[4 * k]! + out[4 * k + 1]!;
      const theta = out[4 * k + 2]! + out[4 * k + 3]!;
      expect(Number.isFinite(relu) && Number.isFinite(theta)).toBe(true);
      worstTheta = Math.max(worstTheta, Math.abs(theta - ref.theta) / ref.theta);
      worstRelu = Math.max(worstRelu, Math.abs(relu - ref.relu) / ref.relu);
    });
    console.log(`ds_gaps.wgsl against float64, worst relative error: θ ${worstTheta.toExponential(1)}, ReLU gap ${worstRelu.toExponential(1)}`);
    expect(worstTheta).toBeLessThanOrEqual(1e-11);
    expect(worstRelu).toBeLessThanOrEqual(1e-11);
  });
});
