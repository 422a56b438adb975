/**
 * Lists on the command line, shared by every option that takes several depths or ridges.
 *
 * - Depths (`parseDepthList`): integers `1,2,5`, inclusive ranges `1..50`, mixed `1,2,10..20`, or
 *   `all` (every depth of the sweep, when the caller has one).
 * - Ridges (`parseRidgeList`): numbers ≥ 0 `0,1e-4,0.01`, and log-spaced inclusive ranges
 *   `1e-6..1e-1:6` (6 values from 1e-6 to 1e-1, equal ratios; both ends > 0).
 *
 * Both return the values sorted ascending without repeats; anything else is an InputError naming
 * the option and the offending item.
 */
import { InputError } from '../errors.js';

export interface DepthListOptions {
  /** Smallest allowed depth (default 0). */
  min?: number;
  /** Largest allowed depth (e.g. the arch's depth). */
  max?: number;
  /** What `all` means: the depths of the sweep (`all` is an error without it). */
  all?: readonly number[];
}

function items(s: string, name: string, what: string): string[] {
  if (typeof s !== 'string' || s.trim() === '') throw new InputError(`${name} is empty: give ${what}`);
  const parts = s.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new InputError(`${name}: empty item in "${s}" (give ${what})`);
  return parts;
}

const sortedUnique = (v: number[]): number[] => [...new Set(v)].sort((a, b) => a - b);

function integer(p: string, name: string, item: string): number {
  const v = Number(p);
  if (p === '' || !Number.isInteger(v)) throw new InputError(`${name}: "${item}" is not a depth (an integer, a range a..b, or all)`);
  return v;
}

/**
 * Depths of an architecture's depth sweep (`sweep`, ascending): a list, ranges or `all`, each of
 * them a depth the sweep has (`arch` names it in the error).
 */
export function parseSweepDepths(s: string, name: string, sweep: readonly number[], arch: string): number[] {
  const depths = parseDepthList(s, name, { all: sweep, max: sweep[sweep.length - 1] });
  for (const t of depths) {
    if (!sweep.includes(t)) throw new InputError(`${name}: depth ${t} is not in the depth sweep of ${arch} (${sweep.join(', ')})`);
  }
  return depths;
}

/** `1,2,5`, `1..50`, `1,4,10..20` or `all`: depths, sorted, without repeats. */
export function parseDepthList(s: string, name = '--depths', opts: DepthListOptions = {}): number[] {
  const min = opts.min ?? 0;
  if (typeof s === 'string' && s.trim().toLowerCase() === 'all') {
    if (!opts.all) throw new InputError(`${name}: "all" needs an architecture's depth sweep; list the depths (e.g. 1,2,5 or 1..20)`);
    const out = sortedUnique(opts.all.filter((t) => t >= min && (opts.max === undefined || t <= opts.max)));
    if (out.length === 0) throw new InputError(`${name}: the sweep has no depth in ${min} … ${opts.max ?? '∞'}`);
    return out;
  }
  const out: number[] = [];
  for (const item of items(s, name, 'depths such as 1,2,5, a range 1..20, or all')) {
    if (item.toLowerCase() === 'all') throw new InputError(`${name}: "all" cannot be combined with other depths`);
    const range = item.split('..');
    if (range.length > 2) throw new InputError(`${name}: "${item}" is not a range a..b`);
    const a = integer(range[0]!.trim(), name, item);
    const b = range.length === 2 ? integer(range[1]!.trim(), name, item) : a;
    if (b < a) throw new InputError(`${name}: range "${item}" runs backwards (write ${b}..${a})`);
    if (a < min) throw new InputError(`${name}: depth ${a} is below ${min}`);
    if (opts.max !== undefined && b > opts.max) throw new InputError(`${name}: depth ${b} exceeds ${opts.max}, the architecture's depth`);
    if (b - a > 1_000_000) throw new InputError(`${name}: range "${item}" has more than a million depths`);
    for (let t = a; t <= b; t++) out.push(t);
  }
  return sortedUnique(out);
}

function ridgeValue(p: string, name: string, item: string): number {
  const v = Number(p);
  if (p === '' || !Number.isFinite(v)) throw new InputError(`${name}: "${item}" is not a ridge (a number ≥ 0, or a log range a..b:count)`);
  if (v < 0) throw new InputError(`${name}: ridge ${p} is negative (ridges must be ≥ 0)`);
  return v;
}

/** Rounds a log-spaced value to 12 significant digits, so that 1e-6..1e-1:6 gives 1e-6, 1e-5, …, 0.1 exactly. */
const clean = (v: number): number => Number(v.toPrecision(12));

/** `1e-4`, `0,1e-4,0.01`, `1e-6..1e-1:6` (log-spaced, inclusive): ridges ≥ 0, sorted, without repeats. */
export function parseRidgeList(s: string, name = '--ridge'): number[] {
  const out: number[] = [];
  for (const item of items(s, name, 'ridges such as 1e-4,1e-2 or a log range 1e-6..1e-1:6')) {
    const range = item.split('..');
    if (range.length === 1) {
      out.push(ridgeValue(item, name, item));
      continue;
    }
    if (range.length > 2) throw new InputError(`${name}: "${item}" is not a range a..b:count`);
    const tail = range[1]!.split(':');
    if (tail.length !== 2) throw new InputError(`${name}: range "${item}" needs a count: a..b:count (count values, log-spaced)`);
    const a = ridgeValue(range[0]!.trim(), name, item);
    const b = ridgeValue(tail[0]!.trim(), name, item);
    const count = Number(tail[1]!.trim());
    if (tail[1]!.trim() === '' || !Number.isInteger(count) || count < 1) throw new InputError(`${name}: count in "${item}" must be a positive integer`);
    if (!(a > 0 && b > 0)) throw new InputError(`${name}: a log range needs ends > 0, got "${item}" (list 0 separately, e.g. 0,1e-6..1e-1:6)`);
    if (b < a) throw new InputError(`${name}: range "${item}" runs backwards (write ${tail[0]!.trim()}..${range[0]!.trim()}:${count})`);
    if (count === 1 && a !== b) throw new InputError(`${name}: "${item}" has one value but two different ends`);
    if (count > 100_000) throw new InputError(`${name}: range "${item}" has more than 100000 values`);
    for (let i = 0; i < count; i++) out.push(i === 0 ? a : i === count - 1 ? b : clean(a * Math.pow(b / a, i / (count - 1))));
  }
  return sortedUnique(out);
}
