/**
 * The library entry points: one call for every backend. `arch` is a spec object, or a preset
 * reference string such as "huang2020:depth=50,gamma=0.75".
 */
import { InputError } from './errors.js';
import { gramCpu, type GramResult, type KernelKind } from './cpu/gram.js';
import { toMatrix, type MatrixInput } from './matrix.js';
import { compile } from './program/compile.js';
import type { KernelProgram } from './program/program.js';
import { parsePresetRef } from './spec/presets.js';
import type { ResolvedSpec, Spec } from './spec/types.js';
import { resolveSpec } from './spec/validate.js';

export type Arch = Spec | ResolvedSpec | string;
export type Backend = 'cpu';

export interface KernelOptions {
  /** Which kernels (default both). */
  get?: KernelKind | readonly KernelKind[];
  /** Only K(x_i, x_i) for the rows of x1 (x2 must be omitted). */
  diagonal?: boolean;
  /** "all": every depth of the depth sweep along a leading axis; "last" (default): the full network. */
  depths?: 'last' | 'all';
  /** Only "cpu" (float64) in this version. */
  backend?: Backend;
}

export interface KernelResult extends GramResult {
  backend: Backend;
  /** The resolved spec that was computed. */
  spec: ResolvedSpec;
}

/** Resolves an arch (preset reference or spec) to a complete, validated spec. */
export function toSpec(arch: Arch): ResolvedSpec {
  return resolveSpec(typeof arch === 'string' ? parsePresetRef(arch) : arch);
}

/** The kernel program of an arch. */
export function program(arch: Arch): KernelProgram {
  return compile(toSpec(arch));
}

function kinds(get: KernelOptions['get']): KernelKind[] {
  const list = get === undefined ? ['nngp', 'ntk'] : typeof get === 'string' ? [get] : [...get];
  for (const k of list) {
    if (k !== 'nngp' && k !== 'ntk') throw new InputError(`unknown kernel "${String(k)}" (use nngp or ntk)`);
  }
  return list as KernelKind[];
}

/** Synchronous float64 CPU computation (the reference). */
export function kernelCpu(arch: Arch, x1: MatrixInput, x2?: MatrixInput | null, options: KernelOptions = {}): KernelResult {
  if (options.backend !== undefined && options.backend !== 'cpu') {
    throw new InputError(`unknown backend "${String(options.backend)}" (available: cpu)`);
  }
  if (options.depths !== undefined && options.depths !== 'all' && options.depths !== 'last') {
    throw new InputError(`depths must be "all" or "last", got ${JSON.stringify(options.depths)}`);
  }
  const spec = toSpec(arch);
  const p = compile(spec);
  const a = toMatrix(x1, 'x1');
  const b = x2 == null ? null : toMatrix(x2, 'x2');
  const result = gramCpu(p, a, b, {
    get: kinds(options.get),
    diagonal: options.diagonal ?? false,
    allDepths: options.depths === 'all',
  });
  return { ...result, backend: 'cpu', spec };
}

/** NNGP and/or NTK Gram matrices of X1 × X2 (X1 × X1 when x2 is omitted). */
export async function kernel(
  arch: Arch,
  x1: MatrixInput,
  x2?: MatrixInput | null,
  options: KernelOptions = {},
): Promise<KernelResult> {
  return kernelCpu(arch, x1, x2, options);
}
