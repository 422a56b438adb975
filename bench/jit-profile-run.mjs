// The workload of bench/jit-profile.py: one webntk Gram on WebGPU to create the pipeline, then
// `reps` more while perf samples them, then an idle wait so that the profiler can copy the JIT
// memory of the live process. Writes `<dir>/ready` (its pid) before the sampled calls and
// `<dir>/done` after them.
//   node bench/jit-profile-run.mjs DIR ARCH N C H REPS
import { writeFileSync } from 'node:fs';
import { kernel } from '../dist/index.js';
import { useNodeWebGPU } from '../dist/node/index.js';

const [dir, arch, n, C, H, reps] = process.argv.slice(2);
const shape = [Number(n), Number(C), Number(H), Number(H)];
const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
let seed = 12345;
for (let i = 0; i < data.length; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  data[i] = (seed / 2 ** 32) * 2 - 1;
}
useNodeWebGPU();
await kernel(arch, { data, shape }, null, { backend: 'webgpu' });
writeFileSync(`${dir}/ready`, String(process.pid));
for (let k = 0; k < Number(reps); k++) await kernel(arch, { data, shape }, null, { backend: 'webgpu' });
writeFileSync(`${dir}/done`, '1');
await new Promise((r) => setTimeout(r, 120_000));
