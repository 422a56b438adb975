/**
 * The engine (kernelCpu) against the independent ρ-form reference (reference-interpreter.ts) on one
 * spec: every depth of the sweep, NNGP and NTK, with the error measure the reference tests share.
 */
import { expect } from 'vitest';
import { kernelCpu } from '../src/api.js';
import type { Spec } from '../src/spec/types.js';
import { referenceKernels, type RefResult } from './reference-interpreter.js';

/** Diagonal K(x_i, x_i) of each depth, from the reference. */
function diagonals(spec: Spec, rows: number[][]): { nngp: number[][]; ntk: number[][] } {
  const r = referenceKernels(spec, rows);
  const pick = (m: Float64Array[]) => m.map((a) => rows.map((_, i) => a[i * rows.length + i]!));
  return { nngp: pick(r.nngp), ntk: pick(r.ntk) };
}

/**
 * Worst error of the engine against the reference over every depth and entry, relative to
 * max(|reference|, 1e−2·√(K(x,x)K(z,z))).
 */
export function compare(spec: Spec, x1: number[][], x2?: number[][], minGap = 1e-3): { nngp: number; ntk: number; ref: RefResult } {
  const ref = referenceKernels(spec, x1, x2);
  const eng = kernelCpu(spec, x1, x2 ?? null, { depths: 'all' });
  expect(eng.depths).toEqual(ref.depths);
  expect(ref.minGap, 'some correlation came near ±1: the plain ρ form is not a 1e−12 reference there').toBeGreaterThan(minGap);
  const d1 = diagonals(spec, x1);
  const d2 = x2 ? diagonals(spec, x2) : d1;
  const n1 = x1.length;
  const n2 = (x2 ?? x1).length;
  const worst = { nngp: 0, ntk: 0 };
  for (let t = 0; t < ref.depths.length; t++) {
    for (const kind of ['nngp', 'ntk'] as const) {
      const e = eng[kind]!;
      for (let i = 0; i < n1; i++) {
        for (let j = 0; j < n2; j++) {
          const r = ref[kind][t]![i * n2 + j]!;
          const v = e[t * n1 * n2 + i * n2 + j]!;
          expect(Number.isFinite(v), `${kind} depth ${ref.depths[t]} [${i},${j}] is ${v}`).toBe(true);
          const scale = Math.sqrt(Math.abs(d1[kind][t]![i]! * d2[kind][t]![j]!));
          // Both zero (an NTK with nothing trained yet) is agreement, not 0/0.
          const err = v === r ? 0 : Math.abs(v - r) / Math.max(Math.abs(r), 1e-2 * scale);
          worst[kind] = Math.max(worst[kind], err);
        }
      }
    }
  }
  return { ...worst, ref };
}

