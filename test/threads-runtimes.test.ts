/**
 * The CPU backend's Web Worker spawner (src/exec/web-workers.ts) in the other runtimes: Deno (with
 * read access to the bundle, which each worker loads; without it, one thread and a note saying
 * why) and headless Chromium. Results identical to the one-thread kernelCpu, bit for bit. A bundle
 * that is not webntk's own module uses workers only when asked (threads set), and says so.
 */
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleEntry, cleanupRuntimes, runInChromium, runInDeno } from './runtimes/harness.js';
import type { ThreadsEntryResult } from './runtimes/threads-entry.js';

const ENTRY = 'test/runtimes/threads-entry.ts';

describe('worker threads in other runtimes (Web Workers)', () => {
  afterAll(cleanupRuntimes);

  it('Deno: 3 workers, the same bits; without read access, one thread and why', { timeout: 90_000 }, async () => {
    const bundle = await bundleEntry(ENTRY);
    const r = (await runInDeno(bundle, { denoArgs: [`--allow-read=${dirname(bundle)}`] })) as ThreadsEntryResult;
    expect(r).toMatchObject({ runtime: 'deno', threads: 3, note: null, identical: true, error: null });
    // This bundle is a test's, not webntk's own module: workers only where threads is set.
    expect(r.defaultNote).toMatch(/threads-entry\.js.*only when threads is set/);
    const denied = (await runInDeno(bundle)) as ThreadsEntryResult;
    expect(denied).toMatchObject({ runtime: 'deno', threads: 1, identical: true, error: null });
    expect(denied.note).toMatch(/no read access .*--allow-read/);
  });

  it('headless Chromium: 3 workers, the same bits', { timeout: 90_000 }, async () => {
    const bundle = await bundleEntry(ENTRY);
    const r = (await runInChromium(bundle)) as ThreadsEntryResult;
    expect(r).toMatchObject({ runtime: 'browser', threads: 3, note: null, identical: true, error: null });
    expect(r.defaultNote).toMatch(/only when threads is set/);
  });
});
