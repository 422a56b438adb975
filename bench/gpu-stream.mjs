// Streamed WebGPU Gram matrix into host memory as float32, with a phase breakdown: the case of
// issue 14's real-GPU goal (FC NTK, N = 50 000, d = 3072, depth 10 in ≤ 3 s end to end to host
// memory in f32). kernelBlocks() yields float64 blocks; each is copied into two Float32Array(N²)
// (NNGP and NTK), as a user collecting the result in f32 would.
//
//   node bench/gpu-stream.mjs [--case arora2019,50000,3072,10] [--reps 1] [--out FILE]
//
// Phases (seconds, wall clock): adapter+device, pipeline compilation (a 64-row warm-up), upload
// and time to the first block, the whole stream (GPU compute + readback + decode, overlapped as the
// library does it), and the f32 copy (measured separately: the summed time spent copying blocks).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { describeAdapter, kernelBlocks } from '../dist/index.js';
import { inputs } from './inputs.mjs';
import { dawnGpu, releaseDawn } from './dawn.mjs';

const argv = process.argv.slice(2);
const value = (name, dflt) => {
  const i = argv.lastIndexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const [preset, nS, dS, depthS] = value('--case', 'arora2019,50000,3072,10').split(',');
const N = Number(nS);
const D = Number(dS);
const depth = Number(depthS);
const REPS = Math.max(1, Number(value('--reps', 1)));
const OUT = resolve(value('--out', 'bench/results/gpu-stream.json'));
const now = () => performance.now() / 1000;


const t0 = now();
const ctx = await dawnGpu();
if (!ctx) {
  console.error('no WebGPU adapter');
  process.exit(1);
}
const tDevice = now() - t0;
const arch = `${preset}:depth=${depth}`;
const x = inputs(N, D);
const small = { data: x.data.subarray(0, 64 * D), rows: 64, cols: D };
let t = now();
for await (const _ of kernelBlocks(arch, small, null, { backend: 'webgpu' })); // compiles the pipelines
const tCompile = now() - t;

const result = {
  benchmark: 'gpu-stream',
  date: new Date().toISOString(),
  adapter: describeAdapter(ctx.adapter),
  adapterInfo: ctx.adapter,
  runtime: ctx.runtime,
  limits: ctx.limits,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
  case: { arch, n: N, d: D, depth },
  output: 'NNGP and NTK, N × N each, float32 in host memory (Float32Array per kernel)',
  phases: { adapterAndDevice: tDevice, pipelineCompilation64Rows: tCompile },
  runs: [],
};
const save = () => {
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
};
save();

for (let r = 0; r < REPS; r++) {
  const K = new Float32Array(N * N);
  const T = new Float32Array(N * N);
  K.fill(0); // touch the pages before the clock starts
  T.fill(0);
  const start = now();
  let first = null;
  let copy = 0;
  let blocks = 0;
  let blockRows = 0;
  for await (const b of kernelBlocks(arch, x, null, { backend: 'webgpu' })) {
    if (first === null) first = now() - start;
    blocks++;
    blockRows = Math.max(blockRows, b.rows);
    const c = now();
    for (let i = 0; i < b.rows; i++) {
      const dst = (b.row0 + i) * N + b.col0;
      K.set(b.nngp.subarray(i * b.cols, (i + 1) * b.cols), dst);
      T.set(b.ntk.subarray(i * b.cols, (i + 1) * b.cols), dst);
    }
    copy += now() - c;
  }
  const total = now() - start;
  const checksum = Array.from({ length: 8 }, (_, i) => T[i * N + i]);
  result.runs.push({ seconds: total, firstBlockSeconds: first, f32CopySeconds: copy, streamWithoutCopySeconds: total - copy, blocks, blockRows, ntkDiagonal: checksum });
  console.error(`run ${r}: ${total.toFixed(2)} s (first block ${first?.toFixed(2)} s, f32 copy ${copy.toFixed(2)} s, ${blocks} blocks of ${blockRows} rows)`);
  save();
}
result.totalSeconds = now() - t0;
save();
await releaseDawn();
console.log(JSON.stringify({ case: result.case, runs: result.runs.map((r) => r.seconds) }));
