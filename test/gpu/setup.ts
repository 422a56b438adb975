/**
 * The GPU tests need a WebGPU adapter. In Node it comes from Dawn (the `webgpu` package) on the
 * machine's Vulkan driver; on a GPU-less Debian 12 that is Mesa's lavapipe from bookworm-backports
 * (scripts/setup-debian-webgpu.sh, run by .ci/run). A missing adapter fails the tests: never a skip.
 */
import { getGpu, type GpuContext } from '../../src/index.js';
import { releaseNodeWebGPU, useNodeWebGPU } from '../../src/node/webgpu.js';

export { accuracyInputs, convImages, maxRelDiff, normalisedError, parallelInputs } from './inputs.js';

export async function requireGpu(): Promise<GpuContext> {
  useNodeWebGPU();
  const ctx = await getGpu();
  if (!ctx) {
    throw new Error(
      'no WebGPU adapter: install the Vulkan driver (sudo bash scripts/setup-debian-webgpu.sh on Debian 12) ' +
        'and the "webgpu" npm package; the GPU tests never skip',
    );
  }
  return ctx;
}

export async function releaseGpuForTests(): Promise<void> {
  await releaseNodeWebGPU();
}
