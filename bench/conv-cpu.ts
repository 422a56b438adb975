// CPU float64 throughput of convolutional kernels (issue 12): pairs per second of `cntk` depth 5
// with gap and flatten readouts on 8×8×3 and 28×28×1 images, and the gap/flatten cost ratio
// against P (the number of pixels), which the slab analysis predicts (wave2.md §1.4).
// Run: npx tsx bench/conv-cpu.ts. Writes bench/results/conv-cpu.json. Single-threaded.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { kernelCpu } from '../src/index.js';

let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const images = (n: number, C: number, H: number) => ({ data: Float64Array.from({ length: n * C * H * H }, rand), shape: [n, C, H, H] });

/**
 * Seconds per pair of X1 × X2 (n × n distinct pairs), including the per-input pre-pass (2n inputs).
 * The machine is shared: times vary by about 2× between runs.
 */
function perPair(readout: string, C: number, H: number, n: number): number {
  const a = images(n, C, H);
  const b = images(n, C, H);
  const t0 = performance.now();
  kernelCpu(`cntk:depth=5,readout=${readout}`, a, b, { get: 'ntk' });
  return (performance.now() - t0) / 1000 / (n * n);
}

// Warm-up (JIT): each case once, smaller.
for (const [C, H] of [[3, 8], [1, 28]] as const) {
  perPair('flatten', C, H, 4);
  perPair('gap', C, H, 1);
}

const rows = [];
for (const [C, H, nFlat, nGap] of [
  [3, 8, 24, 6],
  [1, 28, 16, 2],
] as const) {
  const flat = perPair('flatten', C, H, nFlat);
  const gap = perPair('gap', C, H, nGap);
  rows.push({ image: `${H}×${H}×${C}`, pixels: H * H, flattenPairsPerSecond: 1 / flat, gapPairsPerSecond: 1 / gap, gapOverFlatten: gap / flat });
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/conv-cpu.json', import.meta.url), JSON.stringify({ cpu: cpus()[0]?.model, node: process.version, rows }, null, 2) + '\n');
console.log('| cntk depth 5 | P | flatten pairs/s | gap pairs/s | gap/flatten cost |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.image} | ${r.pixels} | ${r.flattenPairsPerSecond.toFixed(0)} | ${r.gapPairsPerSecond.toFixed(2)} | ${r.gapOverFlatten.toFixed(0)} |`);
}
