// The two first-layer kernels (shaders/gram_chord.wgsl, tiled through workgroup memory for GPUs, and
// shaders/gram_chord_direct.wgsl, register-blocked for CPU adapters) on this adapter, timed in
// interleaved rounds on one device so that drift hits both alike, with the adapter's FMA peak
// measured before and after; the library picks one by adapter (firstLayerShader). Their gaps are
// compared (inputs: uniform rows plus near-duplicate pairs). Writes bench/results/chord-variants.json
// and prints a Markdown table.
//
//   npm run --silent build && node bench/chord-variants.mjs [--n 2048] [--d 784] [--rounds 3]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { describeAdapter } from '../dist/index.js';
import { dawnGpu, releaseDawn, timestampDevice } from './dawn.mjs';
import { measurePeakFma, timeChordGemm } from '../dist/gpu/bench.js';
import { firstLayerSource } from '../dist/gpu/first-layer.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const n = arg('--n', 2048);
const d = arg('--d', 784);
const rounds = arg('--rounds', 3);

const ctx = await dawnGpu();
if (!ctx) {
  console.error('no WebGPU adapter');
  process.exit(1);
}
const tsDev = await timestampDevice(ctx);
const dev = tsDev ?? ctx;

let seed = 12345;
const data = new Float64Array(n * d);
for (let i = 0; i < data.length; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  data[i] = (seed / 2 ** 32) * 2 - 1;
}
// Every 16th row is its predecessor perturbed by ~1e−3 (relative): near-duplicate pairs, where
// the gap needs the chord's precision, exist in the comparison.
for (let i = 15; i < n; i += 16) {
  for (let k = 0; k < d; k++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i * d + k] = data[(i - 1) * d + k] * (1 + 1e-3 * ((seed / 2 ** 32) * 2 - 1));
  }
}
const x = { data, rows: n, cols: d };
const variants = [
  { name: 'shipped gram_chord.wgsl (tiled, GPUs)', code: firstLayerSource('tiled') },
  { name: 'shipped gram_chord_direct.wgsl (CPU adapters)', code: firstLayerSource('direct') },
  ...(ctx.subgroupSize ? [{ name: `shipped gram_chord_subgroup.wgsl (llvmpipe, ${ctx.subgroupSize} lanes)`, code: firstLayerSource('subgroup', ctx.subgroupSize) }] : []),
];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const blockRows = Math.ceil(n / 64) * 64; // one block, so that the gap read back is the whole triangle
const peaks = [(await measurePeakFma(dev, { targetSeconds: 0.2 })).gflops];
const secs = variants.map(() => []);
let method = '';
const gaps = [];
for (let r = 0; r < rounds; r++) {
  for (let v = 0; v < variants.length; v++) {
    const g = await timeChordGemm(dev, x, { code: variants[v].code, blockRows, reps: 1, warmup: r === 0 ? 1 : 0, readGap: r === 0 });
    secs[v].push(g.seconds);
    method = g.method;
    if (r === 0) gaps[v] = g.gap;
  }
}
peaks.push((await measurePeakFma(dev, { targetSeconds: 0.2 })).gflops);
const peak = Math.max(...peaks);

// Signed gaps (kernel_ops.wgsl): q = 1 − ρ ≥ 0 when ρ ≥ 0, q = −(1 + ρ) − 1e−30 when ρ < 0.
const rhoOf = (q) => (q >= 0 ? 1 - q : -q - 1e-30 - 1);
function compare(a, b) {
  let abs = 0;
  let rel = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const qa = a[i * n + j];
      const qb = b[i * n + j];
      abs = Math.max(abs, Math.abs(rhoOf(qa) - rhoOf(qb)));
      // The gap to the nearer of ρ = ±1, relative, where both kernels are on the same side.
      if ((qa >= 0) === (qb >= 0) && qb !== 0) rel = Math.max(rel, Math.abs(qa - qb) / Math.abs(qb));
    }
  }
  return { maxAbsDiffRho: abs, maxRelDiffGap: rel };
}

const useful = 2 * n * n * d;
const results = variants.map((v, k) => {
  const s = median(secs[k]);
  return {
    variant: v.name,
    seconds: s,
    runs: secs[k],
    usefulGflops: useful / s / 1e9,
    fractionOfPeak: useful / s / 1e9 / peak,
    speedupVsShipped: median(secs[0]) / s,
    gapVsShipped: k === 0 ? null : compare(gaps[k], gaps[0]),
  };
});
const out = {
  benchmark: 'chord-variants',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  adapter: describeAdapter(ctx.adapter),
  n,
  d,
  rounds,
  timing: method,
  peakGflops: peaks,
  note: 'useful flops 2·n²·d over the whole square; both kernels compute the upper triangle only',
  results,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/chord-variants.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
await releaseDawn(tsDev);

console.log(`${out.adapter}; N = ${n}, d = ${d}; ${method}; FMA peak ${peaks.map((p) => p.toFixed(1)).join(' / ')} GFLOP/s (before / after)\n`);
console.log('| kernel | seconds | GFLOP/s (2·N²·d) | % of FMA peak | speedup | max abs Δρ vs the first | max rel Δgap |\n|---|---|---|---|---|---|---|');
for (const r of results) {
  const g = r.gapVsShipped;
  console.log(
    `| ${r.variant} | ${r.seconds.toFixed(3)} | ${r.usefulGflops.toFixed(1)} | ${(100 * r.fractionOfPeak).toFixed(1)}% | ${r.speedupVsShipped.toFixed(2)}× | ${g ? g.maxAbsDiffRho.toExponential(1) : '—'} | ${g ? g.maxRelDiffGap.toExponential(1) : '—'} |`,
  );
}
