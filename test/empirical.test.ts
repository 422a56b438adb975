/**
 * The empirical NNGP/NTK of one sampled finite network (src/empirical.ts):
 * (a) it is the Monte Carlo oracle's per-network value (same seed, same width) to 1e−12;
 * (b) it is JJᵀ of an explicit Jacobian by central differences on tiny networks (1e−6);
 * (c) its mean over seeds is the analytic kernel (kernelCpu) within 4 standard errors (MLP, ResNet, DenseNet);
 * (d) its spread over seeds falls like width^−½;
 * (e) the CLI writes what the API returns and refuses bad input with exit 2, one line, no file.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { empiricalKernel, kernelCpu, monteCarlo, resolveSpec, type Spec } from '../src/index.js';
import { checkHostWeights, MAX_NETWORK_PARAMETERS, parameterCount, sampleNetwork } from '../src/empirical.js';
import { SampledNetwork, type DenseParams } from '../src/mc/batched.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { runCli } from './cli-run.js';
import { monteCarloConv } from '../src/mc/conv.js';
import { parsePresetRef } from '../src/spec/presets.js';
import { convImages } from './gpu/inputs.js';

const X = [
  [1, 0, 0],
  [0.9, 1.2, 0],
  [-0.35, 0.21, 0.56],
  [0.3, -0.5, 0.2],
];
const X2 = [
  [0.2, 0.4, -1.1],
  [-0.7, 0.1, 0.3],
];

/** Largest |a − b| relative to the kernel's scale √(K(x,x)K(z,z)) (from b) over the m × m entries. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, m: number): number {
  let e = 0;
  let largest = 0;
  for (let i = 0; i < m; i++) largest = Math.max(largest, Math.abs(b[i * m + i]!));
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      // An input whose ReLU features all vanish has K(x, x) = 0: then the largest diagonal is the scale.
      const scale = Math.sqrt(Math.abs(b[i * m + i]! * b[j * m + j]!)) || largest;
      e = Math.max(e, Math.abs(a[i * m + j]! - b[i * m + j]!) / scale);
    }
  }
  return e;
}

describe('(a) the Monte Carlo oracle’s per-network values', () => {
  const archs = [
    'arora2019:depth=3',
    'jacot2018:depth=2,beta=0.5',
    'hayou2019:depth=3,sigmaW2=1.5,sigmaB2=0.3',
    'huang2020:depth=3,gamma=0.5',
    'tirer2021:depth=3,alpha=0.8',
    'resnet:depth=3,alpha=0.8,cw2=1.5,trainStem=false',
    'densenet:depth=3',
    'mlp:depth=2,cb2=0.2,inputScale=none',
  ];
  for (const arch of archs) {
    it(arch, () => {
      for (const [width, seed] of [
        [8, 3],
        [24, 11],
      ] as const) {
        const e = empiricalKernel(arch, X, null, { width, seed });
        const mc = monteCarlo(arch, X, { width, samples: 2, seed, keepSamples: true });
        const m = X.length;
        expect(relErr(e.nngp!, mc.perSample!.nngp.subarray(0, m * m), m)).toBeLessThan(1e-12);
        expect(relErr(e.ntk!, mc.perSample!.ntk.subarray(0, m * m), m)).toBeLessThan(1e-12);
        expect(e.shape).toEqual([m, m]);
        expect(e.symmetric).toBe(true);
        expect({ width: e.width, seed: e.seed, backend: e.backend }).toEqual({ width, seed, backend: 'cpu' });
        // X1 × X2 is the off-diagonal block of the oracle's network on [X1; X2].
        const c = empiricalKernel(arch, X, X2, { width, seed });
        const all = monteCarlo(arch, [...X, ...X2], { width, samples: 2, seed, keepSamples: true }).perSample!;
        const M = X.length + X2.length;
        expect(c.shape).toEqual([X.length, X2.length]);
        for (const k of ['nngp', 'ntk'] as const) {
          for (let i = 0; i < X.length; i++) {
            for (let j = 0; j < X2.length; j++) {
              const want = all[k][i * M + X.length + j]!;
              const scale = Math.sqrt(all[k][i * M + i]! * all[k][(X.length + j) * M + X.length + j]!);
              expect(Math.abs(c[k]![i * X2.length + j]! - want) / scale).toBeLessThan(1e-12);
            }
          }
        }
      }
    });
  }

  it('get, the result’s labels, and the refusals', () => {
    const r = empiricalKernel('arora2019:depth=2', X, null, { width: 8, seed: 1, get: 'nngp' });
    expect(r.nngp).toBeDefined();
    expect(r.ntk).toBeUndefined();
    expect(r.computed).toBe('arora2019:depth=2');
    expect(r.depths).toEqual([kernelCpu('arora2019:depth=2', X).depths.at(-1)]);
    expect(() => empiricalKernel('arora2019:depth=2', X, null, { width: 8, backend: 'tpu' as 'cpu' })).toThrow(/unknown backend "tpu" for empirical kernels \(available: cpu, webgpu\)/);
    expect(() => empiricalKernel('arora2019:depth=2', X, null, { width: 0 })).toThrow(/width must be an integer ≥ 1/);
    expect(() => empiricalKernel('arora2019:depth=2', X, null, { width: 8, seed: -1 })).toThrow(/seed must be a whole number/);
    expect(() => empiricalKernel('arora2019:depth=2', X, [[1, 2]], { width: 8 })).toThrow(/features/);
    expect(() => empiricalKernel('cntk:depth=2', X, null, { width: 8 })).toThrow(/a conv spec needs images/);
    // The exact count, 3·10⁶ + 2·10¹² + 10⁶ weights: far above the host's 2³⁰ float64 weights, refused before any is drawn.
    expect(() => empiricalKernel('mlp:depth=2', X, null, { width: 1e6 })).toThrow(new RegExp(`^width 1000000: the sampled network holds ${parameterCount(resolveSpec(parsePresetRef('mlp:depth=2')), 3, 1e6)} weights, \\d+ bytes \\([\\d.]+ GiB\\) of float64 on the host, above the limit of ${2 ** 30} weights \\(8\\.0 GiB\\)`));
  });
});

describe('(b) against the explicit Jacobian by central differences', () => {
  const tanhMlp: Spec = {
    layers: [
      { type: 'dense', weightVar: 1.5, biasVar: 0.1 },
      { type: 'tanh' },
      { type: 'dense', weightVar: 1.2, biasVar: 0.2 },
      { type: 'tanh' },
      { type: 'dense', biasVar: 0.05 },
    ],
  };
  const resnet: Spec = {
    inputScale: 'dim',
    layers: [
      { type: 'dense', biasVar: 0.1 },
      { type: 'repeat', count: 2, layers: [{ type: 'residual', alpha: 0.7, beta: 0.9, branch: [{ type: 'gelu' }, { type: 'dense', biasVar: 0.1 }, { type: 'tanh' }, { type: 'dense', weightVar: 2 }] }] },
      { type: 'tanh' },
      { type: 'dense', biasVar: 0.3 },
    ],
  };
  const densenet: Spec = {
    layers: [{ type: 'dense', trainable: false }, { type: 'denseBlock', depth: 2, concat: 'mean', activation: { type: 'tanh' }, biasVar: 0.1 }, { type: 'erf' }, { type: 'dense' }],
  };
  // ReLU: the differences straddle no kink at these inputs (f is piecewise linear in each weight).
  const relu: Spec = { layers: [{ type: 'dense', biasVar: 0.2 }, { type: 'relu' }, { type: 'dense' }, { type: 'relu' }, { type: 'dense', weightVar: 2, trainable: true }] };

  const cases: [string, Spec, number][] = [
    ['tanh MLP with biases', tanhMlp, 4],
    ['ResNet (gelu/tanh branches, β ≠ 1)', resnet, 3],
    ['DenseNet block after a frozen stem', densenet, 3],
    ['ReLU MLP', relu, 4],
  ];
  for (const [name, spec, width] of cases) {
    it(`${name}, width ${width}`, () => {
      const rs = resolveSpec(spec);
      const seed = 5;
      const net = sampleNetwork(rs, 3, width, seed);
      const Xm = { rows: X.length, cols: 3, data: Float64Array.from(X.flat()) };
      const f = () => net.run(Xm).out.data;
      // J: one column per trainable parameter entry (weights and biases), by central differences.
      const h = 1e-5;
      const cols: { col: Float64Array; output: boolean }[] = [];
      for (const p of net.params) {
        if (!p.trainable) continue;
        for (const v of [p.W, p.bias]) {
          if (!v) continue;
          for (let q = 0; q < v.length; q++) {
            const old = v[q]!;
            v[q] = old + h;
            const up = f();
            v[q] = old - h;
            const down = f();
            v[q] = old;
            cols.push({ col: up.map((u, k) => (u - down[k]!) / (2 * h)), output: p.isOutput });
          }
        }
      }
      const m = X.length;
      const jjt = (which: (c: { output: boolean }) => boolean) => {
        const out = new Float64Array(m * m);
        for (const c of cols.filter(which)) for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) out[i * m + j] = out[i * m + j]! + c.col[i]! * c.col[j]!;
        return out;
      };
      const e = empiricalKernel(spec, X, null, { width, seed });
      expect(relErr(e.ntk!, jjt(() => true), m)).toBeLessThan(1e-6);
      // The NNGP is the output layer's share of JJᵀ (its gradient is the feature vector and 1).
      expect(relErr(e.nngp!, jjt((c) => c.output), m)).toBeLessThan(1e-6);
    });
  }
});

/** Per-entry mean and sample standard deviation over seeds [seed0, seed0 + S). */
function overSeeds(arch: string, width: number, S: number, seed0: number) {
  const m = 3;
  const vals = { nngp: [] as Float64Array[], ntk: [] as Float64Array[] };
  for (let s = 0; s < S; s++) {
    const r = empiricalKernel(arch, X.slice(0, m), null, { width, seed: seed0 + s });
    vals.nngp.push(r.nngp!);
    vals.ntk.push(r.ntk!);
  }
  const stat = (vs: Float64Array[], e: number) => {
    const mean = vs.reduce((a, v) => a + v[e]!, 0) / S;
    const sd = Math.sqrt(vs.reduce((a, v) => a + (v[e]! - mean) ** 2, 0) / (S - 1));
    const m4 = vs.reduce((a, v) => a + (v[e]! - mean) ** 4, 0) / S;
    return { mean, sd, kurtosis: m4 / (sd * sd) ** 2 };
  };
  return { vals, stat, m };
}

describe('(c, d) over seeds: the analytic mean and the n^−½ spread', () => {
  const S = 240;
  for (const arch of ['arora2019:depth=2', 'resnet:depth=2,alpha=0.8', 'densenet:depth=3']) {
    it(`${arch}: mean within 4 standard errors of kernelCpu; sd(64)/sd(256) ≈ 2`, () => {
      const exact = kernelCpu(arch, X.slice(0, 3));
      const a = overSeeds(arch, 64, S, 0);
      const b = overSeeds(arch, 128, S, 100_000);
      const c = overSeeds(arch, 256, S, 200_000);
      const seen: string[] = [];
      for (const k of ['nngp', 'ntk'] as const) {
        for (let i = 0; i < 3; i++) {
          for (let j = i; j < 3; j++) {
            const e = i * 3 + j;
            // The finite-width mean is biased by O(1/n) (z ≈ 3 for the ReLU MLP at n = 64 with 300
            // seeds): Richardson's 2·μ(128) − μ(64) removes that term, at √5 times the noise.
            const sa = a.stat(a.vals[k], e);
            const sb = b.stat(b.vals[k], e);
            const mu = 2 * sb.mean - sa.mean;
            const se = Math.sqrt((4 * sb.sd ** 2 + sa.sd ** 2) / S);
            seen.push(`${k}[${i},${j}] z = ${((mu - exact[k]![e]!) / se).toFixed(2)}`);
            expect(Math.abs(mu - exact[k]![e]!) / se, `${k}[${i},${j}]`).toBeLessThan(4);
          }
          // (d) Var ∝ 1/n, so sd(64)/sd(256) = 2 up to the next order (1 + c·L/n)^½ (≲ 3 % here,
          // c ≈ 2.7 from the fluctuation fits) and sampling error: se(log sd) ≈ √((κ − 1)/(4S))
          // per width with κ the sample kurtosis. Tolerance: 4 such standard errors plus 0.05.
          // A spread falling like 1/n (ratio 4) or not at all (ratio 1) is ≥ 0.69 away in log.
          const e = i * 3 + i;
          const sa = a.stat(a.vals[k], e);
          const sc = c.stat(c.vals[k], e);
          const seLog = Math.sqrt((sa.kurtosis - 1) / (4 * S) + (sc.kurtosis - 1) / (4 * S));
          const tol = 4 * seLog + 0.05;
          expect(tol).toBeLessThan(0.5);
          seen.push(`sd ratio ${k}[${i},${i}] ${(sa.sd / sc.sd).toFixed(3)} (tol ${tol.toFixed(3)} in log)`);
          expect(Math.abs(Math.log(sa.sd / sc.sd / 2)), `${k}[${i},${i}] ratio ${(sa.sd / sc.sd).toFixed(3)} tol ${tol.toFixed(3)}`).toBeLessThan(tol);
        }
      }
      console.log(`${arch}, ${S} seeds: ${seen.join('; ')}`);
    });
  }
});

describe('(e) webntk empirical', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webntk-empirical-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const x1 = join(dir, 'X.npy');
  const x2 = join(dir, 'T.npy');
  writeFileSync(x1, encodeNpy(Float64Array.from(X.flat()), [X.length, 3]));
  writeFileSync(x2, encodeNpy(Float64Array.from(X2.flat()), [X2.length, 3]));
  const read = (p: string) => parseNpy(readFileSync(p));

  it('writes the API’s values (one kernel; both with {kernel})', async () => {
    const out = join(dir, 'K.npy');
    const r = await runCli('empirical', '--arch', 'resnet:depth=2,alpha=1', '--width', '32', '--seed', '4', '--x1', x1, '--get', 'ntk', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^wrote .*K\.npy: empirical ntk \[4, 4\] float64 \(resnet[^,]*, width 32, seed 4, cpu float64/);
    const api = empiricalKernel('resnet:depth=2,alpha=1', X, null, { width: 32, seed: 4 });
    const f = read(out);
    expect(f.shape).toEqual([4, 4]);
    expect(Array.from(f.data as Float64Array)).toEqual(Array.from(api.ntk!));
    const both = await runCli('empirical', '--arch', 'densenet:depth=2', '--width', '16', '--seed', '9', '--x1', x1, '--x2', x2, '--get', 'nngp,ntk', '--out', join(dir, 'B-{kernel}.npy'), '--json');
    expect(both.code, both.err).toBe(0);
    expect(JSON.parse(both.out)).toMatchObject({ width: 16, seed: 9, backend: 'cpu', outputs: [{ kernel: 'nngp', shape: [4, 2] }, { kernel: 'ntk', shape: [4, 2] }] });
    const api2 = empiricalKernel('densenet:depth=2', X, X2, { width: 16, seed: 9 });
    expect(Array.from(read(join(dir, 'B-nngp.npy')).data as Float64Array)).toEqual(Array.from(api2.nngp!));
    expect(Array.from(read(join(dir, 'B-ntk.npy')).data as Float64Array)).toEqual(Array.from(api2.ntk!));
  });

  it('the pinned form --get nngp,ntk --out F.npy: F-nngp.npy and F-ntk.npy, the API’s values, both named', async () => {
    const out = join(dir, 'F.npy');
    const r = await runCli('empirical', '--arch', 'mlp:depth=2', '--width', '32', '--seed', '5', '--x1', x1, '--x2', x2, '--get', 'nngp,ntk', '--out', out);
    expect(r.code, r.err).toBe(0);
    const api = empiricalKernel('mlp:depth=2', X, X2, { width: 32, seed: 5 });
    for (const k of ['nngp', 'ntk'] as const) {
      const f = read(join(dir, `F-${k}.npy`));
      expect(f.shape).toEqual([4, 2]);
      expect(Array.from(f.data as Float64Array)).toEqual(Array.from(api[k]!));
    }
    expect(existsSync(out)).toBe(false);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^wrote .*F-nngp\.npy: empirical nngp \[4, 2\]/);
    expect(lines[1]).toMatch(/^wrote .*F-ntk\.npy: empirical ntk \[4, 2\]/);
    const j = await runCli('empirical', '--arch', 'mlp:depth=2', '--width', '32', '--seed', '5', '--x1', x1, '--get', 'nngp,ntk', '--out', join(dir, 'G.npy'), '--json');
    expect(j.code, j.err).toBe(0);
    expect(JSON.parse(j.out).outputs).toMatchObject([
      { kernel: 'nngp', path: join(dir, 'G-nngp.npy') },
      { kernel: 'ntk', path: join(dir, 'G-ntk.npy') },
    ]);
  });

  it('--out F.npy with two kernels whose derived name is an input: exit 2, one line, neither file written', async () => {
    const x = join(dir, 'H-nngp.npy');
    writeFileSync(x, encodeNpy(Float64Array.from(X.flat()), [X.length, 3]));
    const r = await runCli('empirical', '--arch', 'mlp:depth=2', '--width', '8', '--x1', x, '--get', 'nngp,ntk', '--out', join(dir, 'H.npy'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/destroy the input/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'H-ntk.npy'))).toBe(false);
    expect(Array.from(read(x).data as Float64Array)).toEqual(X.flat());
  });

  const bad: [string, string[], RegExp][] = [
    ['width 0', ['--arch', 'mlp:depth=2', '--width', '0', '--x1', x1], /--width must be a whole number ≥ 1, got "0"/],
    ['a fractional width', ['--arch', 'mlp:depth=2', '--width', '2.5', '--x1', x1], /--width must be a whole number/],
    ['a negative seed', ['--arch', 'mlp:depth=2', '--width', '8', '--seed', '-1', '--x1', x1], /--seed must be a whole number/],
    ['no --x1', ['--arch', 'mlp:depth=2', '--width', '8'], /required option '--x1/],
    ['an unknown spec', ['--arch', 'nosuchnet:depth=2', '--width', '8', '--x1', x1], /unknown preset "nosuchnet"/],
    ['a conv spec given rows', ['--arch', 'cntk:depth=2', '--width', '8', '--x1', x1], /images/],
  ];
  for (const [name, args, message] of bad) {
    it(`refuses ${name}: exit 2, one line, no file`, async () => {
      const out = join(dir, `bad-${name.replace(/\W+/g, '-')}.npy`);
      const r = await runCli('empirical', ...args, '--out', out);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('--help: conv specs on both backends (not the cpu backend only), and the two-file rule of --out', async () => {
    const h = await runCli('empirical', '--help');
    expect(h.code).toBe(0);
    const text = h.out.replace(/\s+/g, ' ');
    expect(text).toMatch(/conv specs; every spec on both backends/);
    expect(text).not.toMatch(/conv specs on the cpu backend/);
    expect(text).toMatch(/with --get nngp,ntk and no \{kernel\}, F\.npy writes F-nngp\.npy and F-ntk\.npy/);
  });

  it('an output folder that does not exist: exit 4', async () => {
    const r = await runCli('empirical', '--arch', 'mlp:depth=2', '--width', '8', '--x1', x1, '--out', join(dir, 'missing', 'K.npy'));
    expect(r.code).toBe(4);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});

describe('conv specs (CPU): the conv Monte Carlo oracle’s per-network values', () => {
  const imgs = convImages(2, [6], 3);
  const imgs2 = convImages(2, [6], 8);
  const stacked = { data: [...imgs.data, ...imgs2.data], shape: [imgs.shape[0]! + imgs2.shape[0]!, 2, 6] };
  const m = imgs.shape[0]!;
  const m2 = imgs2.shape[0]!;

  for (const arch of ['cntk:depth=2', 'cntk:depth=3,readout=flatten,filter=3', 'rescnn:depth=2,alpha=0.5']) {
    it(arch, () => {
      const r = empiricalKernel(arch, imgs, null, { width: 8, seed: 4 });
      expect(r.shape).toEqual([m, m]);
      expect(r.symmetric).toBe(true);
      const mc = monteCarloConv(resolveSpec(parsePresetRef(arch)), imgs, { width: 8, samples: 2, seed: 4, keepSamples: true });
      // The same network and the same arithmetic: equal to the last bit.
      expect(Array.from(r.nngp!)).toEqual(Array.from(mc.perSample!.nngp.subarray(0, m * m)));
      expect(Array.from(r.ntk!)).toEqual(Array.from(mc.perSample!.ntk.subarray(0, m * m)));
      // X1 × X2 is the block of the stacked batch (the weights do not depend on the inputs).
      const cross = empiricalKernel(arch, imgs, imgs2, { width: 8, seed: 4 });
      const all = empiricalKernel(arch, stacked, null, { width: 8, seed: 4 });
      const M = m + m2;
      expect(cross.shape).toEqual([m, m2]);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m2; j++) {
          expect(cross.ntk![i * m2 + j]).toBe(all.ntk![i * M + m + j]);
          expect(cross.nngp![i * m2 + j]).toBe(all.nngp![i * M + m + j]);
        }
      }
    });
  }

  it('the CLI reads images [N, C, P] and writes what the API returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webntk-empirical-conv-'));
    try {
      const f = join(dir, 'I.npy');
      writeFileSync(f, encodeNpy(imgs.data, imgs.shape));
      const out = join(dir, 'K.npy');
      const r = await runCli('empirical', '--arch', 'cntk:depth=2', '--width', '8', '--seed', '4', '--x1', f, '--out', out);
      expect(r.code, r.err).toBe(0);
      const api = empiricalKernel('cntk:depth=2', imgs, null, { width: 8, seed: 4 });
      expect(Array.from(parseNpy(readFileSync(out)).data as Float64Array)).toEqual(Array.from(api.ntk!));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the size of a sampled network, before any weight is drawn', () => {
  const specs: [string, Spec | string][] = [
    ['mlp:depth=2', 'mlp:depth=2'],
    ['MLP with biases', 'hayou2019:depth=3,sigmaW2=1.5,sigmaB2=0.3'],
    ['ResNet', 'resnet:depth=3,alpha=0.8'],
    ['DenseNet', 'densenet:depth=3'],
    [
      'DenseNet block (concat mean) after a frozen stem, erf readout',
      { layers: [{ type: 'dense', trainable: false }, { type: 'denseBlock', depth: 3, concat: 'mean', activation: { type: 'tanh' }, biasVar: 0.1 }, { type: 'erf' }, { type: 'dense' }] },
    ],
  ];
  for (const [name, arch] of specs) {
    it(`${name}: the exact parameter count is the drawn network's`, () => {
      const rs = resolveSpec(typeof arch === 'string' ? parsePresetRef(arch) : arch);
      for (const [d, width] of [
        [3, 5],
        [7, 16],
      ] as const) {
        const net = sampleNetwork(rs, d, width, 1);
        const drawn = net.params.reduce((s, p) => s + p.W.length + (p.bias?.length ?? 0), 0);
        expect(parameterCount(rs, d, width)).toBe(drawn);
        expect(SampledNetwork.plan(rs, d, width).shapes).toEqual(net.params.map((p) => ({ outDim: p.outDim, fanIn: p.fanIn, bias: p.bias !== null, trainable: p.trainable })));
      }
    });
  }

  it('mlp:depth=2 at width 16 384 on d = 5: d·w + 2w² + w weights (two hidden w × w layers), within the CPU limit', () => {
    const rs = resolveSpec(parsePresetRef('mlp:depth=2'));
    const w = 16384;
    const biases = SampledNetwork.plan(rs, 5, 3).shapes.some((l) => l.bias);
    expect(biases).toBe(false);
    expect(parameterCount(rs, 5, w)).toBe(5 * w + 2 * w * w + w);
    expect(parameterCount(rs, 5, w)).toBeLessThanOrEqual(MAX_NETWORK_PARAMETERS);
  });

  it('the host limit: the whole network on the CPU, the largest layer when drawn into a device; one line naming the width, the count and the bytes', () => {
    const shapes = SampledNetwork.plan(resolveSpec(parsePresetRef('mlp:depth=2')), 5, 100).shapes;
    const total = 5 * 100 + 2 * 100 * 100 + 100;
    expect(() => checkHostWeights(shapes, 100, 'network', total)).not.toThrow();
    expect(() => checkHostWeights(shapes, 100, 'network', total - 1)).toThrow(`width 100: the sampled network holds ${total} weights, ${8 * total} bytes (0.00 GiB) of float64 on the host, above the limit of ${total - 1} weights`);
    expect(() => checkHostWeights(shapes, 100, 'layer', 100 * 100)).not.toThrow();
    expect(() => checkHostWeights(shapes, 100, 'layer', 100 * 100 - 1)).toThrow(/^width 100: its largest layer holds 10000 weights, 80000 bytes .* use a smaller width$/);
  });

  it('drawn layer by layer into a sink: the same weights, bit for bit, as the network drawn at once, and no host copy kept', () => {
    for (const arch of ['hayou2019:depth=3,sigmaW2=1.5,sigmaB2=0.3', 'resnet:depth=2,alpha=0.8', 'densenet:depth=2']) {
      const rs = resolveSpec(parsePresetRef(arch));
      const whole = sampleNetwork(rs, 4, 12, 7);
      const taken: { W: Float64Array; bias: Float64Array | null; p: DenseParams }[] = [];
      const sunk = sampleNetwork(rs, 4, 12, 7, { take: (p) => taken.push({ W: Float64Array.from(p.W), bias: p.bias && Float64Array.from(p.bias), p }) });
      expect(taken.map((t) => t.p)).toEqual(sunk.params.map((p) => p));
      expect(taken).toHaveLength(whole.params.length);
      whole.params.forEach((p, i) => {
        expect(taken[i]!.W.length).toBe(p.W.length);
        expect(Buffer.from(taken[i]!.W.buffer).equals(Buffer.from(p.W.buffer))).toBe(true);
        expect(taken[i]!.bias === null ? null : Array.from(taken[i]!.bias!)).toEqual(p.bias === null ? null : Array.from(p.bias));
        expect(sunk.params[i]!.W.length).toBe(0);
      });
      expect(() => sunk.run({ rows: 1, cols: 4, data: new Float64Array(4) })).toThrow(/holds no weights on the host/);
    }
  });
});
