/**
 * `webntk bench`: the same Gram matrices on the CPU reference and on WebGPU side by side, with
 * their agreement, in Node (Dawn) and, with `--runtime`, in Deno (wgpu) and headless Chromium (Dawn
 * on the browser's adapter): the same cases and inputs (src/bench.ts), one table. The full suite
 * (first-layer GFLOP/s, FMA peak, NumPy) is `npm run bench:gpu`.
 */
import { benchGrams, parseBenchCase, type BenchRow, type BenchRuntimeResult } from '../bench.js';
import { InputError } from '../errors.js';
import {
  adapterHint,
  BENCH_RUNTIMES,
  benchInChromium,
  benchInDeno,
  browserBundle,
  checkRuntimes,
  RuntimeUnavailable,
  type BenchRuntime,
} from './bench-runtimes.js';
import type { CliIO } from './cli-io.js';
import { useNodeWebGPU } from './webgpu.js';

export { RuntimeUnavailable } from './bench-runtimes.js';

export const DEFAULT_CASES = ['arora2019,1024,64,10', 'tirer2021,1024,64,10', 'densenet,1024,64,10'];

export interface BenchOptions {
  case?: string[];
  json?: boolean;
  cpu?: boolean;
  /** node, deno, chromium, a comma-separated list of them, or all; absent: node, CPU only without an adapter. */
  runtime?: string;
}

/** One row of `--json`: the runtime and adapter it ran on, then the case's figures. */
export type BenchJsonRow = { runtime: string; adapter: string | null } & BenchRow;

/** `node`, `deno`, `chromium`, a comma-separated list of them, or `all` (in that order). */
export function parseRuntimes(value: string): BenchRuntime[] {
  const names = value.split(',').map((s) => s.trim().toLowerCase());
  if (names.includes('all')) return [...BENCH_RUNTIMES];
  const bad = names.filter((n) => !(BENCH_RUNTIMES as readonly string[]).includes(n));
  if (bad.length || names.length === 0) {
    throw new InputError(`--runtime wants node, deno, chromium (comma-separated) or all; got "${value}"`);
  }
  return BENCH_RUNTIMES.filter((r) => names.includes(r));
}

/** The one formatter: adapter lines, then a Markdown table (a runtime column when there are several). */
export function formatBenchTable(results: readonly BenchRuntimeResult[]): string {
  const several = results.length > 1;
  let s = '';
  for (const r of results) s += `${r.adapter ? `WebGPU: ${r.adapter}` : 'WebGPU: no adapter (CPU only)'}; ${r.runtime}\n`;
  s += '\n';
  const cols = ['case', ...(several ? ['runtime'] : []), 'N', 'd', 'CPU s', 'WebGPU s', 'speedup', 'WebGPU entries×layers/s', 'max normalised difference'];
  s += `| ${cols.join(' | ')} |\n|${cols.map(() => '---|').join('')}\n`;
  const f = (v: number | null, d = 3) => (v === null ? '—' : v.toFixed(d));
  const cases = results[0]?.rows.length ?? 0;
  for (let i = 0; i < cases; i++) {
    for (const res of results) {
      const r = res.rows[i]!;
      s +=
        `| ${r.case} | ${several ? `${res.runtime} | ` : ''}${r.n} | ${r.d} | ${f(r.cpuSeconds)} | ${f(r.webgpuSeconds)} | ` +
        `${r.speedup === null ? '—' : `${r.speedup.toFixed(2)}×`} | ` +
        `${r.webgpuEntriesLayersPerSecond === null ? '—' : `${(r.webgpuEntriesLayersPerSecond / 1e6).toFixed(1)} M`} | ` +
        `${r.maxNormalisedDifference === null ? '—' : r.maxNormalisedDifference.toExponential(1)} |\n`;
    }
  }
  return s;
}

export async function runBench(opts: BenchOptions, io: CliIO): Promise<void> {
  const cases = (opts.case?.length ? opts.case : DEFAULT_CASES).map(parseBenchCase);
  const explicit = opts.runtime !== undefined;
  const runtimes = explicit ? parseRuntimes(opts.runtime!) : (['node'] as BenchRuntime[]);
  const cpu = opts.cpu !== false;
  // Fail before any work when a runtime, its driver or the browser build is missing.
  await checkRuntimes(runtimes);
  const bundle = runtimes.some((r) => r !== 'node') ? await browserBundle(io) : null;

  const results: BenchRuntimeResult[] = [];
  for (const runtime of runtimes) {
    if (runtime === 'node') {
      useNodeWebGPU();
      // Without --runtime, no adapter means the CPU column only (as before); with it, an error.
      const r = await benchGrams(cases, { cpu, requireAdapter: explicit, fallbackRuntime: `node ${process.versions.node}` });
      if (explicit && r.adapter === null) throw new RuntimeUnavailable(`${r.runtime} found no WebGPU adapter: ${adapterHint('node')}`);
      results.push(r);
    } else if (runtime === 'deno') {
      results.push(await benchInDeno(bundle!, cases, { cpu }));
    } else {
      results.push(await benchInChromium(bundle!, cases, { cpu }));
    }
  }

  if (opts.json) {
    const rows: BenchJsonRow[] = [];
    for (let i = 0; i < cases.length; i++) {
      for (const r of results) rows.push({ runtime: r.runtime, adapter: r.adapter, ...r.rows[i]! });
    }
    io.out(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  io.out(formatBenchTable(results));
}
