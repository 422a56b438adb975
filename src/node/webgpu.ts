/**
 * WebGPU in Node through the `webgpu` package (Dawn). The object returned by `create()` must stay
 * referenced while any device is in use: if V8 collects it, the next awaited map or
 * onSubmittedWorkDone crashes the process inside Dawn. It also keeps the process alive, so it is
 * released explicitly (`releaseNodeWebGPU`).
 */
import { releaseGpu, setGpuProvider } from '../gpu/device.js';

let instance: unknown = null;

/** Makes `getGpu()` use Dawn in this process. Safe to call more than once. */
export function useNodeWebGPU(flags: string[] = []): void {
  setGpuProvider(async () => {
    let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    try {
      mod = (await import('webgpu')) as unknown as typeof mod;
    } catch {
      return null; // the optional dependency is not installed
    }
    Object.assign(globalThis, mod.globals);
    if (!instance) instance = mod.create(flags);
    return { gpu: instance as GPU, runtime: `node ${process.versions.node} (dawn.node)` };
  });
}

/** Destroys the device and drops the Dawn instance so that the process can exit. */
export async function releaseNodeWebGPU(): Promise<void> {
  await releaseGpu();
  instance = null;
  setGpuProvider(null);
}
