/// <reference types="@webgpu/types" preserve="true" />
/**
 * Obtaining a GPUDevice, in every runtime: browsers and Deno expose `navigator.gpu`; Node gets it
 * from a provider registered by `webntk/node` (Dawn through the `webgpu` package). One place for
 * adapter choice, the limits the engine needs, and device loss.
 */

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

/**
 * Whether the adapter runs on the CPU (lavapipe, SwiftShader): there a workgroup barrier is an
 * invocation switch and every per-lane load a loop, so kernels and submit sizes are chosen apart.
 */
export function isCpuAdapter(a: AdapterSummary): boolean {
  return a.isFallbackAdapter || /software|swiftshader|cpu/i.test(a.architecture);
}

/**
 * Whether the adapter is Mesa's llvmpipe (lavapipe, in Node's Dawn or Deno's wgpu), the CPU
 * adapter some kernels are tuned on: SwiftShader (Chromium's) compiles large unrolled shaders far
 * more slowly, so such variants are kept to llvmpipe.
 */
export function isLlvmpipe(a: AdapterSummary): boolean {
  return /llvmpipe/i.test(`${a.description} ${a.device}`);
}

export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterSummary;
  /** The limits the device was created with. */
  limits: GPUSupportedLimits;
  /** The adapter's limits (what could have been requested). */
  adapterLimits: GPUSupportedLimits;
  features: string[];
  /**
   * The subgroup size of a device created with the 'subgroups' feature, where the adapter fixes it
   * (min = max); null otherwise. Requested on llvmpipe only, for its first-layer kernel (first-layer.ts).
   */
  subgroupSize: number | null;
  /** Runtime name for reports: "node (dawn)", "deno", "browser". */
  runtime: string;
  /** Set when the device is lost; every computation checks it. */
  lost: { reason: string; message: string } | null;
  /** The first uncaptured error since the last `takeError()`. */
  takeError(): string | null;
}

/** A source of `GPU` objects (navigator.gpu or Dawn's). */
export type GpuProvider = () => Promise<{ gpu: GPU; runtime: string } | null>;

let provider: GpuProvider | null = null;
let cached: Promise<GpuContext | null> | null = null;

/** Registers where GPU objects come from (Node: `webntk/node` does this). */
export function setGpuProvider(p: GpuProvider | null): void {
  provider = p;
  cached = null;
}

function defaultProvider(): GpuProvider {
  return async () => {
    const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
    if (!nav?.gpu) return null;
    const deno = (globalThis as { Deno?: unknown }).Deno !== undefined;
    return { gpu: nav.gpu, runtime: deno ? 'deno' : 'browser' };
  };
}

/** Limits worth raising above the spec defaults: as much as the adapter offers. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** What a GPUAdapter says of itself (its info, and whether it is a fallback adapter). */
export function adapterSummary(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter),
  };
}

/** The subgroup size to request 'subgroups' for: llvmpipe's, where it offers the feature with one fixed size. */
function fixedSubgroupSize(adapter: GPUAdapter, a: AdapterSummary): number | null {
  if (!isLlvmpipe(a) || !adapter.features.has('subgroups')) return null;
  const info = adapter.info as { subgroupMinSize?: number; subgroupMaxSize?: number } | undefined;
  const min = info?.subgroupMinSize;
  return typeof min === 'number' && min > 0 && min === info?.subgroupMaxSize ? min : null;
}

async function create(): Promise<GpuContext | null> {
  const source = await (provider ?? defaultProvider())();
  if (!source) return null;
  const adapter = await source.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return null;
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const summary = adapterSummary(adapter);
  let subgroupSize = fixedSubgroupSize(adapter, summary);
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, ...(subgroupSize === null ? {} : { requiredFeatures: ['subgroups' as GPUFeatureName] }) });
  } catch (e) {
    // The feature is only an optimisation (first-layer.ts): without it, the direct kernel.
    if (subgroupSize === null) throw e;
    subgroupSize = null;
    device = await adapter.requestDevice({ requiredLimits });
  }
  let firstError: string | null = null;
  const ctx: GpuContext = {
    device,
    adapter: summary,
    subgroupSize,
    limits: device.limits,
    adapterLimits: adapter.limits,
    features: [...adapter.features].sort(),
    runtime: source.runtime,
    lost: null,
    takeError() {
      const e = firstError;
      firstError = null;
      return e;
    },
  };
  device.addEventListener('uncapturederror', (ev) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    firstError ??= err.message;
  });
  void device.lost.then((info) => {
    ctx.lost = { reason: info.reason, message: info.message };
    // A later getGpu() makes a fresh device.
    if (cached) cached = null;
  });
  return ctx;
}

/**
 * The shared GPU context (created on first use), or null when this runtime has no adapter.
 * A lost device is replaced by a new one on the next call.
 */
export async function getGpu(): Promise<GpuContext | null> {
  if (!cached) {
    const attempt = create();
    cached = attempt;
    attempt.catch(() => {
      if (cached === attempt) cached = null;
    });
  }
  const ctx = await cached;
  if (ctx?.lost) {
    cached = null;
    return getGpu();
  }
  return ctx;
}

/**
 * Destroys the shared device (tests and shutdown); the next getGpu() creates a new one. Resolves to
 * whether there was a device to destroy.
 */
export async function releaseGpu(): Promise<boolean> {
  const c = cached;
  cached = null;
  const ctx = c ? await c.catch(() => null) : null;
  if (!ctx) return false;
  ctx.device.destroy();
  // Dawn settles the destroyed device's work on its own threads; dropping the instance before
  // `lost` resolves lets V8 collect it mid-teardown (intermittent SIGSEGV/SIGABRT at exit).
  await ctx.device.lost;
  return true;
}

export function describeAdapter(a: AdapterSummary): string {
  const parts = [a.description || a.device || 'unknown adapter', a.vendor && `vendor ${a.vendor}`, a.architecture && `architecture ${a.architecture}`];
  return parts.filter(Boolean).join(', ') + (a.isFallbackAdapter ? ' (fallback adapter)' : '');
}
