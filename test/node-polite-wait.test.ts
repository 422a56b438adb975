/**
 * dawn.node polls for its promises in a setImmediate loop that keeps Node's main thread busy; on a
 * CPU adapter that loop competes with the adapter's own threads for the cores (src/node/polite-wait.ts).
 * While the device works and the main thread only waits, the main thread must stay nearly idle:
 * its CPU time (Linux, /proc/self/task/<pid>/stat) is measured over a wait for a dispatch that
 * keeps lavapipe busy for a fraction of a second.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernel, type GpuContext } from '../src/index.js';
import { politeWaitState } from '../src/node/polite-wait.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requireGpu();
});
afterAll(releaseGpuForTests);

/** CPU seconds (user + system) of the process's main thread so far. */
function mainThreadCpu(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

const BUSY = `
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  var x = f32(g.x) * 1e-6;
  for (var k = 0u; k < 20000u; k++) { x = fma(x, 0.999999, 1e-7); }
  out[g.x] = x;
}`;

describe('waiting for dawn.node on a CPU adapter', () => {
  it('the adapter is a CPU adapter and the polite waiting is on', () => {
    expect(ctx.adapter.description).toMatch(/llvmpipe/);
    expect(politeWaitState().enabled).toBe(true);
  });

  it('the main thread stays nearly idle while the device computes (it used to poll at ~a full core)', async () => {
    const device = ctx.device;
    const out = device.createBuffer({ label: 'polite-wait test', size: 4 * 64 * 4096, usage: GPUBufferUsage.STORAGE });
    const pipe = await device.createComputePipelineAsync({ label: 'polite-wait test', layout: 'auto', compute: { module: device.createShaderModule({ code: BUSY }), entryPoint: 'main' } });
    const bg = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] });
    const run = async () => {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(4096);
      pass.end();
      device.queue.submit([enc.finish()]);
      const c0 = mainThreadCpu();
      const t0 = performance.now();
      await device.queue.onSubmittedWorkDone();
      return { wall: (performance.now() - t0) / 1000, cpu: mainThreadCpu() - c0 };
    };
    await run(); // warm up
    const r = await run();
    out.destroy();
    expect(politeWaitState().pending).toBe(0);
    // The dispatch keeps lavapipe busy long enough to measure (tens of clock ticks).
    expect(r.wall).toBeGreaterThan(0.2);
    console.log(`main thread: ${r.cpu.toFixed(2)} s of CPU over a ${r.wall.toFixed(2)} s wait`);
    expect(r.cpu / r.wall).toBeLessThan(0.25);
  });

  it('a pipelined Gram cancelled or failing mid-run leaves no Dawn promise pending (its queued blocks settle first)', async () => {
    const X = Array.from({ length: 300 }, (_, i) => [Math.sin(i), Math.cos(3 * i), (i % 7) / 7, 1, 0.5]);
    for (let rep = 0; rep < 5; rep++) {
      const ac = new AbortController();
      let seen = 0;
      const run = kernel('arora2019:depth=20', X, null, {
        backend: 'webgpu',
        blockRows: 64,
        signal: ac.signal,
        onProgress: () => {
          if (++seen === 2 + rep) ac.abort();
        },
      });
      await expect(run).rejects.toThrow(/cancel|abort/i);
      expect(politeWaitState().pending).toBe(0);
    }
  });
});
