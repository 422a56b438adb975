/**
 * `webntk bench --runtime node|deno|chromium|all`: the same cases on the same inputs in Node (Dawn),
 * Deno (wgpu) and headless Chromium (Dawn on SwiftShader), from the browser build
 * dist-browser/webntk.js, with one table and one JSON format; and the one-line errors (exit 3) for a
 * missing runtime or adapter. A missing runtime or adapter fails these tests: nothing is skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchInputs, parseBenchCase } from '../src/bench.js';
import { browserBundle } from '../src/node/bench-runtimes.js';
import { releaseNodeWebGPU } from '../src/node/webgpu.js';
import { runCli } from './cli-run.js';
import type { BenchRow } from '../src/bench.js';

/** A `--json` row: the library's BenchRow with the runtime and the adapter that ran it. */
type Row = BenchRow & { runtime: string; adapter: string | null };

/**
 * stderr without the note a checkout prints when it rebuilds a stale browser build first (other
 * edits to src/ while the tests run make it stale again).
 */
const errors = (err: string) => err.split('\n').filter((l) => l && !l.startsWith('webntk bench: ')).map((l) => `${l}\n`).join('');

/** Runs the CLI with some environment variables set (restored afterwards). */
async function withEnv(env: Record<string, string>, ...argv: string[]): ReturnType<typeof runCli> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await runCli(...argv);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('bench in other runtimes', () => {
  beforeAll(async () => {
    // In a checkout the browser build is (re)built when missing or stale: do it here, not in a test's time.
    let note = '';
    await browserBundle({ out: () => undefined, err: (s) => void (note += s) });
    if (note) console.log(note.trim());
  }, 240_000);
  afterAll(releaseNodeWebGPU);

  it('the inputs are deterministic and a case string is checked', () => {
    expect(benchInputs(3, 2)).toEqual(benchInputs(3, 2));
    expect(benchInputs(3, 2)[0]![0]).not.toBe(benchInputs(3, 3)[0]![0]);
    expect(parseBenchCase('densenet,64,8,4')).toEqual({ preset: 'densenet', n: 64, d: 8, depth: 4 });
    expect(() => parseBenchCase('densenet,64,8')).toThrow(/preset,N,d,depth/);
  });

  it('--runtime all --json: one row per case and runtime, WebGPU agreeing with float64 in each', { timeout: 180_000 }, async () => {
    const t0 = performance.now();
    const r = await runCli('bench', '--runtime', 'all', '--case', 'arora2019,128,8,5', '--case', 'huang2020,64,8,4', '--json');
    console.log(`bench --runtime all (2 small cases): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out) as Row[];
    console.log(rows.map((x) => `${x.case} ${x.runtime} [${x.adapter}]: GPU ${x.webgpuSeconds?.toFixed(3)} s, max diff ${x.maxNormalisedDifference?.toExponential(1)}`).join('\n'));
    expect(rows).toHaveLength(6);
    expect(rows.map((x) => x.case)).toEqual([
      'arora2019:depth=5',
      'arora2019:depth=5',
      'arora2019:depth=5',
      'huang2020:depth=4,gamma=0.5',
      'huang2020:depth=4,gamma=0.5',
      'huang2020:depth=4,gamma=0.5',
    ]);
    for (let i = 0; i < 2; i++) {
      expect(rows[3 * i]!.runtime).toMatch(/^node \d+\.\d+\.\d+ \(dawn\.node\)$/);
      expect(rows[3 * i + 1]!.runtime).toMatch(/^deno 2\.\d+\.\d+$/);
      expect(rows[3 * i + 2]!.runtime).toMatch(/^chromium \d{3,}\.[\d.]+$/);
    }
    for (const x of rows) {
      expect(x.adapter, x.runtime).toMatch(/\S/);
      expect(x.n).toBe(x.case.startsWith('arora') ? 128 : 64);
      expect(x.d).toBe(8);
      expect(x.cpuSeconds, x.runtime).toBeGreaterThan(0);
      expect(x.webgpuSeconds, x.runtime).toBeGreaterThan(0);
      expect(x.speedup).toBeCloseTo(x.cpuSeconds! / x.webgpuSeconds!, 6);
      expect(x.webgpuEntriesLayersPerSecond).toBeCloseTo((x.n * x.n * x.depth) / x.webgpuSeconds!, 0);
      expect(x.maxNormalisedDifference, `${x.case} in ${x.runtime}`).not.toBeNull();
      expect(x.maxNormalisedDifference!, `${x.case} in ${x.runtime}`).toBeLessThan(1e-5);
    }
    // Chromium's adapter is its own (SwiftShader here), not Node's.
    expect(new Set(rows.map((x) => x.runtime)).size).toBe(3);
  });

  it('the table: an adapter line per runtime and a runtime column; --no-cpu leaves the CPU columns empty', { timeout: 180_000 }, async () => {
    const r = await runCli('bench', '--runtime', 'chromium,deno', '--case', 'densenet,64,8,3', '--no-cpu');
    expect(r.code, r.err).toBe(0);
    console.log(r.out);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^WebGPU: .+; deno 2\./);
    expect(lines[1]).toMatch(/^WebGPU: .+; chromium \d+/);
    expect(lines[3]).toBe('| case | runtime | N | d | CPU s | WebGPU s | speedup | WebGPU entries×layers/s | max normalised difference |');
    const body = lines.filter((l) => l.startsWith('| densenet'));
    expect(body).toHaveLength(2);
    expect(body[0]).toMatch(/^\| densenet:depth=3 \| deno 2\.[\d.]+ \| 64 \| 8 \| — \| \d+\.\d{3} \| — \| [\d.]+ M \| — \|$/);
    expect(body[1]).toMatch(/^\| densenet:depth=3 \| chromium [\d.]+ \| 64 \| 8 \| — \| \d+\.\d{3} \| — \| [\d.]+ M \| — \|$/);
  });

  it('a missing runtime is one line and exit code 3, before any work', { timeout: 60_000 }, async () => {
    const deno = await withEnv({ DENO: '/nonexistent/deno' }, 'bench', '--runtime', 'all', '--case', 'arora2019,64,8,3');
    expect(deno.code).toBe(3);
    expect(deno.out).toBe('');
    expect(errors(deno.err)).toBe('webntk: error: deno not found: DENO=/nonexistent/deno is not an executable file\n');
    const chromium = await withEnv({ CHROMIUM: '/nonexistent/chromium' }, 'bench', '--runtime', 'chromium', '--case', 'arora2019,64,8,3');
    expect(chromium.code).toBe(3);
    expect(chromium.out).toBe('');
    expect(errors(chromium.err)).toBe('webntk: error: chromium not found: CHROMIUM=/nonexistent/chromium is not an executable file\n');
  });

  it('a runtime without an adapter is one line and exit code 3', { timeout: 60_000 }, async () => {
    // No Vulkan driver at all: wgpu (told to use Vulkan) finds no adapter.
    const r = await withEnv({ VK_ICD_FILENAMES: '/nonexistent/icd.json', DENO_WEBGPU_BACKEND: 'vulkan' }, 'bench', '--runtime', 'deno', '--case', 'arora2019,64,8,3');
    expect(r.code, r.err).toBe(3);
    expect(r.out).toBe('');
    expect(errors(r.err)).toMatch(/^webntk: error: deno 2\.[\d.]+ found no WebGPU adapter: .+\n$/);
  });

  it('a bad --runtime is a usage error (exit code 2)', async () => {
    const r = await runCli('bench', '--runtime', 'firefox', '--case', 'arora2019,64,8,3');
    expect(r.code).toBe(2);
    expect(errors(r.err)).toBe('webntk: error: --runtime wants node, deno, chromium (comma-separated) or all; got "firefox"\n');
    const help = await runCli('bench', '--help');
    expect(help.out).toMatch(/--runtime <name>/);
    expect(help.out).toMatch(/Exit codes: 0 success, 2 bad input/);
    expect(help.out).toMatch(/webntk bench --runtime all --case arora2019,256,16,5/);
  });
});
