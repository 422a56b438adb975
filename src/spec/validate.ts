/**
 * Checks an architecture spec (any JSON value) and returns it with every default filled in.
 * Errors name the offending path and the problem. Beyond types and ranges it checks the one
 * structural rule of infinite-width kernels: a nonlinearity must read a Gaussian representation
 * (the output of a dense layer, or a residual sum of such), as in neural-tangents' stax.
 */
import { SpecError } from '../errors.js';
import { jsValue } from '../jsvalue.js';
import {
  ACTIVATION_TYPES,
  type ResolvedLayer,
  type ResolvedSpec,
} from './types.js';
import { resolveActivation } from '../activations/registry.js';

/** What kind of representation flows between layers, for the structural checks. */
type Rep = 'input' | 'gaussian' | 'nongaussian';

/**
 * Largest repeat count and DenseNet depth. Depths are iterated (and a depth sweep keeps one result
 * per depth), so a count must stay within what memory and time allow; without a bound, a count of
 * 1e9 made the compiler allocate its list of depths until the process ran out of memory.
 */
export const MAX_COUNT = 10_000_000;

/**
 * Deepest nesting of layers (repeats and residual branches inside one another). The validator and
 * the compiler recurse, so without a bound a deeply nested JSON file overflowed the call stack.
 */
export const MAX_NESTING = 32;

const SPEC_KEYS = [
  'format',
  'name',
  'description',
  'inputScale',
  'layers',
  'readout',
  'normalize',
  'sweepStart',
];

export function resolveSpec(value: unknown): ResolvedSpec {
  const obj = record(value, 'spec');
  knownKeys(obj, SPEC_KEYS, '');
  if (obj.format !== undefined && obj.format !== 'webntk-spec/1') {
    throw new SpecError('format', `unsupported format ${show(obj.format)} (expected "webntk-spec/1")`);
  }
  const name = optString(obj, 'name', '');
  const description = optString(obj, 'description', '');
  const inputScale = oneOf(obj, 'inputScale', ['none', 'dim'] as const, 'none', '');
  const normalize = oneOf(obj, 'normalize', ['none', 'diagonal'] as const, 'none', '');
  const sweepStart = obj.sweepStart === undefined ? 0 : integer(obj.sweepStart, 'sweepStart', 0);
  const layersIn = array(obj.layers, 'layers');
  if (layersIn.length === 0) throw new SpecError('layers', 'must contain at least one layer');
  const layers: ResolvedLayer[] = [];
  let rep: Rep = 'input';
  layersIn.forEach((l, i) => {
    const r = resolveLayer(l, `layers[${i}]`, rep);
    layers.push(r.layer);
    rep = r.rep;
  });
  const readout: ResolvedLayer[] = [];
  if (obj.readout !== undefined) {
    array(obj.readout, 'readout').forEach((l, i) => {
      const r = resolveLayer(l, `readout[${i}]`, rep);
      readout.push(r.layer);
      rep = r.rep;
    });
  }
  if (!containsDense(layers)) {
    throw new SpecError('layers', 'the network has no dense layer (add at least one "dense")');
  }
  const blocks = residualBlocks([...layers, ...readout]);
  checkGains(layers, 'layers', blocks);
  checkGains(readout, 'readout', blocks);
  const spec: ResolvedSpec = {
    format: 'webntk-spec/1',
    ...(name !== undefined ? { name } : {}),
    ...(description !== undefined ? { description } : {}),
    inputScale,
    layers,
    readout,
    normalize,
    sweepStart,
  };
  return spec;
}

/**
 * Whether the output of `layers` is "fresh": zero-mean and independent of the block input at
 * infinite width, i.e. last produced by dense weights (a residual sum keeps whatever its input was).
 * A residual branch must be fresh for the skip/branch cross terms to vanish.
 */
function freshOutput(layers: ResolvedLayer[], inputFresh: boolean): boolean {
  let fresh = inputFresh;
  for (const l of layers) {
    if (l.type === 'dense' || l.type === 'denseBlock') fresh = true;
    else if (l.type === 'repeat') {
      // The body maps a boolean to a boolean, so its iterates settle after two applications.
      for (let i = 0; i < Math.min(l.count, 3); i++) fresh = freshOutput(l.layers, fresh);
    } else if (l.type !== 'residual') fresh = false;
  }
  return fresh;
}

/** Number of residual blocks, repeats multiplied out: the L of α = alpha0·L^(−gamma) (as in compile.ts). */
function residualBlocks(layers: ResolvedLayer[]): number {
  let n = 0;
  for (const l of layers) {
    if (l.type === 'residual') n += 1 + residualBlocks(l.branch);
    else if (l.type === 'repeat') n += l.count * residualBlocks(l.layers);
  }
  return n;
}

/**
 * The kernels take the squares of a residual block's gains, β² and α²: they must be finite. With
 * gamma, α = alpha0·L^(−gamma) depends on the whole network's L, so a large |gamma| can overflow
 * float64 (or give 0·∞ = NaN): without this check that surfaced as the kernel "overflowing" to
 * Infinity or NaN at run time. Blocks in a repeat of count 0 are never run and not checked.
 */
function checkGains(layers: ResolvedLayer[], path: string, L: number): void {
  const limit = 'must be below 1.34e154 in absolute value, so that its square is a finite float64';
  layers.forEach((l, i) => {
    const here = `${path}[${i}]`;
    if (l.type === 'repeat') {
      if (l.count > 0) checkGains(l.layers, `${here}.layers`, L);
      return;
    }
    if (l.type !== 'residual') return;
    if (!Number.isFinite(l.beta * l.beta)) throw new SpecError(`${here}.beta`, `${limit}, got ${l.beta}`);
    if (l.alpha !== undefined) {
      if (!Number.isFinite(l.alpha * l.alpha)) throw new SpecError(`${here}.alpha`, `${limit}, got ${l.alpha}`);
    } else {
      const alpha0 = l.alpha0 ?? 1;
      const gamma = l.gamma ?? 0;
      const alpha = alpha0 * Math.pow(L, -gamma);
      if (!Number.isFinite(alpha * alpha)) {
        throw new SpecError(
          `${here}.gamma`,
          `with L = ${L} residual blocks, α = alpha0·L^(−gamma) = ${alpha0}·${L}^${-gamma} is ${alpha} and α² is ${alpha * alpha} in float64: use a smaller |gamma|`,
        );
      }
    }
    checkGains(l.branch, `${here}.branch`, L);
  });
}

function containsDense(layers: ResolvedLayer[]): boolean {
  return layers.some(
    (l) =>
      l.type === 'dense' ||
      l.type === 'denseBlock' ||
      (l.type === 'residual' && containsDense(l.branch)) ||
      (l.type === 'repeat' && l.count > 0 && containsDense(l.layers)),
  );
}

/** The layer objects being resolved, outermost first: a layer among its own ancestors is a cycle. */
const resolving: unknown[] = [];

function resolveLayer(value: unknown, path: string, rep: Rep, nesting = 0): { layer: ResolvedLayer; rep: Rep } {
  // A spec built in code can contain itself (a repeat inside its own layers); JSON cannot.
  if (typeof value === 'object' && value !== null && resolving.includes(value)) {
    const at = resolving.length - 1 - resolving.lastIndexOf(value);
    throw new SpecError(path, `the spec contains a cycle: this layer is the same object as its ${at === 0 ? 'parent' : `ancestor ${at + 1} levels up`}, so it would contain itself`);
  }
  resolving.push(value);
  try {
    return resolveLayerBody(value, path, rep, nesting);
  } finally {
    resolving.pop();
  }
}

function resolveLayerBody(value: unknown, path: string, rep: Rep, nesting: number): { layer: ResolvedLayer; rep: Rep } {
  if (nesting >= MAX_NESTING) {
    throw new SpecError(path, `layers are nested more than ${MAX_NESTING} levels deep (repeats and residual branches)`);
  }
  const obj = record(value, path);
  const type = obj.type;
  if (typeof type !== 'string') throw new SpecError(`${path}.type`, 'missing layer type');
  switch (type) {
    case 'dense': {
      knownKeys(obj, ['type', 'weightVar', 'biasVar', 'trainable'], path);
      return {
        layer: {
          type: 'dense',
          weightVar: positive(obj, 'weightVar', 1, path),
          biasVar: nonNegative(obj, 'biasVar', 0, path),
          trainable: bool(obj, 'trainable', true, path),
        },
        rep: 'gaussian',
      };
    }
    case 'residual':
      return resolveResidual(obj, path, rep, nesting);
    case 'denseBlock': {
      knownKeys(
        obj,
        ['type', 'depth', 'concat', 'activation', 'weightVar', 'biasVar', 'trainable'],
        path,
      );
      requireHidden(rep, path, 'a dense block');
      requireGaussian(rep, path, 'a dense block applies its activation to its input, which');
      const activation =
        obj.activation === undefined
          ? ({ type: 'relu' } as const)
          : resolveActivation(record(obj.activation, `${path}.activation`), `${path}.activation`);
      return {
        layer: {
          type: 'denseBlock',
          depth: integer(obj.depth, `${path}.depth`, 1, MAX_COUNT),
          concat: oneOf(obj, 'concat', ['mean', 'sum'] as const, 'mean', path),
          activation,
          weightVar: positive(obj, 'weightVar', 1, path),
          biasVar: nonNegative(obj, 'biasVar', 0, path),
          trainable: bool(obj, 'trainable', true, path),
        },
        rep: 'gaussian',
      };
    }
    case 'repeat': {
      knownKeys(obj, ['type', 'count', 'layers'], path);
      const count = integer(obj.count, `${path}.count`, 0, MAX_COUNT);
      const body = array(obj.layers, `${path}.layers`);
      if (body.length === 0) throw new SpecError(`${path}.layers`, 'must contain at least one layer');
      const resolveBody = (from: Rep) => {
        let r = from;
        const out = body.map((l, i) => {
          const res = resolveLayer(l, `${path}.layers[${i}]`, r, nesting + 1);
          r = res.rep;
          return res.layer;
        });
        return { layers: out, rep: r };
      };
      const first = resolveBody(rep);
      if (count === 0) return { layer: { type: 'repeat', count, layers: first.layers }, rep };
      // The second pass checks that the body can follow itself (e.g. it does not end in an
      // activation that the next copy would feed into another activation).
      const again = count > 1 ? resolveBody(first.rep) : first;
      return { layer: { type: 'repeat', count, layers: first.layers }, rep: again.rep };
    }
    default: {
      if ((ACTIVATION_TYPES as readonly string[]).includes(type)) {
        requireGaussian(rep, path, `activation ${show(type)} needs a Gaussian input, and its input`);
        return { layer: resolveActivation(obj, path), rep: 'nongaussian' };
      }
      throw new SpecError(
        `${path}.type`,
        `unknown layer type ${show(type)} (known: dense, residual, denseBlock, repeat, ${ACTIVATION_TYPES.join(', ')})`,
      );
    }
  }
}

function resolveResidual(
  obj: Record<string, unknown>,
  path: string,
  rep: Rep,
  nesting: number,
): { layer: ResolvedLayer; rep: Rep } {
  knownKeys(obj, ['type', 'alpha', 'alpha0', 'gamma', 'beta', 'branch'], path);
  requireHidden(rep, path, 'a residual block');
  const hasAlpha = obj.alpha !== undefined;
  const hasGamma = obj.gamma !== undefined;
  if (hasAlpha === hasGamma) {
    throw new SpecError(path, 'give exactly one of "alpha" (a constant) or "gamma" (α = alpha0·L^(−gamma))');
  }
  if (hasAlpha && obj.alpha0 !== undefined) {
    throw new SpecError(`${path}.alpha0`, '"alpha0" goes with "gamma", not with "alpha"');
  }
  const branchIn = array(obj.branch, `${path}.branch`);
  if (branchIn.length === 0) throw new SpecError(`${path}.branch`, 'must contain at least one layer');
  let r: Rep = rep;
  const branch = branchIn.map((l, i) => {
    const res = resolveLayer(l, `${path}.branch[${i}]`, r, nesting + 1);
    r = res.rep;
    return res.layer;
  });
  if (!freshOutput(branch, false)) {
    throw new SpecError(
      `${path}.branch`,
      'must end with a dense layer (its fresh zero-mean weights make the skip and branch independent)',
    );
  }
  const beta = finite(obj, 'beta', 1, path);
  const layer: ResolvedLayer = hasAlpha
    ? { type: 'residual', alpha: finite(obj, 'alpha', 0, path), beta, branch }
    : {
        type: 'residual',
        alpha0: finite(obj, 'alpha0', 1, path),
        gamma: finite(obj, 'gamma', 0, path),
        beta,
        branch,
      };
  return { layer, rep };
}

function requireHidden(rep: Rep, path: string, what: string): void {
  if (rep === 'input') {
    throw new SpecError(path, `${what} needs a hidden layer as input: put a dense layer before it`);
  }
}

function requireGaussian(rep: Rep, path: string, what: string): void {
  if (rep === 'input') throw new SpecError(path, `${what} is the raw input: put a dense layer before it`);
  if (rep === 'nongaussian') {
    throw new SpecError(path, `${what} is the output of a nonlinearity: put a dense layer between them`);
  }
}

// ---- small typed readers -------------------------------------------------------------------

/** A value for an error message (one line, at most 80 characters; never throws). */
const show = jsValue;

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    // A common slip: the text of a JSON file where its parsed value belongs.
    const hint = typeof value === 'string' && /^\s*[{[]/.test(value) ? ' (JSON text: parse it first, with JSON.parse)' : '';
    throw new SpecError(path, `must be an object, got ${show(value)}${hint}`);
  }
  return value as Record<string, unknown>;
}

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new SpecError(path, `must be an array, got ${show(value)}`);
  return value;
}

function knownKeys(obj: Record<string, unknown>, keys: string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k)) {
      const where = at(path, k);
      throw new SpecError(where, `unknown key (allowed: ${keys.join(', ')})`);
    }
  }
}

/** A key appended to a path; keys that are not plain names are quoted (they may hold any character). */
function at(path: string, key: string): string {
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${path}[${show(key)}]`;
  return path ? `${path}.${key}` : key;
}

function num(value: unknown, path: string): number {
  if (typeof value !== 'number') throw new SpecError(path, `must be a number, got ${show(value)}`);
  if (!Number.isFinite(value)) throw new SpecError(path, `must be finite, got ${value}`);
  return value;
}

function finite(obj: Record<string, unknown>, key: string, def: number, path: string): number {
  return obj[key] === undefined ? def : num(obj[key], at(path, key));
}

function positive(obj: Record<string, unknown>, key: string, def: number, path: string): number {
  const v = finite(obj, key, def, path);
  if (!(v > 0)) throw new SpecError(at(path, key), `must be > 0, got ${v}`);
  return v;
}

function nonNegative(obj: Record<string, unknown>, key: string, def: number, path: string): number {
  const v = finite(obj, key, def, path);
  if (v < 0) throw new SpecError(at(path, key), `must be ≥ 0 (a variance), got ${v}`);
  return v;
}

function integer(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) throw new SpecError(path, 'missing parameter');
  const v = num(value, path);
  if (!Number.isInteger(v) || v < min) throw new SpecError(path, `must be an integer ≥ ${min}, got ${v}`);
  if (v > max) throw new SpecError(path, `must be at most ${max}, got ${v}`);
  return v;
}

function bool(obj: Record<string, unknown>, key: string, def: boolean, path: string): boolean {
  const v = obj[key];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new SpecError(at(path, key), `must be true or false, got ${show(v)}`);
  return v;
}

function optString(obj: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new SpecError(at(path, key), `must be a string, got ${show(v)}`);
  return v;
}

function oneOf<T extends string>(
  obj: Record<string, unknown>,
  key: string,
  options: readonly T[],
  def: T,
  path: string,
): T {
  const v = obj[key];
  if (v === undefined) return def;
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) {
    throw new SpecError(at(path, key), `must be one of ${options.map((o) => `"${o}"`).join(', ')}, got ${show(v)}`);
  }
  return v as T;
}
