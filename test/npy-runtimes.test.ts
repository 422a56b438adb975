/**
 * src/io/npy.ts (parseNpy/encodeNpy, exported by the runtime-neutral `webntk`) outside Node: bundled
 * by vite for browsers, run in Deno and headless Chromium, where there is no Node Buffer or fs.
 * Also checks statically that the modules behind the core's file formats import nothing from Node.
 * A missing runtime fails the test: nothing is skipped.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { NpyEntryResult } from './runtimes/npy-entry.js';
import { bundleEntry, cleanupRuntimes, runInChromium, runInDeno } from './runtimes/harness.js';

const ENTRY = 'test/runtimes/npy-entry.ts';
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function check(r: NpyEntryResult, runtime: string): void {
  expect(r.runtime).toBe(runtime);
  if (runtime === 'browser') expect(r.hasNodeBuffer).toBe(false);
  const codes: Record<string, string> = {
    float64: 'f8', float32: 'f4', float16: 'f2', int8: 'i1', int16: 'i2', int32: 'i4', int64: 'i8', uint8: 'u1', uint16: 'u2', uint32: 'u4', uint64: 'u8', bool: 'b1',
  };
  const expected = Object.fromEntries(
    Object.entries(codes).flatMap(([name, code]) =>
      (['little', 'big'] as const).map((o) => [`${name}/${o}`, { dtype: `${code.endsWith('1') ? '|' : o === 'little' ? '<' : '>'}${code}`, exact: true }]),
    ),
  );
  expect(r.roundTrips).toEqual(expected);
  expect(r.numpy).toEqual({ data: Array.from({ length: 12 }, (_, i) => i - 6), shape: [2, 3, 2], dtype: '>i2' });
  expect(r.float16).toEqual(['0.0999755859375', '65504', 'Infinity', String(2 ** -24), '-0']);
  expect(r.fromArrayBuffer).toEqual([1.5, -2]);
  expect(r.errors).toEqual([
    'InputError: x.npy: not a .npy file: expected magic \\x93NUMPY, got bytes 61 2c 62 0a 31 2c 32 0a',
    'InputError: t.npy: truncated: header says shape (3,) float64 = 24 bytes of data, file has 12',
    'InputError: o.npy: element [1] is 300: uint8 holds integers from 0 to 255',
  ]);
}

/** The relative imports of a module, followed, and every bare or node: specifier met on the way. */
function importGraph(entry: string): { modules: string[]; external: string[] } {
  const seen = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith('.')) visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      else external.add(spec);
    }
  };
  visit(entry);
  return { modules: [...seen].map((f) => f.slice(SRC.length + 1)).sort(), external: [...external].sort() };
}

describe('.npy in other runtimes', () => {
  afterAll(cleanupRuntimes);

  it('the core format modules import nothing from Node', () => {
    const npy = importGraph(join(SRC, 'io/npy.ts'));
    expect(npy.modules).toEqual(['errors.ts', 'io/npy.ts', 'jsvalue.ts']);
    expect(npy.external).toEqual([]);
    const nd = importGraph(join(SRC, 'io/ndarray.ts'));
    expect(nd.external).toEqual([]);
    const csv = importGraph(join(SRC, 'io/csv.ts'));
    expect(csv.external).toEqual(['papaparse']);
    // The core entry re-exports them.
    const core = readFileSync(join(SRC, 'index.ts'), 'utf8');
    expect(core).toMatch(/export \{ encodeNpy, parseNpy \} from '\.\/io\/npy\.js'/);
  });

  it('the browser bundle imports nothing (no node: modules, no Node globals)', { timeout: 60_000 }, async () => {
    const code = readFileSync(await bundleEntry(ENTRY), 'utf8');
    expect(code).not.toMatch(/^\s*import\s/m);
    expect(code).not.toMatch(/\bfrom\s*['"]/);
    expect(code).not.toMatch(/\brequire\(/);
    expect(code).not.toMatch(/['"]node:/);
  });

  it('reads and writes .npy in Deno', { timeout: 90_000 }, async () => {
    check((await runInDeno(await bundleEntry(ENTRY), { timeoutMs: 60_000 })) as NpyEntryResult, 'deno');
  });

  it('reads and writes .npy in headless Chromium', { timeout: 90_000 }, async () => {
    check((await runInChromium(await bundleEntry(ENTRY), { timeoutMs: 60_000 })) as NpyEntryResult, 'browser');
  });
});
