/**
 * src/io/csv.ts outside Node: bundled by vite for browsers, run in Deno and headless Chromium,
 * where there is no Node Buffer (and Deno forbids __proto__ assignments, which is why csv-parse's
 * browser build did not do).
 * A missing runtime fails the test: nothing is skipped.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { CsvEntryResult } from './runtimes/csv-entry.js';
import { bundleEntry, cleanupRuntimes, runInChromium, runInDeno } from './runtimes/harness.js';

const ENTRY = 'test/runtimes/csv-entry.ts';

function check(r: CsvEntryResult, runtime: string): void {
  expect(r.runtime).toBe(runtime);
  // Deno 2 has a global Buffer of its own; the browser has none.
  if (runtime === 'browser') expect(r.hasNodeBuffer).toBe(false);
  expect(r.parsed).toEqual([
    { data: [1.5, -0.002, 3, 4], rows: 2, cols: 2, header: ['x', 'y, z'] },
    { data: [1, 2, 3, 4, 5, 6], rows: 2, cols: 3, header: null },
    { data: [1, 2], rows: 1, cols: 2, header: ['α', 'β'] },
  ]);
  expect(r.roundTripExact).toBe(true);
  expect(r.errors).toEqual([
    'InputError: e.csv: row 2, column 2 ("b"): "x" is not a number',
    'InputError: q.csv: row 1: Quoted field unterminated',
    'InputError: r.csv: row 2 has 1 column but row 1 has 2',
  ]);
}

describe('CSV in other runtimes', () => {
  afterAll(cleanupRuntimes);

  it('the browser bundle imports nothing (no node: modules, no Node globals)', { timeout: 60_000 }, async () => {
    const code = readFileSync(await bundleEntry(ENTRY), 'utf8');
    expect(code).not.toMatch(/^\s*import\s/m);
    expect(code).not.toMatch(/\bfrom\s*['"]/);
    expect(code).not.toMatch(/\brequire\(/);
    expect(code).not.toMatch(/['"]node:/);
  });

  it('parses and writes CSV in Deno', { timeout: 90_000 }, async () => {
    check((await runInDeno(await bundleEntry(ENTRY), { timeoutMs: 60_000 })) as CsvEntryResult, 'deno');
  });

  it('parses and writes CSV in headless Chromium', { timeout: 90_000 }, async () => {
    check((await runInChromium(await bundleEntry(ENTRY), { timeoutMs: 60_000 })) as CsvEntryResult, 'browser');
  });
});
