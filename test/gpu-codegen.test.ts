/**
 * The WebGPU backend's host side, without a device: one schema per GPU struct (WGSL text and
 * packing), generated sources that hold structure only (the numbers in the coefficient words),
 * the bounded pipeline cache, and the refusal of activations the shaders do not carry.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { checkGpuActivations, isPowerOfTwo, recursionShader } from '../src/gpu/codegen.js';
import { BANK, BANK_WORDS, CHORD_PARAMS, packStruct, RECURSION_PARAMS, wgslStruct } from '../src/gpu/layout.js';
import { PIPELINE_CACHE_SIZE, pipelineFor, pipelineStats } from '../src/gpu/pipelines.js';
import { compile } from '../src/program/compile.js';
import type { KernelProgram } from '../src/program/program.js';
import { parsePresetRef } from '../src/spec/presets.js';
import type { Activation } from '../src/spec/types.js';

const f32 = (x: number) => Math.fround(x);

function coefFloats(c: Uint32Array): Float32Array {
  return new Float32Array(c.buffer, c.byteOffset, c.length);
}

describe('layouts written once', () => {
  it('the WGSL struct lists the schema fields in order, and the packing puts each at 4·index', () => {
    const text = wgslStruct(RECURSION_PARAMS);
    const names = [...text.matchAll(/^ {2}(\w+): (\w+),/gm)].map((m) => `${m[1]}:${m[2]}`);
    expect(names).toEqual(['pairCount:u32', 'cols:u32', 'rowsA:u32', 'iterStart:u32', 'iterEnd:u32', 'flags:u32', 'diagonal:u32', 'tapBase:u32', 'one:f32']);
    const buf = packStruct(RECURSION_PARAMS, { pairCount: 7, cols: 3, rowsA: 2, iterStart: 4, iterEnd: 9, flags: 13, diagonal: 1, tapBase: 5, one: 1 });
    // 9 words padded to the uniform struct size of 48 bytes; 1.0f is 0x3f800000.
    expect(buf.byteLength).toBe(48);
    expect([...new Uint32Array(buf)]).toEqual([7, 3, 2, 4, 9, 13, 1, 5, 0x3f800000, 0, 0, 0]);
    expect([...new Uint32Array(packStruct(CHORD_PARAMS, { rowsA: 3, rowsB: 5, vec4sPerRow: 2, diagonal: 1, tilesB: 1 }))]).toEqual([3, 5, 2, 1, 1, 0, 0, 0]);
  });

  it('the Bank struct, its word count and its load/store in the generated source come from one table', () => {
    expect(BANK_WORDS).toBe(BANK.fields.length);
    const code = recursionShader(compile(parsePresetRef('resnet:depth=2,alpha=1'))).code;
    expect(code).toContain(wgslStruct(BANK));
    expect(code.match(/struct Bank \{/g)).toHaveLength(1);
    for (const [k, f] of BANK.fields.entries()) expect(code).toContain(`state[o + ${k}u] = bitcast<u32>(v.${f.name});`);
  });
});

describe('generated sources hold structure only', () => {
  const alphas = Array.from({ length: 50 }, (_, k) => 0.1 + (k * 4.9) / 49);

  it('50 values of α in resnet give one source; α² is in the coefficients', () => {
    const shaders = alphas.map((a) => recursionShader(compile(parsePresetRef(`resnet:depth=6,alpha=${a}`))));
    expect(new Set(shaders.map((s) => s.code)).size).toBe(1);
    shaders.forEach((s, k) => expect([...coefFloats(s.coefs)]).toContain(f32(alphas[k]! ** 2)));
    // No number of the network is a literal of the source: every op reads its coefficients.
    expect(shaders[0]!.code.slice(shaders[0]!.code.indexOf('fn main('))).not.toMatch(/f32\(\d/);
  });

  it('depth, weight variances and biases change the coefficients, not the source', () => {
    const base = recursionShader(compile(parsePresetRef('hayou2019:depth=3,sigmaB2=0.1')));
    // The depth is the sweep's iteration count, a dispatch parameter: not even the coefficients change.
    const deeper = recursionShader(compile(parsePresetRef('hayou2019:depth=40,sigmaB2=0.1')));
    expect(deeper.code).toBe(base.code);
    expect([...deeper.coefs]).toEqual([...base.coefs]);
    const other = recursionShader(compile(parsePresetRef('hayou2019:depth=7,sigmaW2=1.5,sigmaB2=0.3')));
    expect(other.code).toBe(base.code);
    expect([...coefFloats(other.coefs)]).toContain(1.5);
    expect([...coefFloats(other.coefs)]).toContain(f32(0.3));
    // Whether a layer has a bias at all is structure (the compiler drops the bias terms without one).
    expect(recursionShader(compile(parsePresetRef('hayou2019:depth=3'))).code).not.toBe(base.code);
  });

  it('a power-of-two coefficient sets its exactness word, with the same source', () => {
    // α = 0.5 → α² = 1/4 (exact); α = 0.6 → 0.36 (not).
    const a = recursionShader(compile(parsePresetRef('resnet:depth=2,alpha=0.5')));
    const b = recursionShader(compile(parsePresetRef('resnet:depth=2,alpha=0.6')));
    expect(a.code).toBe(b.code);
    const m = /op_mix\(bk1, cur, cd\((\d+)u\), cd\((\d+)u\), \(cu\((\d+)u\) != 0u\), \(cu\((\d+)u\) != 0u\)\)/.exec(a.code);
    expect(m).not.toBeNull();
    const [skip, branch, skipExact, branchExact] = m!.slice(1).map(Number) as [number, number, number, number];
    expect(coefFloats(a.coefs)[skip]).toBe(1);
    expect(coefFloats(a.coefs)[branch]).toBe(0.25);
    expect([a.coefs[skipExact], a.coefs[branchExact]]).toEqual([1, 1]);
    expect(coefFloats(b.coefs)[branch]).toBe(f32(0.36));
    // Coefficients are double-single pairs (hi, lo): α² = 0.36 to ~2^−48, 1/4 with lo = 0.
    expect(coefFloats(b.coefs)[branch + 1]).toBe(f32(0.36 - f32(0.36)));
    expect(coefFloats(b.coefs)[branch + 1]).not.toBe(0);
    expect(coefFloats(a.coefs)[branch + 1]).toBe(0);
    expect([b.coefs[skipExact], b.coefs[branchExact]]).toEqual([1, 0]);
    expect(isPowerOfTwo(0.25) && !isPowerOfTwo(0.36)).toBe(true);
  });

  it('per-iteration coefficients (densenet) sit after the scalars, at an offset held in a coefficient', () => {
    const p = compile(parsePresetRef('densenet:depth=5'));
    const s = recursionShader(p);
    const m = /cd\(cu\((\d+)u\) \+ 2u \* it\)/.exec(s.code);
    expect(m).not.toBeNull();
    const offset = s.coefs[Number(m![1])]!;
    const loads = p.sweep!.body.filter((o) => o.op === 'load' && typeof o.scale !== 'number');
    expect(loads.length).toBeGreaterThan(0);
    const table = (loads[0] as { scale: Float64Array }).scale;
    // (hi, lo) pairs, entry by entry.
    const pairs = coefFloats(s.coefs).subarray(offset, offset + 2 * table.length);
    expect([...pairs].filter((_, k) => k % 2 === 0)).toEqual([...table].map(f32));
    expect([...pairs].filter((_, k) => k % 2 === 1)).toEqual([...table].map((v) => f32(v - f32(v))));
    // Another depth: the same source, a longer table.
    expect(recursionShader(compile(parsePresetRef('densenet:depth=9'))).code).toBe(s.code);
  });
});

describe('activations the WebGPU backend does not carry', () => {
  it('are refused with an InputError naming them, before any GPU work', () => {
    const p = compile(parsePresetRef('resnet:depth=2,alpha=1'));
    // Every built-in has WGSL now; a numerical activation without its `wgsl` expressions has not.
    const swish = { type: 'numerical', name: 'swish', fn: (u: number) => u, deriv: () => 1 } as unknown as Activation;
    const bad: KernelProgram = { ...p, suffix: [...p.suffix, { op: 'act', act: swish }] };
    expect(() => checkGpuActivations(bad)).toThrow(InputError);
    expect(() => checkGpuActivations(bad)).toThrow(/the WebGPU backend needs the numerical activation "swish" in WGSL too: add wgsl: .* or use backend "cpu"/);
    expect(() => checkGpuActivations(p)).not.toThrow();
  });
});

describe('the pipeline cache', () => {
  /** A device that compiles instantly (or fails for sources containing "bad"). */
  function fakeDevice() {
    return {
      createShaderModule: (d: { code: string }) => ({ code: d.code }),
      createComputePipelineAsync: (d: { compute: { module: { code: string } } }) =>
        d.compute.module.code.includes('bad') ? Promise.reject(new Error('compilation failed')) : Promise.resolve({ code: d.compute.module.code }),
    } as unknown as GPUDevice;
  }

  it(`holds at most ${PIPELINE_CACHE_SIZE} pipelines per device, dropping the least recently used`, async () => {
    const dev = fakeDevice();
    const n = PIPELINE_CACHE_SIZE + 8;
    for (let k = 0; k < n; k++) await pipelineFor(dev, `src ${k}`, 'test');
    expect(pipelineStats(dev)).toEqual({ cached: PIPELINE_CACHE_SIZE, compiled: n });
    // The newest is a hit; touching the oldest survivor keeps it over the next insertion.
    await pipelineFor(dev, `src ${n - 1}`, 'test');
    await pipelineFor(dev, 'src 8', 'test');
    expect(pipelineStats(dev).compiled).toBe(n);
    await pipelineFor(dev, 'src new', 'test');
    await pipelineFor(dev, 'src 8', 'test');
    expect(pipelineStats(dev).compiled).toBe(n + 1);
    // src 9 was the least recently used: dropped, so compiled again.
    await pipelineFor(dev, 'src 9', 'test');
    expect(pipelineStats(dev).compiled).toBe(n + 2);
  });

  it('shares one compilation between concurrent requests, and does not keep a failed one', async () => {
    const dev = fakeDevice();
    const [a, b] = await Promise.all([pipelineFor(dev, 'same', 'test'), pipelineFor(dev, 'same', 'test')]);
    expect(a).toBe(b);
    expect(pipelineStats(dev).compiled).toBe(1);
    await expect(pipelineFor(dev, 'bad', 'test')).rejects.toThrow(/compilation failed/);
    await expect(pipelineFor(dev, 'bad', 'test')).rejects.toThrow(/compilation failed/);
    expect(pipelineStats(dev)).toEqual({ cached: 1, compiled: 3 });
  });
});
