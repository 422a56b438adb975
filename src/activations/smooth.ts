/** The gap form of an activation known only through φ and φ' (quadrature.ts). */
import type { ActOut } from './entry.js';
import { numericalMoments } from './quadrature.js';

export function smoothGap(
  phi: (u: number) => number,
  dphi: (u: number) => number,
  kxx: number,
  kzz: number,
  g: number,
  h: number,
  name: string,
  out: ActOut,
): void {
  const m = numericalMoments(phi, dphi, kxx, kzz, g, h, name);
  out.kxx = m.A;
  out.kzz = m.B;
  out.g = m.g;
  out.h = m.h;
  out.sdot = m.sdot;
}
