/**
 * Bad input through the library API (kernelCpu, kernel, resolveSpec, toMatrix): every row of the
 * table is an InputError (SpecError for specs) with exactly this one-line message, from the
 * synchronous and the asynchronous entry point alike. Then the inputs that are not errors but sound
 * like they might be: zero input vectors, depth-0 repeats, and residual exponents gamma of any size.
 */
import { describe, expect, it } from 'vitest';
import { kernel, kernelCpu, type Arch } from '../src/api.js';
import { InputError, SpecError } from '../src/errors.js';
import { MAX_MATRIX_ELEMENTS, toMatrix, type MatrixInput } from '../src/matrix.js';
import { presetSpec } from '../src/spec/presets.js';
import { MAX_COUNT, resolveSpec } from '../src/spec/validate.js';

const ARCH = 'arora2019:depth=2';
const dense = { type: 'dense' } as const;
const relu = { type: 'relu' } as const;

function errorOf(run: () => unknown): Error {
  try {
    run();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, got a result');
}

/** [what, arch, x1, x2, exact message]: through kernelCpu and kernel. */
const KERNEL_CASES: [string, Arch, MatrixInput, MatrixInput | null, string][] = [
  // NaN / Inf values
  ['NaN in x1', ARCH, [[1, NaN]], null, 'x1: entry at row 0, column 1 is NaN (inputs must be finite)'],
  ['Infinity in x2', ARCH, [[1, 2]], [[3, 4], [Infinity, 1]], 'x2: entry at row 1, column 0 is Infinity (inputs must be finite)'],
  ['-Infinity in a flat Float32Array', ARCH, { data: new Float32Array([1, 2, 3, -Infinity]), shape: [2, 2] }, null, 'x1: entry at row 1, column 1 is -Infinity (inputs must be finite)'],
  ['a string entry', ARCH, [[1, '2' as unknown as number]], null, 'x1: entry at row 0, column 1 is not a number'],
  // empty matrices
  ['no rows', ARCH, [], null, 'x1: has no rows (inputs)'],
  ['no rows, flat', ARCH, { data: [], shape: [0, 3] }, null, 'x1: has no rows (inputs)'],
  ['no columns', ARCH, [[]], null, 'x1: rows have no columns (features)'],
  ['no columns, flat', ARCH, { data: [], shape: [2, 0] }, null, 'x1: rows have no columns (features)'],
  ['empty x2', ARCH, [[1, 2]], [], 'x2: has no rows (inputs)'],
  // shapes
  ['mismatched feature counts', ARCH, [[1, 2]], [[1, 2, 3]], 'x1 has 2 features (columns) but x2 has 3'],
  ['ragged rows', ARCH, [[1, 2], [3]], null, 'x1: row 1 has 1 columns but row 0 has 2'],
  ['a 1-D array', ARCH, [1, 2, 3] as unknown as MatrixInput, null, 'x1: expected a 2-D array, row 0 is not an array'],
  ['a bare typed array', ARCH, new Float64Array(3) as unknown as MatrixInput, null, 'x1: expected a 2-D array (number[][]) or { data, shape: [rows, cols] }'],
  ['a 1-D shape', ARCH, { data: [1, 2, 3], shape: [3] }, null, 'x1: expected a 2-D matrix (rows are inputs), got shape [3]'],
  ['a 3-D shape (images, to an FC spec)', ARCH, { data: [1, 2], shape: [1, 1, 2] }, null, 'x1: images (shape [1, 1, 2]) given to a fully connected spec, whose input is a [N, d] matrix; for images use a convolutional spec (conv layers, or a flatten/gap/eq readout before the dense layers)'],
  ['data that do not fill the shape', ARCH, { data: [1, 2, 3], shape: [2, 2] }, null, 'x1: 3 values do not fill shape [2, 2]'],
  ['a fractional shape', ARCH, { data: [1, 2], shape: [1.5, 2] }, null, 'x1: invalid shape [1.5, 2]'],
  ['null', ARCH, null as unknown as MatrixInput, null, 'x1: expected a 2-D array (number[][]) or { data, shape: [rows, cols] }'],
  // huge dimensions: refused before anything is allocated
  ['1e6 × 1e6 with no data', ARCH, { data: new Float64Array(0), shape: [1e6, 1e6] }, null, `x1: shape [1000000, 1000000] has 1000000000000 entries, more than a matrix can hold (at most 2^32 = ${MAX_MATRIX_ELEMENTS})`],
  ['1e6 × 1e6 claimed by an array-like', ARCH, { data: { length: 1e12 } as ArrayLike<number>, shape: [1e6, 1e6] }, null, `x1: shape [1000000, 1000000] has 1000000000000 entries, more than a matrix can hold (at most 2^32 = ${MAX_MATRIX_ELEMENTS})`],
  ['1e300 rows', ARCH, { data: [], shape: [1e300, 2] }, null, `x1: shape [1e+300, 2] has 2e+300 entries, more than a matrix can hold (at most 2^32 = ${MAX_MATRIX_ELEMENTS})`],
  ['one row array repeated 1e5 times', ARCH, new Array<number[]>(100_000).fill(new Array<number>(100_000).fill(1)), null, `x1: shape [100000, 100000] has 10000000000 entries, more than a matrix can hold (at most 2^32 = ${MAX_MATRIX_ELEMENTS})`],
  ['a result beyond the CPU limit', ARCH, { data: new Float64Array(20_000), shape: [20_000, 1] }, null, 'the result [20000, 20000] needs 3.0 GiB of float64 per kernel (limit 2 GiB): compute fewer depths or smaller blocks of X1 × X2'],
  // specs given as text
  ['JSON text as the arch', '{"layers": [{"type": "dense"}]}', [[1]], null, '"{\\"layers\\": [{\\"type\\": \\"dense\\"}]}" is not a preset reference ("name" or "name:key=value,..."): it looks like JSON text; pass the spec as an object (JSON.parse it first)'],
  ['malformed JSON text as the arch', '{"layers": [', [[1]], null, '"{\\"layers\\": [" is not a preset reference ("name" or "name:key=value,..."): it looks like JSON text; pass the spec as an object (JSON.parse it first)'],
  ['an unknown preset', 'resnet50', [[1]], null, 'unknown preset "resnet50" (known: arora2019, jacot2018, hayou2019, huang2020, belfer2021, tirer2021, resnet, densenet, mlp, cntk, rescnn)'],
  ['an undefined arch', undefined as unknown as Arch, [[1]], null, 'spec: must be an object, got undefined'],
  // unknown keys
  ['an unknown top-level key', { layers: [dense], depth: 3 } as unknown as Arch, [[1]], null, 'depth: unknown key (allowed: format, name, description, inputScale, layers, readout, normalize, sweepStart)'],
  ['an unknown layer key', { layers: [{ type: 'dense', sigma: 1 }] } as unknown as Arch, [[1]], null, 'layers[0].sigma: unknown key (allowed: type, weightVar, biasVar, trainable)'],
  ['a key with a line break', { layers: [{ type: 'dense', 'a\nb': 1 }] } as unknown as Arch, [[1]], null, 'layers[0]["a\\nb"]: unknown key (allowed: type, weightVar, biasVar, trainable)'],
  ['an unknown preset parameter', 'arora2019:depth=2,width=10', [[1]], null, 'arora2019: unknown parameter "width" (known: depth)'],
  ['an Object.prototype name as a preset parameter', 'arora2019:depth=2,constructor=1', [[1]], null, 'arora2019: unknown parameter "constructor" (known: depth)'],
  ['__proto__ as a preset parameter', 'arora2019:__proto__=1,depth=2', [[1]], null, 'arora2019: unknown parameter "__proto__" (known: depth)'],
  // negative variances
  ['a negative bias variance', { layers: [{ type: 'dense', biasVar: -0.1 }] }, [[1]], null, 'layers[0].biasVar: must be ≥ 0 (a variance), got -0.1'],
  ['a negative weight variance', { layers: [{ type: 'dense', weightVar: -1 }] }, [[1]], null, 'layers[0].weightVar: must be > 0, got -1'],
  ['a negative preset bias variance', 'hayou2019:depth=2,sigmaB2=-1', [[1]], null, 'hayou2019: sigmaB2 must be ≥ 0, got -1'],
  ['a negative preset weight variance', 'mlp:depth=2,cw2=-2', [[1]], null, 'mlp: cw2 must be > 0, got -2'],
  // depth
  ['depth 0', 'arora2019:depth=0', [[1]], null, 'arora2019: depth must be an integer ≥ 1, got 0'],
  ['fractional depth', 'huang2020:depth=1.5,alpha=1', [[1]], null, 'huang2020: depth must be an integer ≥ 1, got 1.5'],
  ['no depth', 'arora2019', [[1]], null, 'arora2019: missing parameter "depth" (number of hidden layers / blocks L)'],
  ['a depth beyond MAX_COUNT', 'arora2019:depth=1e9', [[1]], null, `arora2019: depth must be at most ${MAX_COUNT}, got 1000000000`],
  ['a DenseNet block of depth 0', { layers: [dense, { type: 'denseBlock', depth: 0 }] }, [[1]], null, 'layers[1].depth: must be an integer ≥ 1, got 0'],
  ['a repeat count beyond MAX_COUNT', { layers: [dense, { type: 'repeat', count: 1e9, layers: [relu, dense] }] }, [[1]], null, `layers[1].count: must be at most ${MAX_COUNT}, got 1000000000`],
  // gamma
  ['gamma = Infinity', { layers: [dense, { type: 'residual', gamma: Infinity, branch: [dense] }] }, [[1]], null, 'layers[1].gamma: must be finite, got Infinity'],
  ['gamma = NaN', { layers: [dense, { type: 'residual', gamma: NaN, branch: [dense] }] }, [[1]], null, 'layers[1].gamma: must be finite, got NaN'],
  ['gamma as a string', { layers: [dense, { type: 'residual', gamma: '1' as unknown as number, branch: [dense] }] }, [[1]], null, 'layers[1].gamma: must be a number, got "1"'],
  ['preset gamma = inf', 'huang2020:depth=3,gamma=inf', [[1]], null, 'huang2020: gamma must be a finite number, got Infinity'],
  ['preset gamma = nan', 'huang2020:depth=3,gamma=nan', [[1]], null, 'huang2020: gamma must be a finite number, got NaN'],
  ['a gamma whose α overflows', 'huang2020:depth=10,gamma=-400', [[1]], null, 'layers[1].layers[0].gamma: with L = 10 residual blocks, α = alpha0·L^(−gamma) = 1·10^400 is Infinity and α² is Infinity in float64: use a smaller |gamma|'],
  ['a gamma whose α is 0·∞', 'resnet:depth=10,gamma=-400,alpha0=0', [[1]], null, 'layers[1].layers[0].gamma: with L = 10 residual blocks, α = alpha0·L^(−gamma) = 0·10^400 is NaN and α² is NaN in float64: use a smaller |gamma|'],
  ['a gamma whose α² overflows', 'huang2020:depth=10,gamma=-160', [[1]], null, 'layers[1].layers[0].gamma: with L = 10 residual blocks, α = alpha0·L^(−gamma) = 1·10^160 is 1e+160 and α² is Infinity in float64: use a smaller |gamma|'],
  ['an alpha whose square overflows', 'huang2020:depth=1,alpha=1e200', [[1]], null, 'layers[1].layers[0].alpha: must be below 1.34e154 in absolute value, so that its square is a finite float64, got 1e+200'],
  ['a beta whose square overflows', { layers: [dense, { type: 'residual', alpha: 1, beta: -1e155, branch: [dense] }] }, [[1]], null, 'layers[1].beta: must be below 1.34e154 in absolute value, so that its square is a finite float64, got -1e+155'],
];

describe('bad input to kernelCpu and kernel: an InputError with this message', () => {
  it.each(KERNEL_CASES)('%s', async (_, arch, x1, x2, message) => {
    const e = errorOf(() => kernelCpu(arch, x1, x2));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe(message);
    expect(e.message).not.toMatch(/[\n\r\u2028\u2029]/);
    // The asynchronous entry point rejects with the same error (nothing is computed first).
    const rejected = await kernel(arch, x1, x2).then(
      () => null,
      (err: unknown) => err,
    );
    expect(rejected).toBeInstanceOf(e.constructor);
    expect((rejected as Error).message).toBe(message);
  });

  it('spec problems are SpecErrors, with the path in `path`', () => {
    const e = errorOf(() => kernelCpu({ layers: [{ type: 'dense', biasVar: -0.1 }] }, [[1]]));
    expect(e).toBeInstanceOf(SpecError);
    expect((e as SpecError).path).toBe('layers[0].biasVar');
    expect((e as SpecError).problem).toBe('must be ≥ 0 (a variance), got -0.1');
  });
});

describe('specs from JSON text (resolveSpec)', () => {
  // 'text': the text itself passed where its value belongs; 'parsed': JSON.parse(text) passed.
  it.each([
    ['text that was never parsed', 'text', '{"layers": [{"type": "dense"}]}', 'spec: must be an object, got "{\\"layers\\": [{\\"type\\": \\"dense\\"}]}" (JSON text: parse it first, with JSON.parse)'],
    ['malformed text', 'text', '{"layers": [', 'spec: must be an object, got "{\\"layers\\": [" (JSON text: parse it first, with JSON.parse)'],
    ['JSON null', 'parsed', 'null', 'spec: must be an object, got null'],
    ['a JSON array', 'parsed', '[{"type": "dense"}]', 'spec: must be an object, got [{"type":"dense"}]'],
    ['layers as an object', 'parsed', '{"layers": {"type": "dense"}}', 'layers: must be an array, got {"type":"dense"}'],
    ['a number as a string', 'parsed', '{"layers": [{"type": "dense", "weightVar": "2"}]}', 'layers[0].weightVar: must be a number, got "2"'],
    ['a number beyond float64', 'parsed', '{"layers": [{"type": "dense", "weightVar": 1e400}]}', 'layers[0].weightVar: must be finite, got Infinity'],
    ['a layer type with a line break', 'parsed', '{"layers": [{"type": "den\\nse"}]}', 'layers[0].type: unknown layer type "den\\nse" (known: dense, residual, denseBlock, repeat, conv, avgPool, eq, flatten, gap, relu, arccos, leakyRelu, abRelu, erf, gelu, tanh, sigmoid, softplus, numerical)'],
    ['a long bad value is cut', 'parsed', `{"layers": [{"type": "dense", "weightVar": "${'9'.repeat(200)}"}]}`, `layers[0].weightVar: must be a number, got "${'9'.repeat(79)}…`],
  ] as const)('%s', (_, mode, text, message) => {
    const e = errorOf(() => resolveSpec(mode === 'text' ? text : JSON.parse(text)));
    expect(e).toBeInstanceOf(SpecError);
    expect(e.message).toBe(message);
  });

  it('JavaScript values JSON cannot hold are named, not crashed on', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(errorOf(() => resolveSpec({ layers: [{ type: 'dense', weightVar: 2n }] })).message).toBe('layers[0].weightVar: must be a number, got 2n');
    expect(errorOf(() => resolveSpec({ layers: [{ type: 'dense', weightVar: () => 2 }] })).message).toBe('layers[0].weightVar: must be a number, got a function');
    expect(errorOf(() => resolveSpec({ layers: [{ type: 'dense', weightVar: cyclic }] })).message).toBe('layers[0].weightVar: must be a number, got [object Object]');
    expect(errorOf(() => resolveSpec({ layers: [{ type: 'dense', weightVar: Symbol('w') }] })).message).toBe('layers[0].weightVar: must be a number, got Symbol(w)');
  });
});

describe('inputs that are not errors', () => {
  const rows = (a: Float64Array, n: number) => Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, i * n + n)));

  it('a zero input vector without bias: finite kernels, exactly zero in its row and column (README "Numerics")', () => {
    for (const arch of ['arora2019:depth=3', 'huang2020:depth=4,alpha=0.5', 'densenet:depth=3', 'mlp:depth=2,inputScale=none']) {
      const r = kernelCpu(arch, [[0, 0], [3, 4], [-1, 0.5]]);
      for (const k of [r.nngp!, r.ntk!]) {
        expect(k.every(Number.isFinite), arch).toBe(true);
        const m = rows(k, 3);
        expect(m[0], arch).toEqual([0, 0, 0]);
        expect(m.map((row) => row[0]), arch).toEqual([0, 0, 0]);
        expect(m[1]![1]!, arch).toBeGreaterThan(0);
      }
    }
    // The erf network too (odd activation), and a lone zero row.
    const erf = kernelCpu({ layers: [dense, { type: 'erf' }, dense] }, [[0, 0]]);
    expect(Array.from(erf.nngp!)).toEqual([0]);
    expect(Array.from(erf.ntk!)).toEqual([0]);
  });

  it('a zero input vector with bias: finite kernels equal to the closed form', () => {
    // jacot2018 at depth 1, β = 0.1, d = 2: Σ1 = x·z/d + β², Θ1 = Σ1; then
    // Σ2 = √(Σxx Σzz)·(sin θ + (π − θ) cos θ)/(2π) + β², Θ2 = Θ1·(π − θ)/(2π) + Σ2.
    const x = [[0, 0], [3, 4]];
    const b2 = 0.01;
    const s1 = (i: number, j: number) => (x[i]![0]! * x[j]![0]! + x[i]![1]! * x[j]![1]!) / 2 + b2;
    const expected = (i: number, j: number) => {
      const sxx = s1(i, i);
      const szz = s1(j, j);
      const c = Math.min(1, s1(i, j) / Math.sqrt(sxx * szz));
      const t = Math.acos(c);
      const nngp = (Math.sqrt(sxx * szz) * (Math.sin(t) + (Math.PI - t) * c)) / (2 * Math.PI) + b2;
      return { nngp, ntk: (s1(i, j) * (Math.PI - t)) / (2 * Math.PI) + nngp };
    };
    const r = kernelCpu('jacot2018:depth=1,beta=0.1', x);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        const e = expected(i, j);
        expect(r.nngp![i * 2 + j]).toBeCloseTo(e.nngp, 14);
        expect(r.ntk![i * 2 + j]).toBeCloseTo(e.ntk, 14);
      }
    }
    expect(r.nngp![0]).toBeCloseTo(0.015, 15);
    expect(r.ntk![0]).toBeCloseTo(0.02, 15);
  });

  it('a repeat of count 0 is allowed: the network without it', () => {
    const x = [[1, 2], [-0.5, 3]];
    const r = kernelCpu({ layers: [dense, { type: 'repeat', count: 0, layers: [relu, dense] }] }, x);
    // One trainable dense layer on the raw input: NNGP = NTK = x·z (Θ1 = weightVar·Θ0 + K1 with
    // Θ0 = 0); to rounding (the executor carries the angle as chords).
    const close = (got: Float64Array, want: number[]) => want.forEach((w, i) => expect(Math.abs(got[i]! - w)).toBeLessThanOrEqual(4e-16 * w));
    close(r.nngp!, [5, 5.5, 5.5, 9.25]);
    close(r.ntk!, [5, 5.5, 5.5, 9.25]);
  });

  it('any finite gamma gives finite kernels or an InputError that says why (never NaN or Infinity)', () => {
    const x = [[1, 0], [0.6, 0.8], [0, 0], [-3, 1e-3]];
    let finite = 0;
    let refused = 0;
    for (const depth of [1, 2, 10, 100]) {
      for (const gamma of [-1e6, -400, -160, -10, -2, -1, -0.5, 0, 0.5, 1, 2, 10, 400, 1e6]) {
        for (const preset of ['huang2020', 'belfer2021', 'resnet']) {
          const arch = `${preset}:depth=${depth},gamma=${gamma}`;
          try {
            const r = kernelCpu(arch, x);
            expect(r.nngp!.every(Number.isFinite) && r.ntk!.every(Number.isFinite), arch).toBe(true);
            finite++;
          } catch (e) {
            expect(e, arch).toBeInstanceOf(InputError);
            expect((e as Error).message, arch).toMatch(/use a smaller \|gamma\||overflows float64 at depth/);
            refused++;
          }
        }
      }
    }
    expect(finite).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(10);
  });

  it('a huge |gamma| is exact where float64 allows: α = 0 for gamma → +∞, α = alpha0 when L = 1', () => {
    const x = [[1, 0], [0.6, 0.8]];
    expect(kernelCpu('huang2020:depth=10,gamma=400', x).ntk).toEqual(kernelCpu('huang2020:depth=10,alpha=0', x).ntk);
    expect(kernelCpu('huang2020:depth=1,gamma=-400', x).ntk).toEqual(kernelCpu('huang2020:depth=1,alpha=1', x).ntk);
    expect(resolveSpec(presetSpec('huang2020', { depth: 1, gamma: -1e300 }))).toBeTruthy();
  });
});

describe('toMatrix limits', () => {
  it('MAX_MATRIX_ELEMENTS is the typed-array limit; a matrix at it is not refused for its shape', () => {
    expect(MAX_MATRIX_ELEMENTS).toBe(2 ** 32);
    // 2^32 entries claimed, none given: refused for the missing data, not for the shape.
    expect(() => toMatrix({ data: [], shape: [2 ** 16, 2 ** 16] }, 'x')).toThrow('x: 0 values do not fill shape [65536, 65536]');
  });
});
