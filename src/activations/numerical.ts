/**
 * A user-supplied elementwise φ with its derivative, by quadrature (neural-tangents'
 * ElementwiseNumerical): `{ type: 'numerical', name: 'swish', fn: (u) => ..., deriv: (u) => ... }`.
 * It exists only in the API: a JSON file cannot hold a function, so a spec file naming it is
 * refused with a SpecError that says so. Accuracy: see quadrature.ts (round-off level, 1e−13, for analytic
 * φ up to variance ≈ 120; non-smooth φ converge slowly).
 *
 * On WebGPU it needs φ and φ' once more, as WGSL expressions of the f32 variable `u`:
 * `wgsl: { fn: 'u / (1.0 + exp(-u))', deriv: '...' }`, evaluated by the same quadrature in f32
 * (shaders/smooth_quadrature.wgsl). The text is structure (part of the pipeline's source); each
 * expression is compiled on its own before the pipeline (so it may use WGSL built-ins only), and a
 * compile error is an InputError naming the activation. Without `wgsl` the WebGPU backend refuses it.
 * `smooth: true` says that φ is C¹ (default false: a user's φ is not assumed smooth), which
 * `analyze dynamics` needs before it measures an initial rate dΘ/dt|₀.
 */
import { InputError, SpecError } from '../errors.js';
import { jsValue } from '../jsvalue.js';
import type { ActivationEntry } from './entry.js';
import { knownKeys } from './params.js';
import { numericalDual } from './quadrature.js';
import { smoothGap } from './smooth.js';
import { smoothQuadratureWgsl } from './wgsl-smooth.js';

export interface Numerical {
  type: 'numerical';
  /** A name for descriptions and error messages. */
  name: string;
  fn: (u: number) => number;
  deriv: (u: number) => number;
  /** φ and φ' as WGSL expressions in the f32 variable `u`, for the WebGPU backend. */
  wgsl?: { fn: string; deriv: string };
  /**
   * Whether φ is C¹ (φ' continuous), so that a trained network's dΘ/dt exists (`analyze dynamics`
   * measures its initial rate only then). The user's word: default false (not known smooth).
   */
  smooth?: boolean;
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

/** One WGSL expression: a non-empty string without `;`, braces or comments (it goes into `return …;`). */
function wgslParam(obj: Record<string, unknown>, path: string): { fn: string; deriv: string } | undefined {
  const v = obj.wgsl;
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new SpecError(`${path}.wgsl`, `must be an object { fn, deriv } of WGSL expressions in u, got ${jsValue(v)}`);
  }
  const w = v as Record<string, unknown>;
  knownKeys(w, ['fn', 'deriv'], `${path}.wgsl`);
  const expr = (key: 'fn' | 'deriv') => {
    const e = w[key];
    if (typeof e !== 'string' || e.trim().length === 0) {
      throw new SpecError(`${path}.wgsl.${key}`, `must be a WGSL expression in the f32 variable u (e.g. "u / (1.0 + exp(-u))"), got ${jsValue(e)}`);
    }
    if (/[;{}]|\/\/|\/\*/.test(e)) throw new SpecError(`${path}.wgsl.${key}`, `must be one WGSL expression (no ";", braces or comments), got ${jsValue(e)}`);
    return e.trim();
  };
  return { fn: expr('fn'), deriv: expr('deriv') };
}

/** A WGSL identifier for the expressions (FNV-1a of their text): equal expressions share one function. */
function wgslName(w: { fn: string; deriv: string }): string {
  let h = 0x811c9dc5;
  const text = `${w.fn}\u0000${w.deriv}`;
  for (let k = 0; k < text.length; k++) h = Math.imul(h ^ text.charCodeAt(k), 0x01000193) >>> 0;
  return `num_${h.toString(16).padStart(8, '0')}`;
}

const fnOf = (name: string, expr: string) => `fn ${name}(u: f32) -> f32 {\n  return ${expr};\n}\n`;

/** Each expression compiled on its own first, so that a mistake in it is an InputError naming it. */
function wgslChecks(name: string, w: { fn: string; deriv: string }): { what: string; code: string }[] {
  const what = (key: string) => `numerical activation "${name}": wgsl.${key}`;
  return [
    { what: what('fn'), code: fnOf('phi', w.fn) },
    { what: what('deriv'), code: fnOf('dphi', w.deriv) },
  ];
}

export const numerical: ActivationEntry<Numerical> = {
  type: 'numerical',
  resolve(obj, path) {
    knownKeys(obj, ['type', 'name', 'fn', 'deriv', 'wgsl', 'smooth'], path);
    const name = obj.name;
    if (typeof name !== 'string' || name.length === 0) throw new SpecError(`${path}.name`, `must be a non-empty string, got ${jsValue(name)}`);
    const out: Numerical = { type: 'numerical', name, fn: fnParam(obj, 'fn', path), deriv: fnParam(obj, 'deriv', path) };
    const wgsl = wgslParam(obj, path);
    if (wgsl) out.wgsl = wgsl;
    if (obj.smooth !== undefined) {
      if (typeof obj.smooth !== 'boolean') throw new SpecError(`${path}.smooth`, `must be true or false (whether φ is C¹), got ${jsValue(obj.smooth)}`);
      out.smooth = obj.smooth;
    }
    return out;
  },
  describe: (a) => `${a.name} (numerical)`,
  phi: (a) => a.fn,
  dphi: (a) => a.deriv,
  dual: (a, kxx, kzz, kxz, out) => numericalDual(a.fn, a.deriv, kxx, kzz, kxz, a.name, out),
  gap: (a, kxx, kzz, g, h, out) => smoothGap(a.fn, a.deriv, kxx, kzz, g, h, a.name, out),
  homogeneous: () => false,
  // The user's word (`smooth: true` in the layer); a user-defined φ is not assumed C¹.
  smooth: (a) => a.smooth === true,
  // The same WGSL φ and φ' for sampled networks on WebGPU (null without `wgsl`: refused there).
  pointwiseWgsl(a) {
    if (!a.wgsl) return null;
    const id = wgslName(a.wgsl);
    return {
      phi: `${id}_phi(u)`,
      dphi: `${id}_dphi(u)`,
      source: [fnOf(`${id}_phi`, a.wgsl.fn) + fnOf(`${id}_dphi`, a.wgsl.deriv)],
      check: wgslChecks(a.name, a.wgsl),
    };
  },
  wgsl(a) {
    if (!a.wgsl) {
      throw new InputError(
        `the WebGPU backend needs the numerical activation "${a.name}" in WGSL too: add wgsl: { fn: '<φ(u)>', deriv: '<φ′(u)>' } ` +
          `to its layer (WGSL expressions of the f32 variable u, e.g. fn: 'u / (1.0 + exp(-u))'), or use backend "cpu"`,
      );
    }
    const id = wgslName(a.wgsl);
    return {
      fn: `op_${id}`,
      params: [],
      source: [fnOf(`${id}_phi`, a.wgsl.fn) + fnOf(`${id}_dphi`, a.wgsl.deriv), smoothQuadratureWgsl(id)],
      check: wgslChecks(a.name, a.wgsl),
    };
  },
};
