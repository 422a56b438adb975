/**
 * The cases of `webntk bench`, runtime-neutral: the same deterministic inputs, the same Gram
 * matrices, timed the same way in Node (Dawn), Deno (wgpu) and browsers. The CLI runs
 * `benchGrams` in-process for Node and, for Deno and Chromium, from the browser build
 * (dist-browser/webntk.js exports it) in that runtime (src/node/bench-runtimes.ts).
 */
import { kernel, kernelCpu } from './api.js';
import { InputError } from './errors.js';
import { describeAdapter, getGpu } from './gpu/device.js';
import { Rng } from './mc/rng.js';

/** One benchmark case: `preset` at `depth`, X × X with N inputs of dimension d. */
export interface BenchCase {
  preset: string;
  n: number;
  d: number;
  depth: number;
}

/** One case's timings in one runtime (seconds; null where a backend did not run). */
export interface BenchRow {
  case: string;
  n: number;
  d: number;
  depth: number;
  cpuSeconds: number | null;
  webgpuSeconds: number | null;
  speedup: number | null;
  webgpuEntriesLayersPerSecond: number | null;
  /** max |K_gpu − K_cpu| / sqrt(K_cpu(x,x) K_cpu(x',x')) over both kernels; null without both. */
  maxNormalisedDifference: number | null;
}

/** What one runtime returns: its name, its adapter (null: none, CPU only) and the rows. */
export interface BenchRuntimeResult {
  runtime: string;
  adapter: string | null;
  rows: BenchRow[];
}

/** Rows the warm-up run computes (compiles the pipelines) before the clock starts. */
export const BENCH_WARMUP_ROWS = 64;

/** Parses `preset,N,d,depth` (positive integers). */
export function parseBenchCase(c: string): BenchCase {
  const [preset, n, d, depth] = c.split(',');
  const nums = [n, d, depth].map(Number);
  if (!preset || c.split(',').length !== 4 || nums.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new InputError(`--case wants preset,N,d,depth with positive integers, e.g. densenet,1024,64,10; got "${c}"`);
  }
  return { preset, n: nums[0]!, d: nums[1]!, depth: nums[2]! };
}

/** The preset reference a case benchmarks (residual presets at γ = ½). */
export function benchArch(c: BenchCase): string {
  if (c.preset === 'huang2020' || c.preset === 'belfer2021' || c.preset === 'resnet') return `${c.preset}:depth=${c.depth},gamma=0.5`;
  return `${c.preset}:depth=${c.depth}`;
}

/** The case's inputs: N standard normal rows of dimension d, the same in every runtime. */
export function benchInputs(n: number, d: number): number[][] {
  const rng = new Rng(n * 31 + d);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
}

/**
 * Runs one case: the float64 CPU reference (unless `cpu` is false) and WebGPU end to end (after
 * a warm-up on the first 64 rows; unless `webgpu` is false), and their largest normalised difference.
 */
export async function benchGram(c: BenchCase, opts: { cpu?: boolean; webgpu?: boolean } = {}): Promise<BenchRow> {
  const X = benchInputs(c.n, c.d);
  const a = benchArch(c);
  let cpuS: number | null = null;
  let cpu = null;
  if (opts.cpu !== false) {
    const t = performance.now();
    cpu = kernelCpu(a, X);
    cpuS = (performance.now() - t) / 1000;
  }
  let gpuS: number | null = null;
  let err: number | null = null;
  if (opts.webgpu !== false) {
    await kernel(a, X.slice(0, BENCH_WARMUP_ROWS), null, { backend: 'webgpu' }); // compile the pipelines
    const t = performance.now();
    const gpu = await kernel(a, X, null, { backend: 'webgpu' });
    gpuS = (performance.now() - t) / 1000;
    if (cpu) {
      err = 0;
      for (const k of ['nngp', 'ntk'] as const) {
        for (let i = 0; i < c.n; i++) {
          for (let j = 0; j < c.n; j++) {
            const s = Math.sqrt(cpu[k]![i * c.n + i]! * cpu[k]![j * c.n + j]!);
            err = Math.max(err, Math.abs(gpu[k]![i * c.n + j]! - cpu[k]![i * c.n + j]!) / s);
          }
        }
      }
    }
  }
  const entriesLayers = c.n * c.n * c.depth;
  return {
    case: a,
    n: c.n,
    d: c.d,
    depth: c.depth,
    cpuSeconds: cpuS,
    webgpuSeconds: gpuS,
    speedup: cpuS !== null && gpuS !== null ? cpuS / gpuS : null,
    webgpuEntriesLayersPerSecond: gpuS !== null ? entriesLayers / gpuS : null,
    maxNormalisedDifference: err,
  };
}

/**
 * Runs the cases in this runtime on its WebGPU adapter (`getGpu()`; without one, the CPU only).
 * `runtime` is the context's runtime name ("deno", "browser", "node … (dawn.node)"), or
 * `fallbackRuntime` without an adapter; callers in Deno and browsers add the version. With
 * `requireAdapter`, a runtime without an adapter returns no rows at once.
 */
export async function benchGrams(
  cases: readonly BenchCase[],
  opts: { cpu?: boolean; fallbackRuntime?: string; requireAdapter?: boolean } = {},
): Promise<BenchRuntimeResult> {
  const ctx = await getGpu();
  const rows: BenchRow[] = [];
  // With `requireAdapter`, no adapter is the answer: no rows (the caller reports it).
  if (!ctx && opts.requireAdapter) return { runtime: opts.fallbackRuntime ?? 'unknown', adapter: null, rows };
  for (const c of cases) rows.push(await benchGram(c, { cpu: opts.cpu !== false, webgpu: ctx !== null }));
  return {
    runtime: ctx?.runtime ?? opts.fallbackRuntime ?? 'unknown',
    adapter: ctx ? describeAdapter(ctx.adapter) : null,
    rows,
  };
}
