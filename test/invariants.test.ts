import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { kernelCpu, type Spec } from '../src/index.js';
import { CUSTOM } from './fixtures.js';
import { Rng } from '../src/mc/rng.js';

function randomInputs(n: number, d: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => Array.from({ length: d }, () => rng.normal() * (0.2 + (i % 4))));
}

const ARCHS: (string | Spec)[] = [
  'arora2019:depth=6',
  'jacot2018:depth=4',
  'hayou2019:depth=5,sigmaB2=0.1',
  'huang2020:depth=6,gamma=0.5',
  'belfer2021:depth=6,alpha=1',
  'tirer2021',
  'resnet:depth=5,alpha=0.7',
  'densenet:depth=5',
  'mlp:depth=5,cb2=0.2',
  ...Object.values(CUSTOM),
];
const label = (a: string | Spec) => (typeof a === 'string' ? a : Object.keys(CUSTOM).find((k) => CUSTOM[k] === a)!);

function minMaxEig(K: Float64Array, n: number): [number, number] {
  const M = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M.set(i, j, K[i * n + j]!);
  const ev = new EigenvalueDecomposition(M, { assumeSymmetric: true }).realEigenvalues;
  return [Math.min(...ev), Math.max(...ev)];
}

describe('invariants', () => {
  const X = randomInputs(24, 5, 1);
  const n = X.length;

  for (const arch of ARCHS) {
    describe(label(arch), () => {
      const full = kernelCpu(arch, X);

      it('X × X is exactly symmetric and positive semi-definite', () => {
        for (const K of [full.nngp!, full.ntk!]) {
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(K[i * n + j]).toBe(K[j * n + i]);
          const [lmin, lmax] = minMaxEig(K, n);
          expect(lmax).toBeGreaterThan(0);
          expect(lmin).toBeGreaterThanOrEqual(-1e-10 * lmax);
        }
        expect(full.symmetric).toBe(true);
      });

      it('X1 × X2 blocks and the diagonal agree with X × X', () => {
        const a = X.slice(0, 10);
        const b = X.slice(10);
        const cross = kernelCpu(arch, a, b);
        expect(cross.shape).toEqual([10, n - 10]);
        for (let i = 0; i < 10; i++) {
          for (let j = 0; j < n - 10; j++) {
            expect(cross.ntk![i * (n - 10) + j]).toBe(full.ntk![i * n + 10 + j]);
            expect(cross.nngp![i * (n - 10) + j]).toBe(full.nngp![i * n + 10 + j]);
          }
        }
        const diag = kernelCpu(arch, X, null, { diagonal: true });
        expect(diag.shape).toEqual([n]);
        for (let i = 0; i < n; i++) {
          expect(diag.ntk![i]).toBe(full.ntk![i * n + i]);
          expect(diag.nngp![i]).toBe(full.nngp![i * n + i]);
        }
      });

      it('the depth sweep ends with the full network and has one entry per depth', () => {
        const sweep = kernelCpu(arch, X, null, { depths: 'all' });
        const T = sweep.depths.length;
        expect(sweep.shape).toEqual([T, n, n]);
        expect(sweep.depths[T - 1]).toBe(full.depths[0]);
        expect(Array.from(sweep.ntk!.subarray((T - 1) * n * n))).toEqual(Array.from(full.ntk!));
        expect(Array.from(sweep.nngp!.subarray((T - 1) * n * n))).toEqual(Array.from(full.nngp!));
      });
    });
  }

  it('per-depth outputs equal separate runs of the shallower networks', () => {
    const cases: [string, (L: number) => string, number][] = [
      ['arora2019:depth=6', (L) => `arora2019:depth=${L}`, 0],
      ['jacot2018:depth=5,beta=0.3', (L) => `jacot2018:depth=${L},beta=0.3`, 0],
      ['hayou2019:depth=6,sigmaW2=1.8,sigmaB2=0.1', (L) => `hayou2019:depth=${L},sigmaW2=1.8,sigmaB2=0.1`, 1],
      ['huang2020:depth=6,alpha=0.6', (L) => `huang2020:depth=${L},alpha=0.6`, 1],
      ['belfer2021:depth=6,alpha=0.6', (L) => `belfer2021:depth=${L},alpha=0.6`, 1],
      ['tirer2021:depth=6,alpha=0.4', (L) => `tirer2021:depth=${L},alpha=0.4`, 1],
      ['resnet:depth=6,alpha=0.9,cw2=1.5', (L) => `resnet:depth=${L},alpha=0.9,cw2=1.5`, 1],
      ['densenet:depth=6', (L) => `densenet:depth=${L}`, 1],
      ['densenet:depth=6,concat=sum', (L) => `densenet:depth=${L},concat=sum`, 1],
      ['mlp:depth=6,cb2=0.2', (L) => `mlp:depth=${L},cb2=0.2`, 0],
    ];
    const Y = randomInputs(6, 3, 2);
    const m = Y.length;
    for (const [deep, shallow, firstSeparate] of cases) {
      const sweep = kernelCpu(deep, Y, null, { depths: 'all' });
      sweep.depths.forEach((depth, t) => {
        if (depth < Math.max(1, firstSeparate)) return; // depth 0 is no preset of its own
        const sep = kernelCpu(shallow(depth), Y);
        for (let e = 0; e < m * m; e++) {
          expect(sweep.ntk![t * m * m + e], `${deep} depth ${depth}`).toBeCloseTo(sep.ntk![e]!, 12);
          expect(sweep.nngp![t * m * m + e], `${deep} depth ${depth}`).toBeCloseTo(sep.nngp![e]!, 12);
        }
      });
    }
  });

  it('the α = L^(−γ) sweep keeps the α of the deepest network (documented)', () => {
    const Y = randomInputs(3, 3, 3);
    const sweep = kernelCpu('huang2020:depth=4,gamma=1', Y, null, { depths: 'all' });
    const constant = kernelCpu('huang2020:depth=2,alpha=0.25', Y);
    for (let e = 0; e < 9; e++) expect(sweep.ntk![2 * 9 + e]).toBeCloseTo(constant.ntk![e]!, 12);
  });

  it('positive homogeneity: bias-free ReLU kernels scale as c·K(x, z) when x is scaled by c > 0', () => {
    const Y = randomInputs(5, 4, 4);
    for (const arch of ['arora2019:depth=4', 'huang2020:depth=3,alpha=0.5', 'densenet:depth=3', 'resnet:depth=3,gamma=0.5', 'tirer2021']) {
      const base = kernelCpu(arch, Y);
      const c = 3.7;
      const scaled = kernelCpu(arch, Y.map((r, i) => (i === 0 ? r.map((v) => c * v) : r)));
      for (let j = 1; j < 5; j++) {
        expect(scaled.ntk![j]! / base.ntk![j]!).toBeCloseTo(c, 11);
        expect(scaled.nngp![j]! / base.nngp![j]!).toBeCloseTo(c, 11);
      }
      expect(scaled.ntk![0]! / base.ntk![0]!).toBeCloseTo(c * c, 10);
      // Normalised presets are homogeneous of degree 1 per input too (belfer2021).
    }
  });

  it('homogeneity fails with biases (a check that the test can fail)', () => {
    const Y = randomInputs(3, 4, 5);
    const base = kernelCpu('mlp:depth=3,cb2=0.5', Y);
    const scaled = kernelCpu('mlp:depth=3,cb2=0.5', Y.map((r, i) => (i === 0 ? r.map((v) => 2 * v) : r)));
    expect(Math.abs(scaled.ntk![1]! / base.ntk![1]! - 2)).toBeGreaterThan(1e-3);
  });

  it('a zero input row gives finite kernels (zero without bias)', () => {
    const Y = [[0, 0, 0], [1, 2, 3]];
    for (const arch of [...ARCHS]) {
      const r = kernelCpu(arch, Y);
      for (const v of [...r.ntk!, ...r.nngp!]) expect(Number.isFinite(v)).toBe(true);
    }
    const r = kernelCpu('arora2019:depth=3', Y);
    expect(r.ntk![0]).toBe(0);
    expect(r.ntk![1]).toBe(0);
  });

  it('overflow is an error naming the depth, not Infinity', () => {
    expect(() => kernelCpu('huang2020:depth=2000,alpha=1', [[1, 0]])).toThrow(/overflows float64 at depth/);
  });
});

describe('resource limits', () => {
  it('a result too large for memory is an error before any work, naming the size', () => {
    const X = Array.from({ length: 2000 }, (_, i) => [i, 1]);
    expect(() => kernelCpu('arora2019:depth=100', X, null, { depths: 'all' })).toThrow(
      /the result \[101, 2000, 2000\] needs 3.0 GiB of float64 per kernel/,
    );
  });
});

describe('streamed CPU blocks', () => {
  it('tile X × X, X1 × X2, the diagonal and depth sweeps exactly, equal to the whole result', async () => {
    const { kernelBlocks } = await import('../src/index.js');
    const X = randomInputs(150, 4, 9);
    const Y = randomInputs(70, 4, 10);
    for (const [x2, opts] of [
      [null, {}],
      [Y, {}],
      [null, { diagonal: true }],
      [null, { depths: 'all' as const }],
    ] as const) {
      const whole = kernelCpu('tirer2021:depth=3', X, x2, opts);
      const n2 = opts && 'diagonal' in opts ? 1 : (x2 ?? X).length;
      const taps = whole.depths.length;
      const plane = X.length * n2;
      const seen = new Uint8Array(plane);
      let progress = 0;
      for await (const b of kernelBlocks('tirer2021:depth=3', X, x2, { ...opts, blockRows: 64, onProgress: () => progress++ })) {
        expect(b.backend).toBe('cpu');
        for (let t = 0; t < taps; t++) {
          for (let i = 0; i < b.rows; i++) {
            for (let j = 0; j < b.cols; j++) {
              const at = (b.row0 + i) * n2 + b.col0 + j;
              if (t === 0) seen[at]! += 1;
              expect(b.ntk![(t * b.rows + i) * b.cols + j]).toBe(whole.ntk![t * plane + at]);
            }
          }
        }
      }
      expect(seen.every((v) => v === 1)).toBe(true);
      expect(progress).toBeGreaterThan(1);
    }
  });
});
