/**
 * The main job (`npm start`): NNGP and NTK Gram matrices of several paper presets on the embedded
 * Iris data set, a summary of each (spectrum, conditioning, class structure), a Monte Carlo check
 * of a few entries against sampled finite-width networks, and the NTK matrices written as .npy.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { kernel } from '../api.js';
import { encodeNpy, parseNpy } from '../io/npy.js';
import { monteCarlo } from '../mc/montecarlo.js';
import { writeFileAtomic } from './files.js';
import { useNodeWebGPU } from './webgpu.js';
import type { CliIO } from './cli.js';

const PRESET_REFS = [
  'arora2019:depth=3',
  'mlp:depth=8',
  'tirer2021:depth=5,alpha=0.1',
  'resnet:depth=8,gamma=0.5',
  'belfer2021:depth=16,gamma=0.75',
  'densenet:depth=8',
];

function loadIris(): { X: number[][]; y: number[]; duplicates: number } {
  const read = (f: string) => parseNpy(readFileSync(fileURLToPath(new URL(`../../data/${f}`, import.meta.url))), f);
  const xs = read('iris.npy');
  const ys = read('iris-labels.npy');
  const [n, d] = xs.shape as [number, number];
  // Iris repeats a few measurements; a repeated input makes every Gram matrix singular, so the
  // summary keeps the first copy only.
  const X: number[][] = [];
  const y: number[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const row = Array.from(xs.data.subarray(i * d, (i + 1) * d));
    const key = row.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    X.push(row);
    y.push(ys.data[i]!);
  }
  // Standardise each feature (zero mean, unit variance) so that no unit dominates the dot products.
  const m = X.length;
  for (let j = 0; j < d; j++) {
    const mean = X.reduce((s, r) => s + r[j]!, 0) / m;
    const sd = Math.sqrt(X.reduce((s, r) => s + (r[j]! - mean) ** 2, 0) / (m - 1));
    for (const r of X) r[j] = (r[j]! - mean) / sd;
  }
  return { X, y, duplicates: n - m };
}

function summarise(K: Float64Array, n: number, y: number[]) {
  const M = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M.set(i, j, K[i * n + j]!);
  const eig = new EigenvalueDecomposition(M, { assumeSymmetric: true }).realEigenvalues;
  const lmin = Math.min(...eig);
  const lmax = Math.max(...eig);
  // Mean cosine similarity K(x,z)/√(K(x,x)K(z,z)) within and between classes.
  let win = 0, nw = 0, btw = 0, nb = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const c = K[i * n + j]! / Math.sqrt(K[i * n + i]! * K[j * n + j]!);
      if (y[i] === y[j]) { win += c; nw++; } else { btw += c; nb++; }
    }
  }
  let dmin = Infinity, dmax = -Infinity;
  for (let i = 0; i < n; i++) { dmin = Math.min(dmin, K[i * n + i]!); dmax = Math.max(dmax, K[i * n + i]!); }
  return { lmin, lmax, cond: lmax / lmin, within: win / nw, between: btw / nb, dmin, dmax };
}

const fmt = (v: number, digits = 3) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(digits));

export async function runDemo(io: CliIO): Promise<void> {
  const { X, y, duplicates } = loadIris();
  const n = X.length;
  io.out(
    `webntk main job: NNGP and NTK of paper presets on Iris (${n} distinct inputs after dropping ${duplicates} repeated row${duplicates === 1 ? "" : "s"}, ` +
      `${X[0]!.length} standardised features), float64 CPU\n\n`,
  );
  const header = ['preset', 'kernel', 'time s', 'diag min', 'diag max', 'λmin', 'λmax', 'cond', 'cos within', 'cos between'];
  const rows: string[][] = [];
  const outDir = fileURLToPath(new URL('../../out/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  for (const ref of PRESET_REFS) {
    const t0 = performance.now();
    const r = await kernel(ref, X);
    const secs = ((performance.now() - t0) / 1000).toFixed(3);
    for (const k of ['nngp', 'ntk'] as const) {
      const s = summarise(r[k]!, n, y);
      rows.push([ref, k, secs, fmt(s.dmin), fmt(s.dmax), fmt(s.lmin), fmt(s.lmax), s.lmin > 0 ? fmt(s.cond, 1) : 'singular', fmt(s.within), fmt(s.between)]);
    }
    const file = `${outDir}iris-ntk-${ref.split(':')[0]}.npy`;
    writeFileAtomic(file, [encodeNpy(r.ntk!, r.shape, 'float64')]);
  }
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((v, c) => (c < 2 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ') + '\n';
  io.out(line(header));
  for (const r of rows) io.out(line(r));

  // Independent check: sampled finite-width networks against the analytic kernel on 3 inputs.
  const ref = 'tirer2021:depth=5,alpha=0.1';
  const pick = [0, 60, 120].map((i) => X[i]!);
  const width = 256;
  const samples = 48;
  const t0 = performance.now();
  const exact = await kernel(ref, pick);
  const mc = monteCarlo(ref, pick, { width, samples, seed: 7 });
  let worst = 0;
  for (const k of ['nngp', 'ntk'] as const) {
    for (let e = 0; e < 9; e++) worst = Math.max(worst, Math.abs(mc[k].mean[e]! - exact[k]![e]!) / mc[k].stderr[e]!);
  }
  io.out(
    `\nMonte Carlo check (${ref}, inputs 0/60/120, width ${width}, ${samples} networks, ${((performance.now() - t0) / 1000).toFixed(1)} s): ` +
      `largest |analytic − sampled mean| = ${worst.toFixed(2)} standard errors over 18 entries\n`,
  );
  // The same kernels on WebGPU when this machine has an adapter, checked against the CPU.
  useNodeWebGPU();
  for (const gref of ['densenet:depth=8', 'arora2019:depth=1000']) {
    const tc = performance.now();
    const cpu = await kernel(gref, X);
    const tg = performance.now();
    const gpu = await kernel(gref, X, null, { backend: 'auto' });
    const tEnd = performance.now();
    if (gpu.backend !== 'webgpu') {
      io.out(`\nWebGPU: no adapter on this machine (the CPU path ran; see \`webntk info\`)\n`);
      break;
    }
    let err = 0;
    for (const k of ['nngp', 'ntk'] as const) {
      const a = cpu[k]!;
      const b = gpu[k]!;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          err = Math.max(err, Math.abs(a[i * n + j]! - b[i * n + j]!) / Math.sqrt(a[i * n + i]! * a[j * n + j]!));
        }
      }
    }
    io.out(
      `${gref === 'densenet:depth=8' ? `\nWebGPU (${gpu.adapter}):\n` : ''}` +
        `  ${gref}: ${((tEnd - tg) / 1000).toFixed(3)} s (CPU ${((tg - tc) / 1000).toFixed(3)} s), ` +
        `max |K_gpu − K_cpu|/√(K(x,x)K(z,z)) = ${err.toExponential(1)} over NNGP and NTK\n`,
    );
  }
  io.out(`NTK matrices written to ${outDir}iris-ntk-<preset>.npy\n`);
}
