// CPU float64 throughput of convolutional kernels (issue 12): pairs per second of `cntk` depth 5
// with gap and flatten readouts on 8×8×3 and 28×28×1 images, and the gap/flatten cost ratio
// against P (the number of pixels), which the slab analysis predicts (wave2.md §1.4: gap holds all
// P² pixel pairs, flatten the P of slab 0, each with the same q^D stencil per entry).
// Two phases are timed apart: the per-input pre-pass (per-layer diagonals, and for gap R(K(x, x)),
// which needs one full pair run per input) and the pair runs. A Gram of n1 × n2 pays
// (n1 + n2) pre-passes and n1·n2 pair runs, so the pre-pass is amortised as n grows.
// Run: npx tsx bench/conv-cpu.ts (npm run bench:conv). Writes bench/results/conv-cpu.json.
// Single-threaded; the machine may be shared, so compare the ratios of one run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { kernelCpu } from '../src/index.js';
import { toImages } from '../src/images.js';
import { compileSpatial } from '../src/program/spatial.js';
import { prepareSide } from '../src/cpu/spatial.js';
import { toSpec } from '../src/api.js';

let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const images = (n: number, C: number, H: number) => ({ data: Float64Array.from({ length: n * C * H * H }, rand), shape: [n, C, H, H] });

interface Phase {
  prepassSeconds: number;
  pairSeconds: number;
  gramPairsPerSecond: number;
}

/** Times the pre-pass per input and the pair runs of an n1 × n2 Gram (X1 ≠ X2). */
function measure(readout: string, C: number, H: number, n1: number, n2: number): Phase {
  const arch = `cntk:depth=5,readout=${readout}`;
  const a = images(n1, C, H);
  const b = images(n2, C, H);
  const p = compileSpatial(toSpec(arch));
  const imgs = toImages(a);
  let t0 = performance.now();
  for (let i = 0; i < n1; i++) prepareSide(p, imgs, i, false);
  const prepassSeconds = (performance.now() - t0) / 1000 / n1;
  t0 = performance.now();
  kernelCpu(arch, a, b, { get: 'ntk' });
  const total = (performance.now() - t0) / 1000;
  return {
    prepassSeconds,
    pairSeconds: Math.max(total - (n1 + n2) * prepassSeconds, 0) / (n1 * n2),
    gramPairsPerSecond: (n1 * n2) / total,
  };
}

// Warm-up (JIT): each case once, smaller.
for (const [C, H] of [[3, 8], [1, 28]] as const) {
  measure('flatten', C, H, 2, 2);
  measure('gap', C, H, 1, 1);
}

const rows = [];
for (const [C, H, nFlat, nGap] of [
  [3, 8, 24, 6],
  [1, 28, 16, 3],
] as const) {
  const flat = measure('flatten', C, H, nFlat, nFlat);
  const gap = measure('gap', C, H, nGap, nGap);
  rows.push({
    image: `${H}×${H}×${C}`,
    pixels: H * H,
    flatten: { n: nFlat, ...flat },
    gap: { n: nGap, ...gap },
    flattenPairsPerSecond: 1 / flat.pairSeconds,
    gapPairsPerSecond: 1 / gap.pairSeconds,
    gapOverFlattenPairCost: gap.pairSeconds / flat.pairSeconds,
    predictedRatio: H * H,
  });
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const out = { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, date: new Date().toISOString(), rows };
writeFileSync(new URL('./results/conv-cpu.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
console.log('| cntk depth 5, NTK | P | flatten pairs/s | gap pairs/s | gap/flatten per pair (predicted P) | pre-pass per input: flatten, gap | n×n Gram pairs/s incl. pre-pass: flatten, gap |');
console.log('|---|---|---|---|---|---|---|');
const ms = (s: number) => (s < 1e-3 ? `${(s * 1e6).toFixed(0)} µs` : s < 1 ? `${(s * 1e3).toFixed(1)} ms` : `${s.toFixed(2)} s`);
for (const r of rows) {
  console.log(
    `| ${r.image} | ${r.pixels} | ${r.flattenPairsPerSecond.toFixed(0)} | ${r.gapPairsPerSecond.toFixed(2)} | ${r.gapOverFlattenPairCost.toFixed(0)} (${r.predictedRatio}) | ` +
      `${ms(r.flatten.prepassSeconds)}, ${ms(r.gap.prepassSeconds)} | ${r.flatten.gramPairsPerSecond.toFixed(0)} (n=${r.flatten.n}), ${r.gap.gramPairsPerSecond.toFixed(2)} (n=${r.gap.n}) |`,
  );
}
