// WebGPU for the benchmarks in Node: what useNodeWebGPU() (dist/node/webgpu.js) does, keeping the
// Dawn GPU object so that the microbenchmarks can open a second device of the same adapter with
// the optional "timestamp-query" feature (the library's device is created without optional
// features). Both devices must come from one Dawn instance: devices of two instances in one
// process aborted the process here (std::system_error / futex errors on lavapipe).
import { getGpu, releaseGpu, setGpuProvider } from '../dist/index.js';
import { isCpuAdapter } from '../dist/gpu/device.js';
import { setPoliteWaiting, wrapDawnWaits } from '../dist/node/polite-wait.js';

let dawn = null; // must stay referenced while any device is in use (see src/node/webgpu.ts)

/** The library's shared context on Dawn, or null without the optional "webgpu" package or an adapter. */
export async function dawnGpu() {
  setGpuProvider(async () => {
    let mod;
    try {
      mod = await import('webgpu');
    } catch {
      return null;
    }
    Object.assign(globalThis, mod.globals);
    wrapDawnWaits(mod.globals); // as useNodeWebGPU does (src/node/polite-wait.ts)
    dawn ??= mod.create([]);
    return { gpu: dawn, runtime: `node ${process.versions.node} (dawn.node)` };
  });
  const ctx = await getGpu();
  if (ctx) setPoliteWaiting(isCpuAdapter(ctx.adapter));
  return ctx;
}

/**
 * A second device of the same adapter with timestamp queries, as a context for dist/gpu/bench.js
 * (the library's, with this device: its adapter and subgroup size choose the kernels, as
 * firstLayerShader does for the library); null when the adapter lacks the feature (then time with
 * the library's device).
 */
export async function timestampDevice(ctx) {
  if (!dawn || !ctx.features.includes('timestamp-query')) return null;
  const adapter = await dawn.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter || !adapter.features.has('timestamp-query')) return null;
  const limits = {};
  for (const k of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension']) limits[k] = adapter.limits[k];
  // The library's device has 'subgroups' where it uses them (device.ts); so does this one.
  const features = ['timestamp-query', ...(ctx.subgroupSize ? ['subgroups'] : [])];
  const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits: limits });
  // The adapter and subgroup size come along, so that firstLayerShader picks what the library runs.
  return { ...ctx, device };
}

/** Destroys the devices and drops the Dawn instance so that the process can exit. */
export async function releaseDawn(extra) {
  extra?.device.destroy();
  await releaseGpu();
  setGpuProvider(null);
  dawn = null;
}
