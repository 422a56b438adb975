// Dev harness for the lanes layout of the conv slab shader (src/gpu/conv.ts): runs a fixed set of
// conv specs on WebGPU and writes every Gram value (float64 bits as hex) to a JSON file, so that
// two builds can be compared bit for bit; with --time, times the headline cases (wall and process
// CPU time, the Gram alone: the pipeline is created and cached by a first call).
//   npx tsx bench/conv-lanes-dump.ts --out /tmp/a.json        (values)
//   npx tsx bench/conv-lanes-dump.ts --time [--reps 3]         (timings)
//   --layout workgroup|global: force that layout (the values of the layouts a CPU adapter does not pick)
import { writeFileSync } from 'node:fs';
import { kernel } from '../src/index.js';
import { releaseNodeWebGPU, useNodeWebGPU } from '../src/node/index.js';
import { forceConvLayoutForTests } from '../src/gpu/conv.js';
import type { Layer, Spec } from '../src/spec/types.js';

const argv = process.argv.slice(2);
const arg = (k: string): string | undefined => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : undefined;
};

function images(n: number, C: number, dims: number[], seed: number, near = true): { data: number[]; shape: number[] } {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const P = dims.reduce((a, b) => a * b, 1);
  const m = C * P;
  const rows: number[][] = [];
  for (let k = 0; k < n; k++) rows.push(Array.from({ length: m }, next));
  if (near && n >= 3) {
    const a = rows[0]!;
    const dir = Array.from({ length: m }, next);
    const na = Math.hypot(...a);
    const nd = Math.hypot(...dir);
    rows[2] = a.map((v, k) => v + (1e-4 * na * dir[k]!) / nd);
  }
  if (near && n >= 4) {
    const a = rows[0]!;
    const W = dims[dims.length - 1]!;
    rows[3] = a.map((_, k) => {
      const c = Math.floor(k / P);
      const i = k % P;
      const row = i - (i % W);
      return a[c * P + row + (((i % W) + W - 1) % W)]!;
    });
  }
  return { data: rows.flat(), shape: [n, C, ...dims] };
}

const conv = (over: Partial<Extract<Layer, { type: 'conv' }>> = {}): Layer => ({ type: 'conv', ...over });
const strided = (readout: 'eq' | 'flatten' | 'gap', padding: 'zero' | 'circular'): Spec => ({
  layers: [
    conv({ biasVar: 0.1, padding, trainable: false }),
    { type: 'relu' },
    conv({ stride: 2, weightVar: 2, biasVar: 0.2, padding }),
    { type: 'relu' },
    { type: 'repeat', count: 3, layers: [conv({ weightVar: 2, biasVar: 0.05, padding }), { type: 'relu' }] },
  ],
  readout: [{ type: readout, weightVar: 1.5, biasVar: 0.1 }],
});
const residual = (readout: 'eq' | 'flatten' | 'gap', padding: 'zero' | 'circular'): Spec => ({
  layers: [
    conv({ biasVar: 0.1, padding }),
    { type: 'relu' },
    conv({ weightVar: 2, biasVar: 0.1, padding }),
    { type: 'repeat', count: 2, layers: [{ type: 'residual', alpha: 0.7, branch: [{ type: 'erf' }, conv({ padding, weightVar: 1.5, biasVar: 0.1 })] }] },
    { type: readout, weightVar: 2 },
    { type: 'dense', weightVar: 2, biasVar: 0.1 },
  ],
});

type Case = { name: string; arch: string | Spec; x: { data: number[]; shape: number[] } };
const cases: Case[] = [];
for (const readout of ['gap', 'flatten', 'eq'] as const) {
  for (const pad of ['zero', 'circular'] as const) {
    cases.push({ name: `cntk5 ${readout} ${pad} 2-D 8x8x3`, arch: `cntk:depth=5,readout=${readout},pad=${pad}`, x: images(5, 3, [8, 8], 11) });
    cases.push({ name: `cntk4 ${readout} ${pad} 2-D 6x5x2`, arch: `cntk:depth=4,readout=${readout},pad=${pad}`, x: images(4, 2, [6, 5], 12) });
    cases.push({ name: `cntk4 ${readout} ${pad} 1-D 9x2`, arch: `cntk:depth=4,readout=${readout},pad=${pad}`, x: images(4, 2, [9], 13) });
    cases.push({ name: `rescnn6 ${readout} ${pad} 2-D 6x6x2`, arch: `rescnn:depth=6,alpha=0.7,readout=${readout},pad=${pad}`, x: images(4, 2, [6, 6], 14) });
    cases.push({ name: `strided ${readout} ${pad} 2-D 8x8x2`, arch: strided(readout, pad), x: images(4, 2, [8, 8], 15) });
    cases.push({ name: `strided ${readout} ${pad} 1-D 12x2`, arch: strided(readout, pad), x: images(4, 2, [12], 16) });
    cases.push({ name: `residual-dense ${readout} ${pad} 2-D 6x6x2`, arch: residual(readout, pad), x: images(4, 2, [6, 6], 17) });
  }
}
cases.push({
  name: 'gap stride 2 on 7 (masked slabs)',
  arch: { layers: [conv({ padding: 'zero', biasVar: 0.1 }), { type: 'relu' }, conv({ stride: 2, weightVar: 2, padding: 'zero' }), { type: 'relu' }, conv({ weightVar: 2, padding: 'zero' })], readout: [{ type: 'gap' }] },
  x: images(4, 2, [7], 18),
});
cases.push({
  name: 'avgPool then gap',
  arch: { layers: [conv({ biasVar: 0.1 }), { type: 'relu' }, { type: 'avgPool', window: 2 }, conv({ weightVar: 2 }), { type: 'relu' }], readout: [{ type: 'gap' }] },
  x: images(4, 2, [8, 8], 19),
});
cases.push({ name: 'cntk 5x5 filter', arch: { layers: [conv({ filter: 5, biasVar: 0.1 }), { type: 'relu' }, conv({ filter: 5, weightVar: 2 }), { type: 'relu' }], readout: [{ type: 'gap' }] } as Spec, x: images(4, 2, [7, 7], 20) });

useNodeWebGPU();
// --layout workgroup|global: every plan in that layout (the other layouts' code shares conv_taps_any).
if (arg('--layout')) forceConvLayoutForTests(arg('--layout') as 'workgroup' | 'global');
const hex = (v: number): string => {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, v);
  return b.getBigUint64(0).toString(16);
};
if (argv.includes('--time')) {
  const reps = Number(arg('--reps') ?? 3);
  const which = arg('--case');
  const x48 = images(48, 3, [8, 8], 12345, false);
  const x28 = images(48, 1, [28, 28], 12345, false);
  const timed: [string, string, { data: number[]; shape: number[] }][] = [
    ['gap 8x8x3 N=48', 'cntk:depth=5,readout=gap,pad=zero', x48],
    ['flatten 8x8x3 N=48', 'cntk:depth=5,readout=flatten,pad=zero', x48],
    ['flatten 28x28x1 N=48', 'cntk:depth=5,readout=flatten,pad=zero', x28],
  ];
  for (const [name, arch, x] of timed) {
    if (which && !name.startsWith(which)) continue;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await kernel(arch, { data: x.data.slice(0, 2 * x.data.length / 48), shape: [2, ...x.shape.slice(1)] }, null, { backend: 'webgpu' });
    const c1 = process.cpuUsage(c0);
    console.log(`${name}: first call (pipeline) ${((performance.now() - t0) / 1000).toFixed(2)} s wall, ${((c1.user + c1.system) / 1e6).toFixed(2)} s cpu`);
    for (let r = 0; r < reps; r++) {
      const w0 = performance.now();
      const u0 = process.cpuUsage();
      await kernel(arch, x, null, { backend: 'webgpu' });
      const u1 = process.cpuUsage(u0);
      console.log(`${name}: Gram ${((performance.now() - w0) / 1000).toFixed(2)} s wall, ${((u1.user + u1.system) / 1e6).toFixed(2)} s cpu`);
    }
  }
} else {
  const out: Record<string, { nngp: string[]; ntk: string[] }> = {};
  for (const c of cases) {
    try {
      const r = await kernel(c.arch as never, c.x, null, { backend: 'webgpu' });
      out[c.name] = { nngp: Array.from(r.nngp as Float64Array, hex), ntk: Array.from((r.ntk ?? []) as Float64Array, hex) };
    } catch (e) {
      out[c.name] = { nngp: [`error: ${(e as Error).message}`], ntk: [] };
    }
  }
  writeFileSync(arg('--out') ?? '/tmp/conv-dump.json', JSON.stringify(out, null, 0));
  console.log(`${Object.keys(out).length} cases written`);
}
await releaseNodeWebGPU();
