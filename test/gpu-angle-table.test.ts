/**
 * The angle-table form of the WebGPU recursion (src/exec/angle-table.ts, shaders/gram_angle.wgsl):
 * for bias-free networks of degree-1 units every kernel is √(K0(x,x)K0(z,z))·F(θ0), so the device
 * reads F from a table built and checked by the float64 reference instead of running the layers.
 * Checked here against the float64 CPU reference with the accuracy suite's inputs and tolerances
 * (near-duplicates 1e−6 … 1e−3 rad, antipodes, norms over six orders of magnitude, parallel inputs
 * of non-power-of-two norm ratios), on every preset that has a table, at depths 1 … 10 000, in
 * every request shape (X × X, X1 × X2, the diagonal, every depth of a sweep, zero rows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernel, kernelBlocks, kernelCpu, toSpec } from '../src/index.js';
import { buildAngleTable, isAngleProgram, TABLE_TOLERANCE, uOfAngle, type AngleTable } from '../src/exec/angle-table.js';
import { expOf, newState, nngpOf, runPair } from '../src/cpu/interpreter.js';
import { NTK } from '../src/program/program.js';
import { compile } from '../src/program/compile.js';
import { dense, leakyRelu, network, relu, repeat } from '../src/spec/stax.js';
import type { Spec } from '../src/spec/types.js';
import { CUSTOM } from './fixtures.js';
import { ACCURACY_DEPTHS, accuracyPresets, CONSTANT_ALPHA_CASES } from './gpu/accuracy-cases.js';
import { accuracyInputs, normalisedError, parallelInputs, releaseGpuForTests, requireGpu } from './gpu/setup.js';

const X = [...parallelInputs(), ...accuracyInputs()];
const n = X.length;
const hasTable = (spec: string | Spec) => isAngleProgram(compile(toSpec(spec)));

beforeAll(async () => {
  await requireGpu();
});
afterAll(releaseGpuForTests);

describe('which programs have an angle table', () => {
  it('bias-free ReLU and LeakyReLU networks, plain, residual and dense, do; biases and smooth units do not', () => {
    expect(hasTable('arora2019:depth=3')).toBe(true);
    expect(hasTable('hayou2019:depth=3')).toBe(true);
    expect(hasTable('resnet:depth=3,alpha=0.5')).toBe(true);
    expect(hasTable('huang2020:depth=3,gamma=0.5')).toBe(true);
    expect(hasTable('densenet:depth=3')).toBe(true);
    expect(hasTable(network({}, dense(), repeat(3, leakyRelu(0.2), dense({ weightVar: 1.9 }))))).toBe(true);
    expect(hasTable('jacot2018:depth=3')).toBe(false); // a bias
    expect(hasTable('mlp:depth=3,cb2=0.2')).toBe(false);
    expect(hasTable(CUSTOM.erfBias!)).toBe(false);
  });
});

/** The table's value of series j at angle θ, evaluated as the shader does (in float64). */
function tableAt(t: AngleTable, j: number, theta: number): number {
  const x = Math.min(1, Math.max(0, uOfAngle(theta))) * t.segs;
  const s = Math.min(Math.floor(x), t.segs - 1);
  const u = (theta - t.bounds[2 * s]!) * t.bounds[2 * s + 1]!;
  const o = (j * t.segs + s) * 4;
  return (t.coefs[o]! + u * (t.coefs[o + 1]! + u * (t.coefs[o + 2]! + u * t.coefs[o + 3]!))) * 2 ** t.exps[j]!;
}

/** The largest error of a table at 400 pseudo-random angles against the interpreter, relative to max |F|. */
function tableError(spec: string, t: AngleTable, lastOnly: boolean): number {
  const p = compile(toSpec(spec));
  const { state, work } = newState(p);
  let seed = 7;
  const errs: number[][] = Array.from({ length: 2 * t.taps }, () => []);
  const refs: number[][] = Array.from({ length: 2 * t.taps }, () => []);
  for (let k = 0; k < 400; k++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    // Angles over six decades near 0 and uniform over [0, π].
    const theta = k % 2 ? Math.PI * (seed / 2 ** 32) : 10 ** (-6 + 6 * (seed / 2 ** 32));
    const put = (tap: number, kk: number, th: number, e: number) => {
      for (const [kernel, v] of [kk, th].entries()) {
        const j = 2 * tap + kernel;
        refs[j]!.push(Math.abs(v * 2 ** e));
        errs[j]!.push(Math.abs(tableAt(t, j, theta) - v * 2 ** e));
      }
    };
    const init = { kxx: 1, kzz: 1, g: 2 * Math.sin(theta / 2) ** 2, h: 2 * Math.cos(theta / 2) ** 2 };
    if (lastOnly) {
      runPair(p, state, work, init);
      put(0, nngpOf(work), work[NTK]!, expOf(work));
    } else runPair(p, state, work, init, put);
  }
  return Math.max(...errs.map((e, j) => Math.max(...e) / Math.max(...refs[j]!)));
}

describe('the table against the float64 reference at angles it was not built or checked at', () => {
  for (const [spec, lastOnly] of [
    ['arora2019:depth=20', true],
    ['arora2019:depth=1000', true],
    ['resnet:depth=50,alpha=0.8', false],
    ['densenet:depth=10', false],
  ] as const) {
    it(`${spec}${lastOnly ? '' : ', every depth'}: within ${TABLE_TOLERANCE}; one coefficient off by 1e−6 is caught`, () => {
      const t = buildAngleTable(compile(toSpec(spec)), lastOnly)!;
      expect(t).not.toBeNull();
      expect(t.taps).toBe(lastOnly ? 1 : compile(toSpec(spec)).depths.length);
      expect(t.worst).toBeLessThanOrEqual(TABLE_TOLERANCE);
      expect(tableError(spec, t, lastOnly)).toBeLessThanOrEqual(TABLE_TOLERANCE);
      // Mutation: the constant term of the NTK's segment holding θ = 0.5 rad.
      const seg = Math.floor(uOfAngle(0.5) * t.segs);
      const j = 2 * (t.taps - 1) + 1;
      const bad = { ...t, coefs: t.coefs.slice() };
      bad.coefs[(j * t.segs + seg) * 4]! *= 1 + 1e-6;
      expect(tableError(spec, bad, lastOnly)).toBeGreaterThan(TABLE_TOLERANCE);
    });
  }
});

/** WebGPU from the table (checked to have run) against the CPU on X, within 1e−6 normalised. */
async function expectFromTable(spec: string | Spec): Promise<void> {
  const cpu = kernelCpu(spec, X);
  const phases: Record<string, number> = {};
  const gpu = await kernel(spec, X, null, { backend: 'webgpu', angleTable: true, phases });
  expect(phases.angleTableSegments, 'from the table').toBeGreaterThan(0);
  expect(normalisedError(cpu.nngp!, gpu.nngp!, n), 'NNGP').toBeLessThanOrEqual(1e-6);
  expect(normalisedError(cpu.ntk!, gpu.ntk!, n), 'NTK').toBeLessThanOrEqual(1e-6);
}

describe('WebGPU from the angle table agrees with the float64 reference on every preset that has one', () => {
  // Depth 10 000 for one preset: its tables cost seconds each to build and check.
  for (const L of ACCURACY_DEPTHS) {
    for (const ref of accuracyPresets(L).filter((r) => hasTable(r) && (L <= 1000 || r.startsWith('arora2019')))) {
      // 1e−6: ten times inside the suite's target (the table's own error is 1e−7 of max |F|, the
      // rest the float32 angle); the layer recursion measures 1e−7 … 8e−7 on these inputs.
      it(`${ref} (≤ 1e-6)`, () => expectFromTable(ref));
    }
  }
  for (const { name, spec } of CONSTANT_ALPHA_CASES.filter((c) => hasTable(c.spec))) {
    it(`${name} (≤ 1e-6)`, () => expectFromTable(spec));
  }
});

describe('kernels beyond the float64 range at unit inputs', () => {
  // σ_w² = 1 with ReLU halves the variance at every layer: ~2^−1100 at unit inputs, below the
  // smallest float64. The table keeps each series' power of two apart (a table of float64 values
  // was all zeros, passed its check, and gave zeros); normalised, the kernel is of order 1.
  it('a ReLU net with σ_w² = 1 at depth 1100, normalised to the diagonal (≤ 1e-6)', async () => {
    const spec = { ...network({}, dense({ weightVar: 1 }), repeat(1100, relu(), dense({ weightVar: 1 }))), normalize: 'diagonal' as const };
    const t = buildAngleTable(compile(toSpec(spec)), true)!;
    expect(t).not.toBeNull();
    expect(t.exps[0]).toBeLessThan(-1000);
    await expectFromTable(spec);
    const gpu = await kernel(spec, X, null, { backend: 'webgpu', angleTable: true });
    expect(Math.max(...gpu.ntk!)).toBeGreaterThan(0.5);
  });
});

describe('every request shape from the table', () => {
  const ref = 'resnet:depth=30,alpha=0.7';
  const X1 = X.slice(0, 20);
  const X2 = X.slice(12);
  const close = (a: Float64Array, b: Float64Array, scale: number) => {
    let worst = 0;
    for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k]! - b[k]!) / scale);
    return worst;
  };
  it('X1 × X2 (≤ 1e-6)', async () => {
    const cpu = kernelCpu(ref, X1, X2);
    const gpu = await kernel(ref, X1, X2, { backend: 'webgpu', angleTable: true });
    const dx = kernelCpu(ref, X1, null, { diagonal: true });
    const dz = kernelCpu(ref, X2, null, { diagonal: true });
    for (const kind of ['nngp', 'ntk'] as const) {
      let worst = 0;
      for (let i = 0; i < X1.length; i++) {
        for (let j = 0; j < X2.length; j++) {
          const s = Math.sqrt(dx[kind]![i]! * dz[kind]![j]!);
          worst = Math.max(worst, Math.abs(gpu[kind]![i * X2.length + j]! - cpu[kind]![i * X2.length + j]!) / s);
        }
      }
      expect(worst, kind).toBeLessThanOrEqual(1e-6);
    }
  });
  it('the diagonal (relative ≤ 1e-6)', async () => {
    const cpu = kernelCpu(ref, X, null, { diagonal: true });
    const gpu = await kernel(ref, X, null, { backend: 'webgpu', diagonal: true, angleTable: true });
    for (const kind of ['nngp', 'ntk'] as const) {
      for (let i = 0; i < n; i++) expect(Math.abs(gpu[kind]![i]! / cpu[kind]![i]! - 1), `${kind} ${i}`).toBeLessThanOrEqual(1e-6);
    }
  });
  it('every depth of the sweep, in several depth chunks (≤ 1e-6 at each)', async () => {
    const cpu = kernelCpu(ref, X, null, { depths: 'all' });
    // A small output buffer budget would split the taps; maxPairOpsPerSubmit splits the chunks.
    const gpu = await kernel(ref, X, null, { backend: 'webgpu', depths: 'all', angleTable: true, maxPairOpsPerSubmit: n * n * 4 });
    const T = cpu.depths.length;
    expect(gpu.depths).toEqual(cpu.depths);
    const plane = n * n;
    for (let t = 0; t < T; t++) {
      const sl = (a: Float64Array) => a.subarray(t * plane, (t + 1) * plane);
      expect(normalisedError(sl(cpu.nngp!), sl(gpu.nngp!), n), `NNGP tap ${t}`).toBeLessThanOrEqual(1e-6);
      expect(normalisedError(sl(cpu.ntk!), sl(gpu.ntk!), n), `NTK tap ${t}`).toBeLessThanOrEqual(1e-6);
    }
  });
  it('zero rows give exact zeros, and the other entries stay right', async () => {
    const Z = [X[3]!.map(() => 0), ...X.slice(0, 10), X[3]!.map(() => 0)];
    const cpu = kernelCpu(ref, Z);
    const gpu = await kernel(ref, Z, null, { backend: 'webgpu', angleTable: true });
    const m = Z.length;
    for (const kind of ['nngp', 'ntk'] as const) {
      for (let j = 0; j < m; j++) {
        expect(gpu[kind]![j]).toBe(0);
        expect(gpu[kind]![(m - 1) * m + j]).toBe(0);
      }
      expect(close(cpu[kind]!, gpu[kind]!, Math.max(...cpu[kind]!))).toBeLessThanOrEqual(1e-6);
    }
  });
  it('norms 45 orders of magnitude apart: each pair scaled by its own power of two (≤ 1e-6); the layer recursion refuses them', async () => {
    // Squared norms 2^±150 apart: on one exponent the smaller would underflow float32.
    const W = [[1, 0, 0], [1e25, 5e24, 0], [3e-20, -1e-20, 2e-20], [0.6, 0.8, 0], [-2e22, 1e22, 4e21]];
    const cpu = kernelCpu(ref, W);
    const gpu = await kernel(ref, W, null, { backend: 'webgpu', angleTable: true });
    for (const kind of ['nngp', 'ntk'] as const) {
      expect(normalisedError(cpu[kind]!, gpu[kind]!, W.length), kind).toBeLessThanOrEqual(1e-6);
      expect(gpu[kind]![1], `${kind} of 1e25 and 1`).not.toBe(0);
    }
    // The layer recursion holds a pair on one float32 exponent: it refuses such inputs (it gave
    // zeros), and takes a span of 2^120 (norms 1e18 apart) at the suite's accuracy.
    await expect(kernel(ref, W, null, { backend: 'webgpu', angleTable: false })).rejects.toThrow(
      /^the inputs' squared norms span 2\^\d+, more than the 2\^120 that the WebGPU layer recursion holds in float32/,
    );
    const V = [[1, 0, 0], [1e18, 5e17, 0], [0.6, 0.8, 0.1], [-1e18, 3e17, 2e17]];
    const gv = await kernel('jacot2018:depth=5', V, null, { backend: 'webgpu' });
    expect(normalisedError(kernelCpu('jacot2018:depth=5', V).ntk!, gv.ntk!, V.length)).toBeLessThanOrEqual(1e-6);
    // Only the pairs computed count: the diagonal pairs each row with itself, and X1 × X2 a row of
    // X1 with a row of X2 (here X1 spans 2^133 and no cross pair more than 2^120).
    const dw = await kernel('jacot2018:depth=5', W, null, { backend: 'webgpu', diagonal: true });
    const dc = kernelCpu('jacot2018:depth=5', W, null, { diagonal: true });
    for (let i = 0; i < W.length; i++) expect(Math.abs(dw.ntk![i]! / dc.ntk![i]! - 1), `diagonal ${i}`).toBeLessThanOrEqual(1e-6);
    const X1 = [[1e10, 0, 0], [0, 2e-10, 1e-10]];
    const X2 = [[1, 2, 3], [0.5, -0.2, 0.1]];
    const gx = await kernel('jacot2018:depth=5', X1, X2, { backend: 'webgpu' });
    const cx = kernelCpu('jacot2018:depth=5', X1, X2);
    for (let k = 0; k < 4; k++) expect(Math.abs(gx.ntk![k]! / cx.ntk![k]! - 1), `X1 × X2 ${k}`).toBeLessThanOrEqual(1e-5);
  });
  it('unset, the table is used from 2^17 pairs on and the recursion below', async () => {
    const big = Array.from({ length: 520 }, (_, i) => X[i % n]!.map((v, k) => v + 1e-3 * Math.sin(i * 7 + k)));
    const phases: Record<string, number> = {};
    const a = await kernel('arora2019:depth=20', big, null, { backend: 'webgpu', phases });
    expect(phases.angleTableSegments).toBeGreaterThan(0);
    const small: Record<string, number> = {};
    await kernel('arora2019:depth=20', X, null, { backend: 'webgpu', phases: small });
    expect(small.angleTableSegments ?? 0).toBe(0);
    const b = await kernel('arora2019:depth=20', big, null, { backend: 'webgpu', angleTable: false });
    expect(normalisedError(b.ntk!, a.ntk!, big.length)).toBeLessThanOrEqual(1e-6);
    expect(normalisedError(b.nngp!, a.nngp!, big.length)).toBeLessThanOrEqual(1e-6);
  });
  it('streamed blocks from the table tile the same matrix', async () => {
    const whole = await kernel(ref, X, null, { backend: 'webgpu', angleTable: true });
    const got = new Float64Array(n * n);
    for await (const b of kernelBlocks(ref, X, null, { backend: 'webgpu', angleTable: true, blockRows: 64, get: 'ntk' })) {
      for (let i = 0; i < b.rows; i++) for (let j = 0; j < b.cols; j++) got[(b.row0 + i) * n + b.col0 + j] = b.ntk![i * b.cols + j]!;
    }
    expect(got).toEqual(whole.ntk);
  });
});
