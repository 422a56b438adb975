/**
 * The one list of activations. Each is one entry (its own file, shape in entry.ts); adding one is
 * that file plus one line in BUILTIN below, or, at run time, `registerActivation(entry)`. The engine
 * reaches activations only through the functions here, never by switching on their type names.
 */
import { InputError, SpecError } from '../errors.js';
import { jsValue } from '../jsvalue.js';
import { abRelu } from './ab-relu.js';
import { arccos } from './arccos.js';
import type { ActivationEntry, ActOut, WgslCall, WgslPointwise } from './entry.js';
import { erf } from './erf.js';
import { gelu } from './gelu.js';
import { leakyRelu } from './leaky-relu.js';
import { numerical } from './numerical.js';
import { relu } from './relu.js';
import { sigmoid } from './sigmoid.js';
import { softplus } from './softplus.js';
import { tanh } from './tanh.js';

const BUILTIN = [relu, arccos, leakyRelu, abRelu, erf, gelu, tanh, sigmoid, softplus, numerical] as const;

type ResolvedOf<E> = E extends ActivationEntry<infer A> ? A : never;

/** A built-in activation layer, resolved (the union of every entry's layer object). */
export type Activation = ResolvedOf<(typeof BUILTIN)[number]>;
export type ActivationType = Activation['type'];

/** An activation layer of any registered entry (built-in ones are `Activation`s). */
export interface AnyActivation {
  type: string;
}

/**
 * Layer types of the spec that are not activations; an activation cannot take their names (the
 * validator would never reach it).
 */
const RESERVED = ['dense', 'residual', 'denseBlock', 'repeat', 'conv', 'avgPool', 'eq', 'flatten', 'gap'];

const entries = new Map<string, ActivationEntry>();

/** The JSON type names of every registered activation, in registration order (kept up to date). */
export const ACTIVATION_TYPES: readonly string[] = [];

function add(entry: ActivationEntry): void {
  (ACTIVATION_TYPES as string[]).push(entry.type);
  entries.set(entry.type, entry);
}

for (const e of BUILTIN) add(e as unknown as ActivationEntry);

/**
 * Adds an activation at run time (for the API; JSON specs may then name its type). Its layers are
 * `{ type, ...parameters }` objects that the static `Layer` type does not know: pass such specs as
 * plain objects (e.g. `as unknown as Spec`). The type name must be new.
 */
export function registerActivation<A extends { type: string }>(entry: ActivationEntry<A>): void {
  const type: unknown = entry?.type;
  if (typeof type !== 'string' || !/^[A-Za-z][\w]*$/.test(type)) {
    throw new InputError(`registerActivation: the type name must be a word (letters, digits, _), got ${jsValue(type)}`);
  }
  if (entries.has(type) || RESERVED.includes(type)) {
    throw new InputError(`registerActivation: "${type}" is already a layer type`);
  }
  for (const m of ['resolve', 'describe', 'phi', 'dphi', 'dual', 'gap', 'homogeneous', 'wgsl'] as const) {
    if (typeof entry[m] !== 'function') throw new InputError(`registerActivation: "${type}" has no function ${m}`);
  }
  // Optional (absent: not known smooth), but a function where given.
  if (entry.smooth !== undefined && typeof entry.smooth !== 'function') throw new InputError(`registerActivation: "${type}"'s smooth must be a function (a) => boolean`);
  add(entry as unknown as ActivationEntry);
}

/** Whether an activation type is built in (a worker thread knows it without a registration). */
export function isBuiltinActivation(type: string): boolean {
  return BUILTIN.some((e) => e.type === type);
}

export function isActivation(layer: { type: string }): layer is Activation {
  return entries.has(layer.type);
}

/** The entry of a resolved activation layer. */
export function activationEntry(a: AnyActivation): ActivationEntry {
  const e = entries.get(a.type);
  if (!e) throw new InputError(`unknown activation ${jsValue(a.type)} (known: ${ACTIVATION_TYPES.join(', ')})`);
  return e;
}

/** Validates an activation layer object (any JSON value's fields) and fills in its defaults. */
export function resolveActivation(obj: Record<string, unknown>, path: string): Activation {
  const e = entries.get(typeof obj.type === 'string' ? obj.type : '');
  if (!e) throw new SpecError(`${path}.type`, `unknown activation ${jsValue(obj.type)} (known: ${ACTIVATION_TYPES.join(', ')})`);
  return e.resolve(obj, path) as Activation;
}

/** [S, Ṡ] = [E[φ(u)φ(v)], E[φ'(u)φ'(v)]] into `out` (plain ρ form). */
export function dual(a: AnyActivation, kxx: number, kzz: number, kxz: number, out: Float64Array): void {
  activationEntry(a).dual(a, kxx, kzz, kxz, out);
}

/** The nonlinearity on a pair in the gap form (see entry.ts). */
export function actGap(a: AnyActivation, kxx: number, kzz: number, g: number, h: number, out: ActOut): void {
  activationEntry(a).gap(a, kxx, kzz, g, h, out);
}

/** φ and φ' (for sampled networks). */
export function pointwise(a: AnyActivation): [(u: number) => number, (u: number) => number] {
  const e = activationEntry(a);
  return [e.phi(a), e.dphi(a)];
}

/** Whether φ is positively homogeneous of degree 1 (the interpreter materialises before the others). */
export function isHomogeneous(a: AnyActivation): boolean {
  return activationEntry(a).homogeneous(a);
}

/**
 * Whether φ is C¹ (the entry's `smooth`; false where the entry does not say): then dΘ/dt exists
 * for trained networks (`analyze dynamics` measures initial rates only for such activations).
 */
export function isSmooth(a: AnyActivation): boolean {
  return activationEntry(a).smooth?.(a) === true;
}

export function describeActivation(a: AnyActivation): string {
  return activationEntry(a).describe(a);
}

/**
 * The WGSL call of an activation; an InputError naming it where the WebGPU backend does not
 * support it yet (never a silent fallback). gpu/codegen.ts emits `fn(cur, ...params)` from it, the
 * parameters through the coefficient buffer.
 */
export function wgslCall(a: AnyActivation): WgslCall {
  const call = activationEntry(a).wgsl(a);
  if (!call) {
    throw new InputError(`the WebGPU backend does not support the ${describeActivation(a)} activation yet; use backend "cpu"`);
  }
  return call;
}

/** φ and φ' of an activation in WGSL (sampled networks on WebGPU); an InputError naming it where not written. */
export function wgslPointwise(a: AnyActivation): WgslPointwise {
  const e = activationEntry(a);
  const w = e.pointwiseWgsl?.(a);
  if (!w) throw new InputError(`empirical kernels on WebGPU do not support the ${describeActivation(a)} activation yet (no WGSL φ and φ'); use backend "cpu"`);
  return w;
}

export type { ActivationEntry, ActOut, WgslCall, WgslPointwise } from './entry.js';
