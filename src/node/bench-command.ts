/**
 * `webntk bench`: the same Gram matrices on the CPU reference and on WebGPU, side by side, with
 * their agreement. The full suite (first-layer GFLOP/s, FMA peak, NumPy) is `npm run bench:gpu`.
 */
import { kernel, kernelCpu } from '../api.js';
import { InputError } from '../errors.js';
import { describeAdapter, getGpu } from '../gpu/device.js';
import { Rng } from '../mc/rng.js';
import type { CliIO } from './cli.js';
import { useNodeWebGPU } from './webgpu.js';

export const DEFAULT_CASES = ['arora2019,1024,64,10', 'tirer2021,1024,64,10', 'densenet,1024,64,10'];

interface Case {
  preset: string;
  n: number;
  d: number;
  depth: number;
}

function parseCase(c: string): Case {
  const [preset, n, d, depth] = c.split(',');
  const nums = [n, d, depth].map(Number);
  if (!preset || nums.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new InputError(`--case wants preset,N,d,depth with positive integers, e.g. densenet,1024,64,10; got "${c}"`);
  }
  return { preset, n: nums[0]!, d: nums[1]!, depth: nums[2]! };
}

function arch(c: Case): string {
  if (c.preset === 'huang2020' || c.preset === 'belfer2021' || c.preset === 'resnet') return `${c.preset}:depth=${c.depth},gamma=0.5`;
  return `${c.preset}:depth=${c.depth}`;
}

export async function runBench(opts: { case?: string[]; json?: boolean; cpu?: boolean }, io: CliIO): Promise<void> {
  const cases = (opts.case?.length ? opts.case : DEFAULT_CASES).map(parseCase);
  useNodeWebGPU();
  const ctx = await getGpu();
  const rows = [];
  for (const c of cases) {
    const rng = new Rng(c.n * 31 + c.d);
    const X = Array.from({ length: c.n }, () => Array.from({ length: c.d }, () => rng.normal()));
    const a = arch(c);
    let cpuS: number | null = null;
    let cpu = null;
    if (opts.cpu !== false) {
      const t = performance.now();
      cpu = kernelCpu(a, X);
      cpuS = (performance.now() - t) / 1000;
    }
    let gpuS: number | null = null;
    let err: number | null = null;
    if (ctx) {
      await kernel(a, X.slice(0, 64), null, { backend: 'webgpu' }); // compile the pipelines
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
    rows.push({
      case: a,
      n: c.n,
      d: c.d,
      depth: c.depth,
      cpuSeconds: cpuS,
      webgpuSeconds: gpuS,
      speedup: cpuS !== null && gpuS !== null ? cpuS / gpuS : null,
      webgpuEntriesLayersPerSecond: gpuS !== null ? entriesLayers / gpuS : null,
      maxNormalisedDifference: err,
    });
  }
  const info = { adapter: ctx ? describeAdapter(ctx.adapter) : null, runtime: ctx?.runtime ?? `node ${process.versions.node}`, date: new Date().toISOString() };
  if (opts.json) {
    io.out(JSON.stringify({ ...info, results: rows }, null, 2) + '\n');
    return;
  }
  io.out(`${info.adapter ? `WebGPU: ${info.adapter}` : 'WebGPU: no adapter (CPU only)'}; ${info.runtime}\n\n`);
  io.out('| case | N | d | CPU s | WebGPU s | speedup | WebGPU entries×layers/s | max normalised difference |\n|---|---|---|---|---|---|---|---|\n');
  for (const r of rows) {
    const f = (v: number | null, d = 3) => (v === null ? '—' : v.toFixed(d));
    io.out(
      `| ${r.case} | ${r.n} | ${r.d} | ${f(r.cpuSeconds)} | ${f(r.webgpuSeconds)} | ${r.speedup === null ? '—' : `${r.speedup.toFixed(2)}×`} | ` +
        `${r.webgpuEntriesLayersPerSecond === null ? '—' : `${(r.webgpuEntriesLayersPerSecond / 1e6).toFixed(1)} M`} | ${r.maxNormalisedDifference === null ? '—' : r.maxNormalisedDifference.toExponential(1)} |\n`,
    );
  }
}
