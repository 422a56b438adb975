/**
 * One conv spec on the four images of `convImages` (image 2 is the near-duplicate of image 0), WebGPU
 * against the float64 CPU path: the worst normalised error over every pair but the near-duplicate,
 * and over the near-duplicate pair alone (whose 1 − ρ ~ 1e−8 after a pool is as small as an f32
 * rounding of the pooled off-diagonal gaps: shaders/ds_gaps.wgsl), each finite and within `tol`; one
 * line per case is pushed to `worst` for the log. Returns the WebGPU result.
 */
import { expect } from 'vitest';
import { kernel, kernelCpu, type Arch, type KernelResult } from '../../src/index.js';
import type { ImagesInput } from '../../src/images.js';
import { normalisedError } from './setup.js';

const nearPair = (i: number, j: number) => (i === 0 && j === 2) || (i === 2 && j === 0);

export async function compareConvWithCpu(
  worst: string[],
  name: string,
  arch: Arch,
  X: ImagesInput,
  tol: number,
  depths: 'all' | 'last' = 'all',
): Promise<KernelResult> {
  const cpu = kernelCpu(arch, X, null, { depths });
  const gpu = await kernel(arch, X, null, { backend: 'webgpu', depths });
  expect(gpu.backend).toBe('webgpu');
  expect(gpu.shape).toEqual(cpu.shape);
  const taps = cpu.depths.length;
  const others = (i: number, j: number) => !nearPair(i, j);
  const ek = normalisedError(cpu.nngp!, gpu.nngp!, 4, taps, others);
  const et = normalisedError(cpu.ntk!, gpu.ntk!, 4, taps, others);
  const nk = normalisedError(cpu.nngp!, gpu.nngp!, 4, taps, nearPair);
  const nt = normalisedError(cpu.ntk!, gpu.ntk!, 4, taps, nearPair);
  worst.push(`  ${name}: NNGP ${ek.toExponential(1)}, NTK ${et.toExponential(1)}; near-duplicate NNGP ${nk.toExponential(1)}, NTK ${nt.toExponential(1)}`);
  for (const e of [ek, et, nk, nt]) expect(Number.isFinite(e), 'a finite error').toBe(true);
  expect(ek, 'NNGP').toBeLessThanOrEqual(tol);
  expect(et, 'NTK').toBeLessThanOrEqual(tol);
  expect(nk, 'near-duplicate NNGP').toBeLessThanOrEqual(tol);
  expect(nt, 'near-duplicate NTK').toBeLessThanOrEqual(tol);
  return gpu;
}
