/**
 * Why a nonlinearity after avgPool read the near-duplicate pair's pooled correlation only to
 * 2.6e−5 … 1.0e−4 (NTK) on WebGPU while the slab states were f32: the float64 path with the
 * pool's input gaps 1 ∓ ρ perturbed by a relative ±eps/2 (a seeded stream), as f32 slab states
 * that shaders/conv_pool.wgsl reads would carry them, against the unperturbed float64 path. Perturbing
 * the off-diagonal pixel pairs (i, j ≠ i) alone reproduced the WebGPU errors; perturbing the
 * diagonal pairs alone (the near-duplicate's own gaps ~1e−8) changes nothing measurable. The
 * pooled gap 1 − ρ' of the near-duplicate (~1e−8) is as small as the absolute rounding of those
 * O(0.1–1) off-diagonal gaps, so no rearrangement of the pool's arithmetic recovers it: the states
 * before the pool need more than f32, hence shaders/ds_gaps.wgsl (double-single gaps through the
 * first layer, conv and ReLU of the segments before a pool).
 *
 *   npx tsx scripts/pool-gap-floor.ts
 *
 * Prints, per spec, eps and which pairs were perturbed: the worst normalised change of the NNGP
 * and NTK on the near-duplicate pair (images 0 and 2) and on every other pair.
 */
import { kernelCpu, type Arch } from '../src/index.js';
import { PairMachine } from '../src/cpu/spatial-pair.js';
import { convImages } from '../test/gpu/inputs.js';

type Which = 'none' | 'off' | 'diag';
let eps = 0;
let which: Which = 'none';

// Wraps the (private) pool op: perturbs the state it reads on the pairs (x, z), never the pre-pass.
const proto = PairMachine.prototype as unknown as Record<string, (this: Record<string, unknown>, op: unknown) => void>;
const pool = proto.pool!;
proto.pool = function (this: Record<string, unknown>, op: unknown): void {
  if (which !== 'none' && !this.build) {
    const s = this.s as { P: number; g: Float64Array; h: Float64Array };
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32 - 0.5;
    };
    for (let e = 0; e < s.g.length; e++) {
      const diagonal = e % (s.P + 1) === 0;
      if ((which === 'off' && diagonal) || (which === 'diag' && !diagonal)) continue;
      // The gap nearer 0 carries the relative error (the signed gap q of the slab states).
      if (s.g[e]! <= s.h[e]!) {
        s.g[e] = s.g[e]! * (1 + eps * rnd());
        s.h[e] = 2 - s.g[e]!;
      } else {
        s.h[e] = s.h[e]! * (1 + eps * rnd());
        s.g[e] = 2 - s.h[e]!;
      }
    }
  }
  pool.call(this, op);
};

const conv = (over: Record<string, unknown> = {}) => ({ type: 'conv', ...over });
const avg = (window: number, stride?: number) => ({ type: 'avgPool', window, ...(stride !== undefined ? { stride } : {}) });
const X2 = convImages(2, [6, 6], 22);
const specs: [string, Arch, ReturnType<typeof convImages>][] = [
  ['pool 3/1 eq 6×6', { layers: [conv({ biasVar: 0.1 }), { type: 'relu' }, avg(3, 1), conv({ weightVar: 2 }), { type: 'relu' }], readout: [{ type: 'eq', weightVar: 1.5, biasVar: 0.1 }] } as Arch, X2],
  ['pool 3/1 flatten 6×6', { layers: [conv({ biasVar: 0.1 }), { type: 'relu' }, avg(3, 1), conv({ weightVar: 2 }), { type: 'relu' }], readout: [{ type: 'flatten', weightVar: 1.5, biasVar: 0.1 }] } as Arch, X2],
  ['two pools flatten 8×8', { layers: [conv(), { type: 'relu' }, avg(2), conv({ weightVar: 2, trainable: false }), { type: 'relu' }, avg(2, 1), conv({ weightVar: 2 }), { type: 'relu' }], readout: [{ type: 'flatten' }] } as Arch, convImages(1, [8, 8], 33)],
  ['pool then a depth-3 sweep, eq, dense tail', { layers: [conv(), { type: 'relu' }, avg(2), { type: 'repeat', count: 3, layers: [conv({ weightVar: 2 }), { type: 'relu' }] }, { type: 'eq' }, { type: 'relu' }, { type: 'dense', weightVar: 2 }] } as Arch, X2],
];

const near = (i: number, j: number) => (i === 0 && j === 2) || (i === 2 && j === 0);
function worst(a: Float64Array, b: Float64Array, taps: number, keep: (i: number, j: number) => boolean): number {
  let e = 0;
  for (let t = 0; t < taps; t++) {
    const o = t * 16;
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        if (!keep(i, j)) continue;
        const s = Math.sqrt(a[o + i * 5]!) * Math.sqrt(a[o + j * 5]!);
        e = Math.max(e, Math.abs(a[o + i * 4 + j]! - b[o + i * 4 + j]!) / s);
      }
    }
  }
  return e;
}

for (const [name, arch, X] of specs) {
  which = 'none';
  const ref = kernelCpu(arch, X, null, { depths: 'all' });
  const taps = ref.depths.length;
  console.log(name);
  for (const [w, e] of [['off', 6e-8], ['off', 1.2e-7], ['off', 6e-7], ['off', 1.2e-6], ['diag', 1.2e-6]] as [Which, number][]) {
    which = w;
    eps = e;
    const p = kernelCpu(arch, X, null, { depths: 'all' });
    const f = (v: number) => v.toExponential(1);
    console.log(
      `  ${w === 'off' ? 'off-diagonal' : 'diagonal'} pairs ±${f(e / 2)}: near-duplicate NNGP ${f(worst(ref.nngp!, p.nngp!, taps, near))}, NTK ${f(worst(ref.ntk!, p.ntk!, taps, near))};` +
        ` other pairs NNGP ${f(worst(ref.nngp!, p.nngp!, taps, (i, j) => !near(i, j)))}, NTK ${f(worst(ref.ntk!, p.ntk!, taps, (i, j) => !near(i, j)))}`,
    );
  }
}
