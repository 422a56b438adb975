// CPU (float64 reference) Gram-matrix throughput. Writes bench/results/cpu-gram.json and prints a
// Markdown table. Run with `npm run bench` (builds first). Single-threaded; times are this machine's.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { kernelCpu, toSpec } from '../dist/index.js';
import { compile } from '../dist/program/compile.js';
import { opsPerPair as programOpsPerPair } from '../dist/program/program.js';

const n = Number(process.env.BENCH_N ?? 256);
const d = 32;
// Deterministic inputs (a simple LCG) so runs are comparable.
let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const X = Array.from({ length: n }, () => Array.from({ length: d }, rand));

const CASES = [
  'arora2019:depth=10',
  'arora2019:depth=100',
  'resnet:depth=100,gamma=0.5',
  'belfer2021:depth=100,gamma=0.75',
  'densenet:depth=20',
  'densenet:depth=100',
];

function opsPerPair(ref) {
  return programOpsPerPair(compile(toSpec(ref))); // the program's ops: internal, from dist/program
}

const results = [];
for (const ref of CASES) {
  kernelCpu(ref, X.slice(0, 8)); // warm up the JIT
  const reps = 3;
  const times = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    kernelCpu(ref, X);
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  const secs = times[Math.floor(reps / 2)];
  const pairs = (n * (n + 1)) / 2;
  const ops = opsPerPair(ref);
  results.push({ case: ref, n, d, pairs, opsPerPair: ops, seconds: secs, pairOpsPerSecond: (pairs * ops) / secs });
}

const out = {
  benchmark: 'cpu-gram',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  note: 'float64 CPU reference, one thread, X × X (upper triangle), both kernels; median of 3 runs',
  results,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/cpu-gram.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
console.log(`| case | n | ops/pair | time (s) | pair-ops/s |\n|---|---|---|---|---|`);
for (const r of results) {
  console.log(`| \`${r.case}\` | ${r.n} | ${r.opsPerPair} | ${r.seconds.toFixed(3)} | ${(r.pairOpsPerSecond / 1e6).toFixed(1)} M |`);
}
