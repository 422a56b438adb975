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
  SPATIAL_READOUT_TYPES,
  type ResolvedLayer,
  type ResolvedSpec,
  type Spec,
} from './types.js';
import { resolveActivation } from '../activations/registry.js';

/**
 * What flows between layers, for the structural checks: its kind (raw input, Gaussian, after a
 * nonlinearity) and its shape (an image-shaped C×P representation, or a vector).
 */
interface Rep {
  kind: 'input' | 'gaussian' | 'nongaussian';
  spatial: boolean;
}

/** Layer types that exist only on image-shaped representations (conv, pooling, readouts). */
const SPATIAL_TYPES: readonly string[] = ['conv', 'avgPool', ...SPATIAL_READOUT_TYPES];

/**
 * Whether a spec (raw or resolved) is spatial: it contains a conv, avgPool or spatial readout
 * anywhere. Its input is then an image ([N, C, H, W] or [N, C, P]); otherwise a [N, d] matrix.
 */
export function isSpatialSpec(spec: Spec | ResolvedSpec | unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (v: unknown, depth: number): boolean => {
    if (typeof v !== 'object' || v === null || seen.has(v) || depth > MAX_NESTING + 2) return false;
    seen.add(v);
    if (Array.isArray(v)) return v.some((x) => visit(x, depth + 1));
    const o = v as Record<string, unknown>;
    if (typeof o.type === 'string' && SPATIAL_TYPES.includes(o.type)) return true;
    return [o.layers, o.branch, o.readout].some((x) => visit(x, depth + 1));
  };
  return visit(spec, 0);
}

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
  const spatial = isSpatialSpec(obj);
  // An image's input covariance is x[:, i]·z[:, j]/C per pixel pair (issue 12): "dim" by default.
  const inputScale = oneOf(obj, 'inputScale', ['none', 'dim'] as const, spatial ? 'dim' : 'none', '');
  const normalize = oneOf(obj, 'normalize', ['none', 'diagonal'] as const, 'none', '');
  if (spatial && normalize !== 'none') {
    throw new SpecError('normalize', '"diagonal" is defined for fully connected specs only (a conv spec has no unit input)');
  }
  const sweepStart = obj.sweepStart === undefined ? 0 : integer(obj.sweepStart, 'sweepStart', 0);
  const layersIn = array(obj.layers, 'layers');
  if (layersIn.length === 0) throw new SpecError('layers', 'must contain at least one layer');
  const layers: ResolvedLayer[] = [];
  let rep: Rep = { kind: 'input', spatial };
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
  if (rep.spatial) {
    throw new SpecError(
      obj.readout === undefined ? 'layers' : 'readout',
      'the network ends with an image-shaped representation: end it with a readout ("eq", "flatten" or "gap")',
    );
  }
  if (!containsDense(layers) && !(spatial && containsDense(readout))) {
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
    if (l.type === 'dense' || l.type === 'denseBlock' || l.type === 'conv' || isReadout(l.type)) fresh = true;
    else if (l.type === 'avgPool') continue; // linear in its input: fresh stays fresh
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

const isReadout = (type: string) => (SPATIAL_READOUT_TYPES as readonly string[]).includes(type);

/** Whether the layers contain a weight layer (dense, DenseNet block, conv or a readout's dense). */
function containsDense(layers: ResolvedLayer[]): boolean {
  return layers.some(
    (l) =>
      l.type === 'dense' ||
      l.type === 'denseBlock' ||
      l.type === 'conv' ||
      isReadout(l.type) ||
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
      requireVector(rep, path, 'a dense layer');
      return {
        layer: {
          type: 'dense',
          weightVar: positive(obj, 'weightVar', 1, path),
          biasVar: nonNegative(obj, 'biasVar', 0, path),
          trainable: bool(obj, 'trainable', true, path),
        },
        rep: { kind: 'gaussian', spatial: false },
      };
    }
    case 'conv':
      return resolveConv(obj, path, rep);
    case 'avgPool':
      return resolveAvgPool(obj, path, rep);
    case 'eq':
    case 'flatten':
    case 'gap':
      return resolveReadout(obj, type, path, rep);
    case 'residual':
      return resolveResidual(obj, path, rep, nesting);
    case 'denseBlock': {
      knownKeys(
        obj,
        ['type', 'depth', 'concat', 'activation', 'weightVar', 'biasVar', 'trainable'],
        path,
      );
      requireHidden(rep, path, 'a dense block');
      requireVector(rep, path, 'a dense block');
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
        rep: { kind: 'gaussian', spatial: false },
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
        return { layer: resolveActivation(obj, path), rep: { kind: 'nongaussian', spatial: rep.spatial } };
      }
      throw new SpecError(
        `${path}.type`,
        `unknown layer type ${show(type)} (known: dense, residual, denseBlock, repeat, conv, avgPool, eq, flatten, gap, ${ACTIVATION_TYPES.join(', ')})`,
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
  if (r.spatial !== rep.spatial) {
    throw new SpecError(
      `${path}.branch`,
      `must keep the representation's shape: it turns ${rep.spatial ? 'an image into a vector' : 'a vector into an image'}, so it cannot be added to the skip`,
    );
  }
  if (!freshOutput(branch, false)) {
    throw new SpecError(
      `${path}.branch`,
      `must end with a ${rep.spatial ? 'conv' : 'dense'} layer (its fresh zero-mean weights make the skip and branch independent)`,
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
  if (rep.kind === 'input') {
    throw new SpecError(path, `${what} needs a hidden layer as input: put a ${rep.spatial ? 'conv' : 'dense'} layer before it`);
  }
}

function requireGaussian(rep: Rep, path: string, what: string): void {
  const layer = rep.spatial ? 'conv' : 'dense';
  if (rep.kind === 'input') throw new SpecError(path, `${what} is the raw input: put a ${layer} layer before it`);
  if (rep.kind === 'nongaussian') {
    throw new SpecError(path, `${what} is the output of a nonlinearity: put a ${layer} layer between them`);
  }
}

function requireVector(rep: Rep, path: string, what: string): void {
  if (rep.spatial) {
    throw new SpecError(path, `${what} needs a vector, but the representation here is an image: put a readout ("eq", "flatten" or "gap") before it`);
  }
}

function requireSpatial(rep: Rep, path: string, what: string): void {
  if (!rep.spatial) {
    throw new SpecError(path, `${what} needs an image-shaped representation, but after a readout the representation is a vector`);
  }
}

/** Largest filter, stride, window or pixel coordinate (images are far smaller). */
const MAX_EXTENT = 1 << 20;

/** A per-axis size: one integer (every axis) or a list of one or two (1-D or 2-D). */
function perAxis(value: unknown, path: string, min: number, odd: boolean): number | number[] {
  const one = (v: unknown, p: string) => {
    const n = integer(v, p, min, MAX_EXTENT);
    if (odd && n % 2 === 0) throw new SpecError(p, `must be odd (a centred filter), got ${n}`);
    return n;
  };
  if (Array.isArray(value)) {
    if (value.length < 1 || value.length > 2) {
      throw new SpecError(path, `must list 1 or 2 values (one per spatial axis), got ${value.length}`);
    }
    return value.map((v, i) => one(v, `${path}[${i}]`));
  }
  return one(value, path);
}

function resolveConv(obj: Record<string, unknown>, path: string, rep: Rep): { layer: ResolvedLayer; rep: Rep } {
  knownKeys(obj, ['type', 'filter', 'stride', 'padding', 'weightVar', 'biasVar', 'trainable'], path);
  requireSpatial(rep, path, 'a conv layer');
  return {
    layer: {
      type: 'conv',
      filter: obj.filter === undefined ? 3 : perAxis(obj.filter, `${path}.filter`, 1, true),
      stride: obj.stride === undefined ? 1 : perAxis(obj.stride, `${path}.stride`, 1, false),
      padding: oneOf(obj, 'padding', ['zero', 'circular'] as const, 'zero', path),
      weightVar: positive(obj, 'weightVar', 1, path),
      biasVar: nonNegative(obj, 'biasVar', 0, path),
      trainable: bool(obj, 'trainable', true, path),
    },
    rep: { kind: 'gaussian', spatial: true },
  };
}

function resolveAvgPool(obj: Record<string, unknown>, path: string, rep: Rep): { layer: ResolvedLayer; rep: Rep } {
  knownKeys(obj, ['type', 'window', 'stride'], path);
  requireSpatial(rep, path, 'an avgPool layer');
  const window = perAxis(obj.window, `${path}.window`, 1, false);
  const stride = obj.stride === undefined ? window : perAxis(obj.stride, `${path}.stride`, 1, false);
  // Linear: the representation keeps its kind (a pooled Gaussian is Gaussian).
  return { layer: { type: 'avgPool', window, stride }, rep };
}

function resolveReadout(
  obj: Record<string, unknown>,
  type: 'eq' | 'flatten' | 'gap',
  path: string,
  rep: Rep,
): { layer: ResolvedLayer; rep: Rep } {
  knownKeys(obj, type === 'eq' ? ['type', 'pixel', 'weightVar', 'biasVar', 'trainable'] : ['type', 'weightVar', 'biasVar', 'trainable'], path);
  requireSpatial(rep, path, `a "${type}" readout`);
  let pixel: number[] | undefined;
  if (obj.pixel !== undefined) {
    const list = array(obj.pixel, `${path}.pixel`);
    if (list.length < 1 || list.length > 2) {
      throw new SpecError(`${path}.pixel`, `must list 1 or 2 coordinates (one per spatial axis), got ${list.length}`);
    }
    pixel = list.map((v, i) => integer(v, `${path}.pixel[${i}]`, 0, MAX_EXTENT));
  }
  return {
    layer: {
      type,
      ...(pixel ? { pixel } : {}),
      weightVar: positive(obj, 'weightVar', 1, path),
      biasVar: nonNegative(obj, 'biasVar', 0, path),
      trainable: bool(obj, 'trainable', true, path),
    },
    rep: { kind: 'gaussian', spatial: false },
  };
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
