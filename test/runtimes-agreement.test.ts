/**
 * WebGPU against the float64 CPU reference inside Deno (wgpu + Naga, on lavapipe here) and headless
 * Chromium (Dawn + Tint, on SwiftShader here): a representative subset of test/gpu-accuracy.test.ts
 * (deep MLPs, ResNets, DenseNets, custom specs with every other layer type, and X1 × X2 with
 * n1 ≠ n2 and every depth). The entry runs both backends in the runtime and returns the errors;
 * this test checks them. A missing runtime or adapter fails the test: nothing is skipped, and a
 * result that did not come from WebGPU fails too.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AgreementResult } from './runtimes/agreement-entry.js';
import { bundleEntry, cleanupRuntimes, runInChromium, runInDeno } from './runtimes/harness.js';

const ENTRY = 'test/runtimes/agreement-entry.ts';
/** The tolerance of the Node accuracy suite up to depth 1000. */
const TOLERANCE = 1e-5;

const fmt = (v: number | null) => (v === null ? '—' : v.toExponential(2));

function report(name: string, r: AgreementResult): void {
  const width = Math.max(...r.cases.map((c) => c.name.length), 4);
  const lines = [
    `${name} (${r.runtime ?? 'no runtime'}; ${r.adapter ?? 'no adapter'}): ${r.cases.length} cases in ${Math.round(r.ms)} ms`,
    `  ${'case'.padEnd(width)}  ${'NNGP'.padStart(9)}  ${'NTK'.padStart(9)}  ${'ms'.padStart(6)}  backend`,
    ...r.cases.map(
      (c) =>
        `  ${c.name.padEnd(width)}  ${fmt(c.nngp).padStart(9)}  ${fmt(c.ntk).padStart(9)}  ${String(Math.round(c.ms)).padStart(6)}  ${c.backend ?? '—'}` +
        (c.error ? `  ERROR: ${c.error}` : ''),
    ),
  ];
  console.log(lines.join('\n'));
}

function check(name: 'deno' | 'chromium', raw: unknown, expectedRuntime: string): void {
  const r = raw as AgreementResult;
  if (!r || r.runtime === null || r.adapter === null) {
    throw new Error(`${name} found no WebGPU adapter (see test/runtimes.test.ts and scripts/setup-debian-webgpu.sh)`);
  }
  report(name, r);
  expect(r.runtime).toBe(expectedRuntime);
  expect(r.cases.length).toBeGreaterThanOrEqual(11);
  // GPU-CG against the float64 direct solve, in this runtime.
  const cg = r.cg!;
  console.log(
    `${name} GPU-CG (n = ${cg.n}): ${cg.iterations} iterations, true relative residual ${fmt(cg.relativeResidual)}, ` +
      `max |Δ prediction| / max |prediction| = ${fmt(cg.maxRelDiff)}${cg.error ? `  ERROR: ${cg.error}` : ''}`,
  );
  expect.soft(cg.error, `${name} GPU-CG`).toBeNull();
  expect.soft(cg.relativeResidual ?? Infinity, `${name} GPU-CG residual`).toBeLessThan(1e-3);
  expect.soft(cg.maxRelDiff ?? Infinity, `${name} GPU-CG vs direct`).toBeLessThan(1e-3);
  for (const c of r.cases) {
    expect.soft(c.error, `${name} ${c.name}: error`).toBeNull();
    expect.soft(c.backend, `${name} ${c.name}: backend`).toBe('webgpu');
    expect.soft(c.adapter, `${name} ${c.name}: adapter`).toBe(r.adapter);
    expect.soft(c.nngp, `${name} ${c.name}: NNGP error`).not.toBeNull();
    expect.soft(c.ntk, `${name} ${c.name}: NTK error`).not.toBeNull();
    expect.soft(c.nngp ?? Infinity, `${name} ${c.name}: NNGP error`).toBeLessThanOrEqual(TOLERANCE);
    expect.soft(c.ntk ?? Infinity, `${name} ${c.name}: NTK error`).toBeLessThanOrEqual(TOLERANCE);
  }
}

describe('WebGPU agrees with the float64 reference in other runtimes', () => {
  afterAll(cleanupRuntimes);

  it('in Deno (wgpu)', { timeout: 90_000 }, async () => {
    const bundle = await bundleEntry(ENTRY);
    check('deno', await runInDeno(bundle, { timeoutMs: 60_000 }), 'deno');
  });

  it('in headless Chromium (Dawn)', { timeout: 90_000 }, async () => {
    const bundle = await bundleEntry(ENTRY);
    check('chromium', await runInChromium(bundle, { timeoutMs: 60_000 }), 'browser');
  });
});
