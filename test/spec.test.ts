import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, kernelCpu, presetSpec, resolveSpec, SpecError, stax, toMatrix } from '../src/index.js';

const { dense, relu, residual, repeat, network, denseBlock, erf } = stax;

describe('spec validation names the problem', () => {
  const ok = { layers: [{ type: 'dense' }, { type: 'relu' }, { type: 'dense' }] };
  it.each([
    ['not an object', 42, /spec: must be an object/],
    ['no layers', {}, /layers: must be an array/],
    ['empty layers', { layers: [] }, /layers: must contain at least one layer/],
    ['unknown top-level key', { ...ok, depth: 3 }, /depth: unknown key/],
    ['unknown layer', { layers: [{ type: 'lstm' }] }, /layers\[0\]\.type: unknown layer type "lstm"/],
    ['layer without type', { layers: [{ weightVar: 1 }] }, /layers\[0\]\.type: missing layer type/],
    ['unknown layer key', { layers: [{ type: 'dense', sigma: 1 }] }, /layers\[0\]\.sigma: unknown key/],
    ['negative variance', { layers: [{ type: 'dense', biasVar: -0.1 }] }, /layers\[0\]\.biasVar: must be ≥ 0 \(a variance\), got -0.1/],
    ['zero weight variance', { layers: [{ type: 'dense', weightVar: 0 }] }, /layers\[0\]\.weightVar: must be > 0, got 0/],
    ['non-finite number', { layers: [{ type: 'dense', weightVar: Infinity }] }, /weightVar: must be finite, got Infinity/],
    ['NaN', { layers: [{ type: 'dense', biasVar: NaN }] }, /biasVar: must be finite, got NaN/],
    ['string number', { layers: [{ type: 'dense', weightVar: '2' }] }, /weightVar: must be a number, got "2"/],
    ['bad trainable', { layers: [{ type: 'dense', trainable: 1 }] }, /trainable: must be true or false/],
    ['repeat count < 0', { layers: [{ type: 'dense' }, { type: 'repeat', count: -1, layers: [{ type: 'dense' }] }] }, /layers\[1\]\.count: must be an integer ≥ 0, got -1/],
    ['repeat count missing', { layers: [{ type: 'dense' }, { type: 'repeat', layers: [{ type: 'dense' }] }] }, /layers\[1\]\.count: missing parameter/],
    ['dense block depth < 1', { layers: [{ type: 'dense' }, { type: 'denseBlock', depth: 0 }] }, /layers\[1\]\.depth: must be an integer ≥ 1, got 0/],
    ['dense block fractional depth', { layers: [{ type: 'dense' }, { type: 'denseBlock', depth: 1.5 }] }, /depth: must be an integer ≥ 1, got 1.5/],
    ['activation on the raw input', { layers: [{ type: 'relu' }, { type: 'dense' }] }, /layers\[0\]: activation "relu" needs a Gaussian input, and its input is the raw input/],
    ['two activations in a row', { layers: [{ type: 'dense' }, { type: 'relu' }, { type: 'erf' }] }, /layers\[2\]: .*output of a nonlinearity/],
    ['activation feeding itself through a repeat', { layers: [{ type: 'dense' }, { type: 'repeat', count: 2, layers: [{ type: 'relu' }] }] }, /layers\[1\]\.layers\[0\]: .*output of a nonlinearity/],
    ['arccos order 3', { layers: [{ type: 'dense' }, { type: 'arccos', order: 3 }, { type: 'dense' }] }, /layers\[1\]\.order: must be 0, 1 or 2, got 3/],
    ['leakyRelu without slope', { layers: [{ type: 'dense' }, { type: 'leakyRelu' }, { type: 'dense' }] }, /layers\[1\]\.slope: missing parameter/],
    ['residual on the raw input', { layers: [{ type: 'residual', alpha: 1, branch: [{ type: 'dense' }] }] }, /needs a hidden layer as input/],
    ['residual with alpha and gamma', { layers: [{ type: 'dense' }, { type: 'residual', alpha: 1, gamma: 1, branch: [{ type: 'dense' }] }] }, /exactly one of "alpha"/],
    ['residual without scale', { layers: [{ type: 'dense' }, { type: 'residual', branch: [{ type: 'dense' }] }] }, /exactly one of "alpha"/],
    ['residual alpha0 with alpha', { layers: [{ type: 'dense' }, { type: 'residual', alpha: 1, alpha0: 2, branch: [{ type: 'dense' }] }] }, /alpha0: "alpha0" goes with "gamma"/],
    ['residual branch ending in an activation', { layers: [{ type: 'dense' }, { type: 'residual', alpha: 1, branch: [{ type: 'dense' }, { type: 'relu' }] }] }, /branch: must end with a dense layer/],
    ['residual with empty branch', { layers: [{ type: 'dense' }, { type: 'residual', alpha: 1, branch: [] }] }, /branch: must contain at least one layer/],
    ['no dense layer at all', { layers: [{ type: 'repeat', count: 0, layers: [{ type: 'dense' }] }] }, /the network has no dense layer/],
    ['bad inputScale', { ...ok, inputScale: 'sphere' }, /inputScale: must be one of "none", "dim"/],
    ['bad normalize', { ...ok, normalize: 'max' }, /normalize: must be one of "none", "diagonal"/],
    ['bad format', { ...ok, format: 'v2' }, /format: unsupported format/],
    ['two activations across the readout', { ...ok, readout: [{ type: 'relu' }, { type: 'relu' }] }, /readout\[1\]: .*output of a nonlinearity/],
  ])('%s', (_, spec, msg) => {
    const run = () => resolveSpec(spec);
    expect(run).toThrow(SpecError);
    expect(run).toThrow(msg);
  });

  it('a branch may end in a residual block whose input came from a dense layer', () => {
    expect(() =>
      resolveSpec(network({}, dense(), residual([dense(), relu(), dense(), residual([dense()], { alpha: 1 })], { alpha: 1 }))),
    ).not.toThrow();
  });
});

describe('specs are plain JSON', () => {
  it('resolveSpec fills every default and is idempotent', () => {
    const r = resolveSpec({ layers: [{ type: 'dense' }, { type: 'relu' }, { type: 'dense', weightVar: 2 }] });
    expect(r).toEqual({
      format: 'webntk-spec/1',
      inputScale: 'none',
      layers: [
        { type: 'dense', weightVar: 1, biasVar: 0, trainable: true },
        { type: 'relu' },
        { type: 'dense', weightVar: 2, biasVar: 0, trainable: true },
      ],
      readout: [],
      normalize: 'none',
      sweepStart: 0,
    });
    expect(resolveSpec(JSON.parse(JSON.stringify(r)))).toEqual(r);
  });

  it('the stax builder writes the same JSON as the presets', () => {
    const built = network(
      { name: 'tirer2021', inputScale: 'dim', readout: [dense()] },
      dense(),
      repeat(5, residual([dense(), relu(), dense()], { alpha: 0.1 })),
    );
    expect(resolveSpec(built)).toEqual(resolveSpec(presetSpec('tirer2021')));
    const X = [[1, 2], [0.5, -1]];
    expect(kernelCpu(built, X).ntk).toEqual(kernelCpu('tirer2021', X).ntk);
  });

  it('the stax builder covers DenseNet blocks and custom activations', () => {
    const s = network({ inputScale: 'dim', readout: [dense()] }, dense(), denseBlock(3, { activation: erf(), concat: 'sum' }));
    expect(resolveSpec(s).layers[1]).toEqual({
      type: 'denseBlock',
      depth: 3,
      concat: 'sum',
      activation: { type: 'erf' },
      weightVar: 1,
      biasVar: 0,
      trainable: true,
    });
  });
});

describe('input matrices', () => {
  it.each([
    ['empty', [], /x1: has no rows/],
    ['ragged', [[1, 2], [3]], /x1: row 1 has 1 columns but row 0 has 2/],
    ['NaN', [[1, 2], [3, NaN]], /x1: entry at row 1, column 1 is NaN/],
    ['Infinity', [[Infinity, 2]], /x1: entry at row 0, column 0 is Infinity/],
    ['no columns', [[]], /x1: rows have no columns/],
    ['not a number', [[1, '2']], /x1: entry at row 0, column 1 is not a number/],
  ])('%s', (_, x, msg) => {
    expect(() => toMatrix(x as number[][], 'x1')).toThrow(InputError);
    expect(() => toMatrix(x as number[][], 'x1')).toThrow(msg);
  });

  it('accepts flat typed arrays with a shape', () => {
    const m = toMatrix({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] }, 'x');
    expect(m).toEqual({ data: new Float64Array([1, 2, 3, 4, 5, 6]), rows: 2, cols: 3 });
    expect(() => toMatrix({ data: [1, 2, 3], shape: [2, 2] }, 'x')).toThrow(/3 values do not fill shape \[2, 2\]/);
    expect(() => toMatrix({ data: [1, 2], shape: [2] }, 'x')).toThrow(/expected a 2-D matrix/);
  });

  it('mismatched dimensions and bad options are errors', () => {
    expect(() => kernelCpu('arora2019:depth=2', [[1, 2]], [[1, 2, 3]])).toThrow(/x1 has 2 features \(columns\) but x2 has 3/);
    expect(() => kernelCpu('arora2019:depth=2', [[1, 2]], [[1, 2]], { diagonal: true })).toThrow(/diagonal is defined for x1 × x1/);
    expect(() => kernelCpu('arora2019:depth=2', [[1, 2]], null, { backend: 'webgpu' })).toThrow(/kernelCpu computes on the CPU/);
    expect(() => kernelCpu('arora2019:depth=2', [[1, 2]], null, { get: 'gp' as never })).toThrow(/unknown kernel "gp"/);
  });
});

describe('the core is runtime-neutral', () => {
  it('no module outside src/node imports Node built-ins or uses Node globals', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) {
          if (f !== 'node') walk(p);
        } else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk('src');
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      expect(text, f).not.toMatch(/from ['"](node:|fs|path|os|crypto|child_process|url)['"]/);
      expect(text, f).not.toMatch(/\b(process\.|Buffer\.|__dirname|require\()/);
      expect(text, f).not.toMatch(/from ['"]\.\.?\/(\.\.\/)*node\//);
    }
  });
});

describe('a spec built in code that contains itself', () => {
  it('is refused as a cycle, naming where (not "nested more than 32 levels" after 32 paths)', () => {
    const d = { type: 'dense' };
    const rep: Record<string, unknown> = { type: 'repeat', count: 2, layers: [d] };
    (rep.layers as unknown[]).push(rep);
    expect(() => resolveSpec({ layers: [d, rep] } as never)).toThrow(/^layers\[1\]\.layers\[1\]: the spec contains a cycle/);
    const res: Record<string, unknown> = { type: 'residual', alpha: 1, branch: [d] };
    const outer = { type: 'repeat', count: 3, layers: [res] };
    (res.branch as unknown[]).push(outer);
    expect(() => resolveSpec({ layers: [d, { type: 'relu' }, outer] } as never)).toThrow(/layers\[2\]\.layers\[0\]\.branch\[1\]: the spec contains a cycle: .*ancestor 2 levels up/);
  });

  it('the same layer object used twice side by side is not a cycle', () => {
    const d = { type: 'dense' };
    const r = { type: 'relu' };
    expect(resolveSpec({ layers: [d, r, d, r, d] } as never).layers).toHaveLength(5);
  });
});
