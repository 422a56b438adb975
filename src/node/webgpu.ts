/**
 * WebGPU in Node through the `webgpu` package (Dawn). The object returned by `create()` is pinned for
 * the life of the process: if V8 collects it while a device is in use, the next awaited map or
 * onSubmittedWorkDone crashes the process inside Dawn, and collecting it even after the device is
 * destroyed crashes at a later GC (measured: a forced gc() after dropping it aborted or segfaulted in
 * 10 of 10 runs; `webntk info` died that way in 1 run of 5). A live device keeps the process alive,
 * so `releaseNodeWebGPU` destroys the device; the pinned instance alone does not hold the process.
 */
import { adapterSummary, isCpuAdapter, releaseGpu, setGpuProvider } from '../gpu/device.js';
import { setPoliteWaiting, wrapDawnWaits } from './polite-wait.js';
import { nativeQuiet } from './quiet.js';

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
    // dawn.node busy-polls while a promise is pending; on a CPU adapter that takes a core from it.
    wrapDawnWaits(mod.globals);
    // Dawn prints its warnings from native code inside create() and requestAdapter() (quiet.ts).
    if (!instance) instance = nativeQuiet(() => mod.create(flags));
    const dawn = instance as GPU;
    const gpu = new Proxy(dawn, {
      get(target, key) {
        if (key === 'requestAdapter') {
          return (o?: GPURequestAdapterOptions) =>
            nativeQuiet(() => target.requestAdapter(o)).then((a) => {
              if (a) setPoliteWaiting(isCpuAdapter(adapterSummary(a)));
              return a;
            });
        }
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    return { gpu, runtime: `node ${process.versions.node} (dawn.node)` };
  });
}

/**
 * Destroys the device (waiting until Dawn reports it lost) so that the process can exit; resolves
 * to whether a device had been opened.
 */
export async function releaseNodeWebGPU(): Promise<boolean> {
  const had = await releaseGpu();
  setGpuProvider(null);
  return had;
}

/**
 * Ends the process with `code`, the quick way: releases the device, waits until stdout and stderr
 * have written everything (a pipe or socket may be asynchronous), then `process.exit`. Node's own
 * exit frees the environment, where Dawn's teardown of its instance takes ~80 ms on lavapipe: from
 * the script's end to the end of the process, 102–108 ms that way against 20–27 ms this way (after
 * a conv Gram of 4 images, 4 runs each, on a quiet machine). The device is destroyed and lost
 * first, so nothing is in flight. The CLI ends so; a script may call it last.
 */
export async function exitNodeWebGPU(code = 0): Promise<never> {
  await releaseNodeWebGPU();
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((done) => s.write('', () => done()))));
  process.exit(code);
}
