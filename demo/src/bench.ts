/**
 * The benchmark panel's measurement: one Gram (NNGP + NTK) of n random Gaussian inputs in R^d, on
 * WebGPU and on the CPU of this browser, as entries × layers per second, and the GPU result's
 * largest difference from the float64 CPU result.
 */
import { kernel, kernelCpu, type Arch, type Matrix2D } from '../../src/index.js';
import { layersOf } from './arch.js';

export interface BenchResult {
  n: number;
  d: number;
  layers: number;
  gpuMs: number | null;
  cpuMs: number;
  /** Entries (n²) × layers per second. */
  gpuRate: number | null;
  cpuRate: number;
  /** max_ij |GPU − CPU| / max_ij |CPU|, over both kernels. */
  maxRelDiff: number | null;
  adapter: string | null;
}

/** Deterministic standard normal inputs (mulberry32 + Box–Muller). */
export function gaussian(n: number, d: number, seed = 1): Matrix2D {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return { data, rows: n, cols: d };
}

function maxRel(a: Float64Array, b: Float64Array): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}

const nextFrame = () => new Promise<void>((r) => setTimeout(r, 0));

/**
 * The CPU side runs on the page's thread in one call (it is what is being timed), so its size is
 * capped: at ~20–30 M entry-layers/s in a browser this is at most about half a minute.
 */
export const BENCH_MAX_ENTRY_LAYERS = 5e8;

export async function runBench(arch: Arch, n: number, d: number, withGpu: boolean): Promise<BenchResult> {
  const layers = layersOf(arch);
  const entriesLayers = n * n * layers;
  if (entriesLayers > BENCH_MAX_ENTRY_LAYERS) {
    throw new Error(
      `n² × layers = ${entriesLayers.toExponential(2)} is more than the ${BENCH_MAX_ENTRY_LAYERS.toExponential(0)} this benchmark runs ` +
        '(the CPU side blocks the page while it is timed); reduce n or the depth',
    );
  }
  const x = gaussian(n, d);
  let gpuMs: number | null = null;
  let gpu: { nngp: Float64Array; ntk: Float64Array } | null = null;
  let adapter: string | null = null;
  if (withGpu) {
    // Warm-up: shader compilation and pipeline creation are not part of the throughput.
    await kernel(arch, gaussian(8, d, 2), null, { backend: 'webgpu' });
    const t0 = performance.now();
    const r = await kernel(arch, x, null, { backend: 'webgpu' });
    gpuMs = performance.now() - t0;
    gpu = { nngp: r.nngp!, ntk: r.ntk! };
    adapter = r.adapter ?? null;
  }
  await nextFrame();
  const t1 = performance.now();
  const c = kernelCpu(arch, x, null);
  const cpuMs = performance.now() - t1;
  let maxRelDiff: number | null = null;
  if (gpu) {
    const a = maxRel(gpu.nngp, c.nngp!);
    const b = maxRel(gpu.ntk, c.ntk!);
    maxRelDiff = Math.max(a.diff / (a.scale || 1), b.diff / (b.scale || 1));
  }
  return {
    n,
    d,
    layers,
    gpuMs,
    cpuMs,
    gpuRate: gpuMs === null ? null : entriesLayers / (gpuMs / 1000),
    cpuRate: entriesLayers / (cpuMs / 1000),
    maxRelDiff,
    adapter,
  };
}
