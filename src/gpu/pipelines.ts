/// <reference types="@webgpu/types" preserve="true" />
/**
 * Compute pipelines, created asynchronously (createComputePipelineAsync: the compiler does not
 * block the caller's thread) and cached per device by shader source in a bounded LRU cache, so
 * that a long session (the explorer demo) holds at most PIPELINE_CACHE_SIZE pipelines. Sources
 * are structural only (numbers travel in buffers, codegen.ts), so a handful cover a session.
 */

/** Pipelines kept per device; the least recently used one is dropped beyond this. */
export const PIPELINE_CACHE_SIZE = 32;

interface DeviceCache {
  /** Source → pipeline (or its creation in flight); Map order is recency, oldest first. */
  lru: Map<string, Promise<GPUComputePipeline>>;
  compiled: number;
}

const caches = new WeakMap<GPUDevice, DeviceCache>();

function cacheOf(device: GPUDevice): DeviceCache {
  let c = caches.get(device);
  if (!c) {
    c = { lru: new Map(), compiled: 0 };
    caches.set(device, c);
  }
  return c;
}

/** The pipeline for `code` (entry point `main`, auto layout), from the cache or compiled now. */
export function pipelineFor(device: GPUDevice, code: string, label: string): Promise<GPUComputePipeline> {
  const c = cacheOf(device);
  const hit = c.lru.get(code);
  if (hit) {
    c.lru.delete(code);
    c.lru.set(code, hit);
    return hit;
  }
  c.compiled++;
  const module = device.createShaderModule({ label, code });
  const made = device.createComputePipelineAsync({ label, layout: 'auto', compute: { module, entryPoint: 'main' } });
  c.lru.set(code, made);
  // A failed compilation is not cached: the next call reports the error again.
  made.catch(() => {
    if (c.lru.get(code) === made) c.lru.delete(code);
  });
  while (c.lru.size > PIPELINE_CACHE_SIZE) c.lru.delete(c.lru.keys().next().value!);
  return made;
}

/** Pipelines cached on a device and compilations since the device was first used (for tests). */
export function pipelineStats(device: GPUDevice): { cached: number; compiled: number } {
  const c = caches.get(device);
  return { cached: c?.lru.size ?? 0, compiled: c?.compiled ?? 0 };
}

/** Number of cached pipelines on a device (for tests). */
export function cachedPipelineCount(device: GPUDevice): number {
  return pipelineStats(device).cached;
}
