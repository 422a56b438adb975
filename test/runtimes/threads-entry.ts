/**
 * The CPU backend on Web Workers, run in Deno and headless Chromium by test/threads-runtimes.test.ts
 * (see harness.ts for the entry contract): kernel() with threads against kernelCpu, bit for bit.
 */
import { kernel, kernelCpu } from '../../src/api.js';

export interface ThreadsEntryResult {
  runtime: string;
  threads: number | null;
  note: string | null;
  identical: boolean;
  /** The note of a call without `threads` (this bundle is not webntk's own module). */
  defaultNote: string | null;
  error: string | null;
}

export async function run(): Promise<ThreadsEntryResult> {
  const g = globalThis as unknown as { Deno?: unknown; window?: unknown };
  const runtime = g.Deno !== undefined ? 'deno' : g.window !== undefined ? 'browser' : 'other';
  const n = 150;
  const d = 6;
  const X = { data: Float64Array.from({ length: n * d }, (_, i) => Math.sin(i * 1.3) + (i % 7 === 0 ? 1 : 0)), rows: n, cols: d };
  try {
    const one = kernelCpu('tirer2021:depth=8,alpha=0.5', X);
    const r = await kernel('tirer2021:depth=8,alpha=0.5', X, null, { threads: 3 });
    const same = (a?: Float64Array, b?: Float64Array) => !!a && !!b && a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
    const byDefault = await kernel('tirer2021:depth=8,alpha=0.5', X);
    return {
      runtime,
      threads: r.threads ?? null,
      note: r.threadsNote ?? null,
      identical: same(one.ntk, r.ntk) && same(one.nngp, r.nngp) && same(one.ntk, byDefault.ntk),
      defaultNote: byDefault.threadsNote ?? null,
      error: null,
    };
  } catch (e) {
    return { runtime, threads: null, note: null, identical: false, defaultNote: null, error: String(e) };
  }
}
