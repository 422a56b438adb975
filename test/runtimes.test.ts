/**
 * The same WebGPU code in the other runtimes webntk supports: Deno (wgpu + Naga, on lavapipe here)
 * and headless Chromium (Dawn + Tint, on SwiftShader here). Each test bundles an entry module with
 * vite, runs its `run()` there, and asserts on the JSON it returns (see test/runtimes/harness.ts).
 * A missing runtime or adapter fails the test: nothing is skipped.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { bundleEntry, cleanupRuntimes, runInChromium, runInDeno } from './runtimes/harness.js';
import type { ProbeResult } from './runtimes/probe-entry.js';

const PROBE = 'test/runtimes/probe-entry.ts';

const INSTALL_HINT: Record<string, string> = {
  deno:
    'Deno found no WebGPU adapter. It needs a Vulkan loader and driver: on a GPU-less Debian 12 run ' +
    'scripts/setup-debian-webgpu.sh (libvulkan1, and mesa-vulkan-drivers from bookworm-backports for lavapipe).',
  chromium:
    "Chromium found no WebGPU adapter. Install Debian's `chromium` package (it ships SwiftShader's " +
    'Vulkan driver; scripts/setup-debian-webgpu.sh does it) and keep --enable-unsafe-webgpu in the launch flags. ' +
    'chromium-headless-shell has no WebGPU.',
};

function check(name: 'deno' | 'chromium', raw: unknown, expectedRuntime: string): ProbeResult {
  const r = raw as ProbeResult;
  if (!r || r.adapter === null || r.adapter === undefined) throw new Error(INSTALL_HINT[name]);
  const a = r.adapter;
  console.log(
    `${name}: adapter "${a.description}" (vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'}, ` +
      `fallback ${a.isFallbackAdapter}); maxBufferSize ${r.maxBufferSize}, maxStorageBufferBindingSize ` +
      `${r.maxStorageBufferBindingSize}, maxComputeInvocationsPerWorkgroup ${r.maxComputeInvocationsPerWorkgroup}; ` +
      `probe ${r.ms} ms`,
  );
  expect(r.runtime).toBe(expectedRuntime);
  expect(r.error ?? null).toBeNull();
  expect(r.ok).toBe(true);
  expect(r.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
  expect(r.maxBufferSize).toBeGreaterThanOrEqual(256 * 2 ** 20);
  return r;
}

describe('WebGPU in other runtimes', () => {
  afterAll(cleanupRuntimes);

  it('runs a compute shader in Deno', { timeout: 90_000 }, async () => {
    const bundle = await bundleEntry(PROBE);
    check('deno', await runInDeno(bundle, { timeoutMs: 60_000 }), 'deno');
  });

  it('runs a compute shader in headless Chromium', { timeout: 90_000 }, async () => {
    const bundle = await bundleEntry(PROBE);
    check('chromium', await runInChromium(bundle, { timeoutMs: 60_000 }), 'browser');
  });
});
