import { describe, expect, it } from 'vitest';
import { kappa0, kappa1, kernelCpu, parsePresetRef, PRESETS, resolveSpec, toSpec } from '../src/index.js';
import * as ref from './reference.js';

/** Inputs with different norms, a near-duplicate pair (1e−3 rad), an antipodal pair. */
const X: number[][] = (() => {
  const a = [0.3, -1.2, 0.8, 0.5];
  const c = Math.cos(1e-3);
  const s = Math.sin(1e-3);
  // A copy of `a` rotated by 1e−3 rad in the plane of its first two coordinates.
  const near = [c * a[0]! - s * a[1]!, s * a[0]! + c * a[1]!, a[2]!, a[3]!];
  return [a, near, a.map((v) => -2 * v), [1.5, 0.2, -0.4, 2.0], [0.01, 0.02, -0.005, 0.0], [40, -25, 10, 70]];
})();

type RefFn = (x: number[], z: number[]) => ref.Pair;

/**
 * Every entry of kernelCpu(presetRef) equals the hand-written formula to round-off, measured as the
 * normalised error |K − K_ref|(x, z) / √(K_ref(x, x)·K_ref(z, z)). The pair at 1e−3 rad gets 1000×
 * more room: there θ = acos ρ amplifies the ulp-level differences of the two evaluation orders by
 * 1/sin θ ≈ 1e3 at every layer.
 */
function expectMatches(presetRef: string, f: RefFn, inputs = X): void {
  const r = kernelCpu(presetRef, inputs);
  const n = inputs.length;
  const refs = inputs.map((x, i) => inputs.map((z, j) => (j >= i ? f(x, z) : null)));
  const get = (i: number, j: number) => (j >= i ? refs[i]![j]! : refs[j]![i]!);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const [k, t] = get(i, j);
      const at = i * n + j;
      const tol = (i === 0 && j === 1) || (i === 1 && j === 0) ? 1e-9 : 1e-12;
      const kScale = Math.sqrt(get(i, i)[0] * get(j, j)[0]);
      const tScale = Math.sqrt(get(i, i)[1] * get(j, j)[1]);
      expect(Math.abs(r.nngp![at]! - k) / kScale, `${presetRef} nngp[${i},${j}]`).toBeLessThanOrEqual(tol);
      expect(Math.abs(r.ntk![at]! - t) / tScale, `${presetRef} ntk[${i},${j}]`).toBeLessThanOrEqual(tol);
    }
  }
}

describe('pinned preset formulas', () => {
  for (const L of [1, 2, 7]) {
    it(`arora2019 depth ${L}`, () => expectMatches(`arora2019:depth=${L}`, (x, z) => ref.arora2019(x, z, L)));
    it(`jacot2018 depth ${L}`, () => {
      expectMatches(`jacot2018:depth=${L}`, (x, z) => ref.jacot2018(x, z, L, 0.1));
      expectMatches(`jacot2018:depth=${L},beta=0.7`, (x, z) => ref.jacot2018(x, z, L, 0.7));
    });
    it(`hayou2019 depth ${L}`, () => {
      expectMatches(`hayou2019:depth=${L}`, (x, z) => ref.hayou2019(x, z, L, 2, 0));
      expectMatches(`hayou2019:depth=${L},sigmaW2=1.3,sigmaB2=0.2`, (x, z) => ref.hayou2019(x, z, L, 1.3, 0.2));
    });
    it(`huang2020 and belfer2021 depth ${L}`, () => {
      expectMatches(`huang2020:depth=${L},alpha=0.7`, (x, z) => ref.huang2020(x, z, L, 0.7));
      expectMatches(`huang2020:depth=${L},gamma=0.5`, (x, z) => ref.huang2020(x, z, L, L ** -0.5));
      expectMatches(`belfer2021:depth=${L},alpha=1.3`, (x, z) => ref.belfer2021(x, z, L, 1.3));
      expectMatches(`belfer2021:depth=${L},gamma=0.75`, (x, z) => ref.belfer2021(x, z, L, L ** -0.75));
    });
    it(`tirer2021 depth ${L}`, () => {
      expectMatches(`tirer2021:depth=${L}`, (x, z) => ref.tirer2021(x, z, L, 0.1));
      expectMatches(`tirer2021:depth=${L},alpha=1.5`, (x, z) => ref.tirer2021(x, z, L, 1.5));
    });
    it(`resnet depth ${L}`, () => {
      expectMatches(`resnet:depth=${L},alpha=0.6`, (x, z) =>
        ref.resnet(x, z, { L, alpha: 0.6, cw2: 2, cv2: 1, trainStem: true, trainReadout: true }),
      );
      expectMatches(`resnet:depth=${L},gamma=0.5,alpha0=2,cw2=1.5,cv2=0.7,trainStem=false,trainReadout=false`, (x, z) =>
        ref.resnet(x, z, { L, alpha: 2 * L ** -0.5, cw2: 1.5, cv2: 0.7, trainStem: false, trainReadout: false }),
      );
    });
    it(`densenet depth ${L}`, () => {
      expectMatches(`densenet:depth=${L}`, (x, z) => ref.densenet(x, z, L, 2, 'mean'));
      expectMatches(`densenet:depth=${L},cw2=1.2,concat=sum`, (x, z) => ref.densenet(x, z, L, 1.2, 'sum'));
    });
    it(`mlp depth ${L}`, () => {
      expectMatches(`mlp:depth=${L}`, (x, z) => ref.mlp(x, z, L, 2, 0, 'dim'));
      expectMatches(`mlp:depth=${L},cw2=1.1,cb2=0.3,inputScale=none`, (x, z) => ref.mlp(x, z, L, 1.1, 0.3, 'none'));
    });
  }
});

/** Inputs at correlation ρ with unit norm (d = 2). */
const atRho = (r: number) => [
  [1, 0],
  [r, Math.sqrt(1 - r * r)],
];

describe('known values', () => {
  it('arc-cosine functions', () => {
    expect(kappa1(0.5)).toBeCloseTo(0.608998, 6);
    expect(kappa0(0.5)).toBeCloseTo(2 / 3, 15);
    expect(kappa1(0)).toBeCloseTo(1 / Math.PI, 15);
    expect(kappa0(0)).toBe(0.5);
    expect(kappa1(1)).toBe(1);
    expect(kappa0(-1)).toBe(0);
  });

  it('arora2019 NTK/(L+1) at ρ = 0', () => {
    const expected = [0.159155, 0.22857, 0.265097, 0.298699, 0.316307];
    [1, 2, 3, 5, 10].forEach((L, i) => {
      const r = kernelCpu(`arora2019:depth=${L}`, atRho(0), null, { get: 'ntk' });
      expect(Math.abs(r.ntk![1]! / (L + 1) - expected[i]!)).toBeLessThan(5e-7);
    });
  });

  it('arora2019 NTK/(L+1) and GP correlation at ρ = −1 and 0.5 (seeds.md §4 rows 1, 3, 4)', () => {
    const Ls = [1, 2, 3, 5, 10];
    const rowM1 = [0, 0.106103, 0.171427, 0.238398, 0.286904];
    const rowHalf = [0.471166, 0.450493, 0.434461, 0.410482, 0.373487];
    const gp = [0.31831, 0.493731, 0.604826, 0.735946, 0.871536];
    Ls.forEach((L, i) => {
      const m1 = kernelCpu(`arora2019:depth=${L}`, atRho(-1), null);
      const h = kernelCpu(`arora2019:depth=${L}`, atRho(0.5), null);
      const z = kernelCpu(`arora2019:depth=${L}`, atRho(0), null);
      expect(Math.abs(m1.ntk![1]! / (L + 1) - rowM1[i]!)).toBeLessThan(5e-7);
      expect(Math.abs(h.ntk![1]! / (L + 1) - rowHalf[i]!)).toBeLessThan(5e-7);
      expect(Math.abs(z.nngp![1]! - gp[i]!)).toBeLessThan(5e-7);
    });
  });

  it('belfer2021 α = 1 at ρ = −1, 0, 0.5', () => {
    const rows: [number, number[]][] = [
      [-1, [0, -0.014417, 0.016618, 0.082112, 0.178643]],
      [0, [0.159155, 0.184108, 0.203751, 0.231883, 0.26724]],
      [0.5, [0.471166, 0.455443, 0.44229, 0.421433, 0.387465]],
    ];
    for (const [r, values] of rows) {
      [1, 2, 3, 5, 10].forEach((L, i) => {
        const k = kernelCpu(`belfer2021:depth=${L},alpha=1`, atRho(r), null, { get: 'ntk' });
        expect(Math.abs(k.ntk![1]! - values[i]!)).toBeLessThan(5e-7);
      });
    }
  });
});

describe('closed-form diagonals', () => {
  const unit = [[0.6, 0.8]];
  it('arora2019: NTK(x,x) = L + 1, NNGP(x,x) = 1 for unit x', () => {
    for (const L of [1, 4, 30]) {
      const r = kernelCpu(`arora2019:depth=${L}`, unit);
      expect(r.ntk![0]).toBeCloseTo(L + 1, 12);
      expect(r.nngp![0]).toBeCloseTo(1, 14);
    }
  });
  it('huang2020: Θ_L(x,x) = 2La(1+a)^(L−1), K_L(x,x) = (1+a)^L', () => {
    for (const [L, alpha] of [[1, 0.5], [4, 0.7], [20, 0.3]] as const) {
      const a = alpha * alpha;
      const r = kernelCpu(`huang2020:depth=${L},alpha=${alpha}`, unit);
      expect(r.ntk![0]! / (2 * L * a * (1 + a) ** (L - 1))).toBeCloseTo(1, 12);
      expect(r.nngp![0]! / (1 + a) ** L).toBeCloseTo(1, 12);
    }
  });
  it('belfer2021: 1 on the unit diagonal', () => {
    const r = kernelCpu('belfer2021:depth=12,gamma=0.5', unit);
    expect(r.ntk![0]).toBeCloseTo(1, 13);
    expect(r.nngp![0]).toBeCloseTo(1, 13);
  });
  it('resnet (stem and readout trained): NTK(x,x) = 2(1+a)^L + 2La(1+a)^(L−1); 22.8248 at α = 0.7, L = 4', () => {
    // Unit-scaled inputs: x·x/d = 1.
    const x = [[Math.SQRT2, 0]];
    const r = kernelCpu('resnet:depth=4,alpha=0.7', x, null, { get: 'ntk' });
    const a = 0.49;
    expect(r.ntk![0]).toBeCloseTo(2 * (1 + a) ** 4 + 8 * a * (1 + a) ** 3, 12);
    expect(r.ntk![0]).toBeCloseTo(22.8248, 4);
  });
  it('densenet: NTK(x,x) = 2 + H_L for unit-scaled inputs; 4.7179 at L = 8', () => {
    const x = [[Math.SQRT2, 0]];
    for (const L of [1, 3, 8, 25]) {
      let H = 0;
      for (let k = 1; k <= L; k++) H += 1 / k;
      const r = kernelCpu(`densenet:depth=${L}`, x);
      expect(r.ntk![0]).toBeCloseTo(2 + H, 12);
      expect(r.nngp![0]).toBeCloseTo(1, 13);
    }
    expect(kernelCpu('densenet:depth=8', x, null, { get: 'ntk' }).ntk![0]).toBeCloseTo(4.7179, 4);
  });
});

describe('parameters that only enter as a product', () => {
  it('resnet depends on α²·cv2·cw2 only', () => {
    const a = kernelCpu('resnet:depth=5,alpha=0.5,cw2=2,cv2=1', X);
    const b = kernelCpu('resnet:depth=5,alpha=1,cw2=0.5,cv2=1', X);
    const c = kernelCpu('resnet:depth=5,alpha=0.25,cw2=4,cv2=2', X);
    for (const other of [b, c]) {
      for (let i = 0; i < a.ntk!.length; i++) {
        expect(other.ntk![i]).toBeCloseTo(a.ntk![i]!, 10);
        expect(other.nngp![i]).toBeCloseTo(a.nngp![i]!, 10);
      }
    }
  });
  it('tirer2021 is resnet with cw2 = cv2 = 1', () => {
    const a = kernelCpu('tirer2021:depth=4,alpha=0.3', X);
    const b = kernelCpu('resnet:depth=4,alpha=0.3,cw2=1,cv2=1', X);
    expect(Array.from(b.ntk!)).toEqual(Array.from(a.ntk!));
  });
  it('mlp with inputScale=none and no bias is arora2019', () => {
    const a = kernelCpu('arora2019:depth=6', X);
    const b = kernelCpu('mlp:depth=6,inputScale=none', X);
    for (let i = 0; i < a.ntk!.length; i++) expect(b.ntk![i]).toBeCloseTo(a.ntk![i]!, 10);
  });
  it('hayou2019 without bias: σ_w² is a global factor (σ_w²/2)^L', () => {
    const a = kernelCpu('hayou2019:depth=4,sigmaW2=2', X);
    const b = kernelCpu('hayou2019:depth=4,sigmaW2=1.5', X);
    const f = (1.5 / 2) ** 4;
    for (let i = 0; i < a.ntk!.length; i++) {
      expect(b.ntk![i]! / (f * a.ntk![i]!)).toBeCloseTo(1, 12);
      expect(b.nngp![i]! / (f * a.nngp![i]!)).toBeCloseTo(1, 12);
    }
  });
});

describe('preset references', () => {
  it('every preset builds a valid, printable spec that resolves to itself', () => {
    for (const p of PRESETS) {
      const params: Record<string, unknown> = {};
      if (!('default' in p.params.depth!)) params.depth = 3;
      if ('gamma' in p.params && !('default' in p.params.alpha!)) params.alpha = 0.5;
      const spec = p.build({ ...Object.fromEntries(Object.entries(p.params).filter(([, d]) => d.default !== undefined).map(([k, d]) => [k, d.default!])), ...params } as never);
      const resolved = resolveSpec(JSON.parse(JSON.stringify(spec)));
      expect(resolveSpec(resolved)).toEqual(resolved);
      expect(resolved.name).toBe(p.name);
    }
  });
  it('parses name:key=value lists and fills defaults', () => {
    const s = toSpec('tirer2021');
    expect(s).toEqual(toSpec('tirer2021:depth=5,alpha=0.1'));
    expect(parsePresetRef('resnet:depth=3,gamma=0.5,trainStem=false')).toMatchObject({
      layers: [{ type: 'dense', trainable: false }, { type: 'repeat', count: 3 }],
    });
  });
  it.each([
    ['nosuch:depth=3', /unknown preset "nosuch"/],
    ['arora2019', /missing parameter "depth"/],
    ['arora2019:depth=0', /depth must be an integer ≥ 1, got 0/],
    ['arora2019:depth=2.5', /depth must be an integer ≥ 1, got 2.5/],
    ['arora2019:depth=3,width=5', /unknown parameter "width"/],
    ['arora2019:depth=3,depth=4', /given twice/],
    ['arora2019:depth', /expected key=value/],
    ['huang2020:depth=3', /exactly one of alpha/],
    ['huang2020:depth=3,alpha=1,gamma=0.5', /exactly one of alpha/],
    ['jacot2018:depth=2,beta=-1', /beta must be ≥ 0/],
    ['hayou2019:depth=2,sigmaW2=0', /sigmaW2 must be > 0/],
    ['hayou2019:depth=2,sigmaW2=inf', /sigmaW2 must be a finite number, got Infinity/],
    ['mlp:depth=2,cb2=nan', /cb2 must be a finite number, got NaN/],
    ['densenet:depth=2,concat=max', /concat must be one of mean, sum/],
    ['resnet:depth=2,alpha=1,trainStem=yes', /trainStem must be true or false/],
  ])('rejects %s', (r, msg) => {
    expect(() => toSpec(r)).toThrow(msg);
  });
});

describe('deep residual networks beyond the float64 range', () => {
  it('belfer2021 with α = 1 (K grows like 2^L) at ρ = 0 for L = 100 … 10^5 (seeds.md §3.6)', () => {
    // The unnormalised kernels reach 2^100000; the reference carries them as mantissa and exponent.
    const expected: [number, number][] = [
      [100, 0.27453],
      [1000, 0.25394],
      [10000, 0.25049],
    ];
    for (const [L, v] of expected) {
      const r = kernelCpu(`belfer2021:depth=${L},alpha=1`, atRho(0), null, { get: 'ntk' });
      expect(Math.abs(r.ntk![1]! - v), `L = ${L}`).toBeLessThan(5e-6);
      expect(r.ntk![0]).toBeCloseTo(1, 12);
    }
    // L = 10^5 against 30-digit mpmath (scripts/mp-belfer.py): 0.250057552406 (seeds.md rounds it to 0.25005).
    const deep = kernelCpu('belfer2021:depth=100000,alpha=1', atRho(0), null, { get: 'ntk' });
    expect(Math.abs(deep.ntk![1]! - 0.250057552406)).toBeLessThan(1e-11);
  });

  it('an unnormalised kernel that leaves float64 is still an error, and layers that need actual values say so', () => {
    expect(() => kernelCpu('huang2020:depth=1100,alpha=1', [[1, 0]])).toThrow(/overflows float64 at depth 1100/);
    const spec = {
      inputScale: 'none' as const,
      layers: [
        { type: 'dense' as const },
        { type: 'repeat' as const, count: 1100, layers: [{ type: 'residual' as const, alpha: 1, branch: [{ type: 'dense' as const, weightVar: 2 }, { type: 'relu' as const }, { type: 'dense' as const }] }] },
        { type: 'dense' as const, biasVar: 0.1 },
      ],
    };
    expect(() => kernelCpu(spec, [[1, 0]])).toThrow(/overflows float64 before a bias/);
  });
});

describe('citations', () => {
  it('the resnet preset names whose arXiv id is whose (2001.10460 is Littwin & Wolf, not Barzilai et al.)', () => {
    const resnet = PRESETS.find((p) => p.name === 'resnet')!;
    expect(resnet.arxiv).toBe('2001.10460 (Littwin & Wolf), 2211.14810 (Barzilai et al.)');
    for (const p of PRESETS) expect(p.arxiv, p.name).toMatch(/^\d{4}\.\d{4,5}/);
  });
});
