/**
 * Profiling: the phases a run reports (ExecOptions.phases, `webntk gram --profile`). A profiled run
 * must give the same numbers as a plain one, and its phases must add up inside the wall time.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernel } from '../src/index.js';
import { encodeNpy } from '../src/io/npy.js';
import { Rng } from '../src/mc/rng.js';
import { runCli } from './cli-run.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

function inputs(n: number, d: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
}

const GPU_PHASES = ['rows', 'compile', 'upload', 'firstLayer', 'recursion', 'readback', 'decode'];

let dir: string;
let xPath: string;
beforeAll(async () => {
  await requireGpu();
  dir = fs.mkdtempSync(join(tmpdir(), 'webntk-profile-'));
  xPath = join(dir, 'X.npy');
  const X = inputs(70, 9, 3);
  fs.writeFileSync(xPath, encodeNpy(X.flat(), [70, 9], 'float64'));
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await releaseGpuForTests();
});

describe('ExecOptions.phases (WebGPU FC path)', () => {
  it('fills every phase, counts the pipelines, and leaves the values bit for bit as a plain run', async () => {
    const X = inputs(130, 11, 7);
    const plain = await kernel('tirer2021:depth=6', X, null, { backend: 'webgpu', blockRows: 64, maxPairOpsPerSubmit: 64 * 64 * 2 });
    const phases: Record<string, number> = {};
    const t0 = performance.now();
    const prof = await kernel('tirer2021:depth=6', X, null, { backend: 'webgpu', blockRows: 64, maxPairOpsPerSubmit: 64 * 64 * 2, phases });
    const wall = (performance.now() - t0) / 1000;
    expect(Array.from(prof.ntk!)).toEqual(Array.from(plain.ntk!));
    expect(Array.from(prof.nngp!)).toEqual(Array.from(plain.nngp!));
    for (const k of GPU_PHASES) {
      expect(phases[k], k).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(phases[k]), k).toBe(true);
    }
    // The second run of the same program finds both pipelines in the device's cache.
    expect(phases.pipelinesCompiled).toBe(0);
    expect(phases.pipelinesCached).toBe(2);
    // Three row blocks of 64 (upper triangle: 6 blocks), each with its first layer and 3 depth chunks.
    expect(phases.firstLayer).toBeGreaterThan(0);
    expect(phases.recursion).toBeGreaterThan(0);
    const sum = GPU_PHASES.reduce((s, k) => s + phases[k]!, 0);
    expect(sum).toBeLessThanOrEqual(wall);
  });
});

describe('webntk gram --profile', () => {
  it('--json carries the phases, which fit inside the total (CPU)', async () => {
    const out = join(dir, 'Kc.npy');
    const r = await runCli('gram', '--arch', 'arora2019:depth=3', '--x1', xPath, '--out', out, '--profile', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { phases: Record<string, number>; seconds: number };
    for (const k of ['processStart', 'kernel', 'write', 'total']) expect(j.phases[k], k).toBeGreaterThan(0);
    expect(j.phases.kernel! + j.phases.write!).toBeLessThanOrEqual(j.seconds);
    expect(j.phases.total).toBeGreaterThanOrEqual(j.phases.processStart! + j.seconds);
    expect(fs.existsSync(out)).toBe(true);
  });

  it('--json on WebGPU adds the device and the executor phases, inside the kernel phase', async () => {
    const out = join(dir, 'Kg.npy');
    const r = await runCli('gram', '--arch', 'arora2019:depth=3', '--x1', xPath, '--out', out, '--backend', 'webgpu', '--profile', '--json');
    expect(r.code).toBe(0);
    const p = (JSON.parse(r.out) as { phases: Record<string, number> }).phases;
    for (const k of ['device', ...GPU_PHASES]) expect(p[k], k).toBeGreaterThanOrEqual(0);
    expect(p.pipelinesCompiled! + p.pipelinesCached!).toBe(2);
    const inside = GPU_PHASES.reduce((s, k) => s + p[k]!, 0);
    expect(inside).toBeLessThanOrEqual(p.kernel! + 1e-3);
  });

  it('without --json, one line on stderr after the summary line', async () => {
    const r = await runCli('gram', '--arch', 'arora2019:depth=3', '--x1', xPath, '--out', join(dir, 'K.npy'), '--profile');
    expect(r.code).toBe(0);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^phases: processStart [\d.]+ s, kernel [\d.]+ s, write [\d.]+ s, total [\d.]+ s$/);
    expect(lines[1]).toMatch(/^wrote /);
  });
});
