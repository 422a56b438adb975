/**
 * The float64 reference against 60-digit values (scripts/mp-reference.py, mpmath) on the pairs
 * where rounding ρ itself would already show: near-duplicates down to 1e−6 rad, antipodes, and
 * deep networks with biases (a ρ-state reference is off by 3e−4 on the NTK of mlp:depth=10000,cb2=0.2
 * for a 1e−5 rad pair; the gap state is not), and deep constant-α ResNets on parallel inputs of norm
 * ratio 10 (the reference of the WebGPU accuracy tests there).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kernelCpu } from '../src/index.js';

interface Case {
  arch: string;
  pair: string;
  x: number[];
  z: number[];
  nngp: number;
  ntk: number;
}
const data = JSON.parse(readFileSync(new URL('./data/mp-reference.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('float64 reference against 60-digit values', () => {
  it('has cases', () => expect(data.cases.length).toBeGreaterThanOrEqual(20));
  for (const c of data.cases) {
    it(`${c.arch} on ${c.pair}`, () => {
      const r = kernelCpu(c.arch, [c.x, c.z]);
      // √a·√b: the diagonals of deep constant-α ResNets (~1e215) overflow as a product.
      const k = r.nngp![1]! / (Math.sqrt(r.nngp![0]!) * Math.sqrt(r.nngp![3]!));
      const t = r.ntk![1]! / (Math.sqrt(r.ntk![0]!) * Math.sqrt(r.ntk![3]!));
      expect(Math.abs(k - c.nngp)).toBeLessThan(1e-12);
      expect(Math.abs(t - c.ntk)).toBeLessThan(1e-12);
    });
  }
});
