/**
 * A user-supplied elementwise φ with its derivative, by quadrature (neural-tangents'
 * ElementwiseNumerical): `{ type: 'numerical', name: 'swish', fn: (u) => ..., deriv: (u) => ... }`.
 * It exists only in the API: a JSON file cannot hold a function, so a spec file naming it is
 * refused with a SpecError that says so. Accuracy: see quadrature.ts (round-off level, 1e−13, for analytic
 * φ up to variance ≈ 120; non-smooth φ converge slowly). The WebGPU backend does not support it.
 */
import { SpecError } from '../errors.js';
import { jsValue } from '../jsvalue.js';
import type { ActivationEntry } from './entry.js';
import { knownKeys } from './params.js';
import { numericalDual } from './quadrature.js';
import { smoothGap } from './smooth.js';

export interface Numerical {
  type: 'numerical';
  /** A name for descriptions and error messages. */
  name: string;
  fn: (u: number) => number;
  deriv: (u: number) => number;
}

const ONLY_API = 'a "numerical" activation takes JavaScript functions, so it exists only in the API (a JSON spec file cannot hold a function)';

function fnParam(obj: Record<string, unknown>, key: 'fn' | 'deriv', path: string): (u: number) => number {
  const v = obj[key];
  if (typeof v !== 'function') throw new SpecError(`${path}.${key}`, `must be a function (u: number) => number, got ${jsValue(v)}: ${ONLY_API}`);
  const f = v as (u: number) => unknown;
  // One probe, so that a function of the wrong kind fails here rather than deep in a kernel.
  const probe = f(0.5);
  if (typeof probe !== 'number' || !Number.isFinite(probe)) {
    throw new SpecError(`${path}.${key}`, `must return a finite number, but returned ${jsValue(probe)} at u = 0.5`);
  }
  return f as (u: number) => number;
}

export const numerical: ActivationEntry<Numerical> = {
  type: 'numerical',
  resolve(obj, path) {
    knownKeys(obj, ['type', 'name', 'fn', 'deriv'], path);
    const name = obj.name;
    if (typeof name !== 'string' || name.length === 0) throw new SpecError(`${path}.name`, `must be a non-empty string, got ${jsValue(name)}`);
    return { type: 'numerical', name, fn: fnParam(obj, 'fn', path), deriv: fnParam(obj, 'deriv', path) };
  },
  describe: (a) => `${a.name} (numerical)`,
  phi: (a) => a.fn,
  dphi: (a) => a.deriv,
  dual: (a, kxx, kzz, kxz, out) => numericalDual(a.fn, a.deriv, kxx, kzz, kxz, a.name, out),
  gap: (a, kxx, kzz, g, h, out) => smoothGap(a.fn, a.deriv, kxx, kzz, g, h, a.name, out),
  homogeneous: () => false,
  wgsl: () => null,
};
