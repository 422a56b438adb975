/**
 * Seeded fuzzing of everything that reads untrusted input: the .npy reader, the CSV reader, the
 * spec validator and preset references. The contract, for every input: return a valid result, or
 * throw an InputError (SpecError is one) whose message is one line. Never a TypeError, RangeError
 * or any other exception, and never a hang: each case runs under a hard time limit (node:vm's
 * watchdog terminates even a tight loop in the code under test).
 *
 * No fast-check: the generators below are structure-aware (they build valid files and specs and
 * then damage them), which is most of the work; fast-check would add a dependency for shrinking we
 * do not need, since every failure is reported with its seed and case number and the input itself.
 * src/mc/rng.ts makes the cases identical in every run and runtime.
 */
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { kernelCpu } from '../src/api.js';
import { InputError } from '../src/errors.js';
import { formatCsv, parseDelimited } from '../src/io/csv.js';
import { encodeNpy, npyHeader, parseNpy } from '../src/io/npy.js';
import { Rng } from '../src/mc/rng.js';
import { compile } from '../src/program/compile.js';
import type { KernelProgram } from '../src/program/program.js';
import { parsePresetRef, PRESETS, presetSpec } from '../src/spec/presets.js';
import type { ResolvedSpec } from '../src/spec/types.js';
import { resolveSpec } from '../src/spec/validate.js';

/** Hard limit per case; a case that takes longer is a hang. */
const CASE_LIMIT_MS = 2000;
/** Longest acceptable error message (a one-line message, not a dump of the input). */
const MAX_MESSAGE = 600;

// ---------------------------------------------------------------------------------------------
// The harness

const sandbox = vm.createContext({ run: null as (() => unknown) | null });
const callRun = new vm.Script('run()');

class Fuzz {
  readonly failures: string[] = [];
  cases = 0;
  accepted = 0;
  rejected = 0;
  slowestMs = 0;
  slowest = '';

  constructor(readonly name: string) {}

  /**
   * Runs `fn` under the time limit. A result goes to `validate` (which throws on a bad one); an
   * exception must be an InputError with a short one-line message, checked further by `checkError`.
   */
  run<T>(label: string, input: unknown, fn: () => T, validate: (r: T) => void, checkError?: (e: InputError) => string | null): void {
    this.cases++;
    sandbox.run = fn;
    const t0 = performance.now();
    let result: T | undefined;
    let error: unknown;
    let threw = false;
    try {
      result = callRun.runInContext(sandbox, { timeout: CASE_LIMIT_MS }) as T;
    } catch (e) {
      threw = true;
      error = e;
    } finally {
      sandbox.run = null;
    }
    const ms = performance.now() - t0;
    if (ms > this.slowestMs) {
      this.slowestMs = ms;
      this.slowest = label;
    }
    const fail = (why: string) => {
      if (this.failures.length < 20) this.failures.push(`${this.name} ${label}: ${why}\n    input: ${preview(input)}`);
    };
    if (threw) {
      this.rejected++;
      if ((error as { code?: string })?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return fail(`did not finish within ${CASE_LIMIT_MS} ms`);
      if (!(error instanceof InputError)) return fail(`threw ${describeError(error)}`);
      const m = error.message;
      if (typeof m !== 'string' || m.trim() === '') return fail('InputError with an empty message');
      if (/[\n\r\u2028\u2029]/.test(m)) return fail(`message is not one line: ${JSON.stringify(m.slice(0, 300))}`);
      if (m.length > MAX_MESSAGE) return fail(`message is ${m.length} characters long: ${JSON.stringify(m.slice(0, 200))}…`);
      const extra = checkError?.(error);
      if (extra) fail(`${extra}: ${JSON.stringify(m)}`);
      return;
    }
    this.accepted++;
    try {
      validate(result as T);
    } catch (e) {
      fail(`returned an invalid result: ${describeError(e)}`);
    }
  }

  summary(): string {
    return `${this.name}: ${this.cases} cases, ${this.accepted} accepted, ${this.rejected} rejected; slowest ${this.slowestMs.toFixed(1)} ms (${this.slowest})`;
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message.slice(0, 300)}${e.stack ? ` @ ${e.stack.split('\n').slice(1, 3).join(' | ')}` : ''}`;
  return `a non-Error ${String(e)}`;
}

function preview(input: unknown): string {
  if (input instanceof Uint8Array) {
    const head = Array.from(input.subarray(0, 160), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    return `${input.length} bytes: ${head}${input.length > 160 ? '…' : ''}`;
  }
  const s = typeof input === 'string' ? JSON.stringify(input) : safeJson(input);
  return s.length > 400 ? `${s.slice(0, 400)}… (${s.length} chars)` : s;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

// ---------------------------------------------------------------------------------------------
// Random helpers

const int = (rng: Rng, n: number): number => rng.nextU32() % n;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)]!;
const chance = (rng: Rng, p: number): boolean => rng.uniform() < p;
const randomBytes = (rng: Rng, n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(rng, 256));

// ---------------------------------------------------------------------------------------------
// .npy

const NPY_DESCRS = ['<f8', '>f8', '<f4', '>f4', '|i1', '|u1', '|b1', '<i2', '>u2', '<i4', '>i4', '<u4', '<i8', '>i8', '<u8', '=f8', 'f8'];
const ITEMSIZE: Record<string, number> = { f8: 8, f4: 4, i1: 1, u1: 1, b1: 1, i2: 2, u2: 2, i4: 4, u4: 4, i8: 8, u8: 8 };
const HEADER_SNIPPETS = [
  "'", '"', '(', ')', '((((', '[', ']', '{', '}', ',', ':', ' ', '\\', '\\n', '\\x0a', '\\u2028', '\\r', '\\x', '\\u12',
  'True', 'False', 'None', '1L', '1e400', '-1', '-0', '0x10', '99999999999999999999', '1.5', '2**64', 'nan', "'descr'",
  "'shape'", "'fortran_order'", "'<c16'", "'<M8[ns]'", "[('a', '<f8')]", "'\\n'", '\n', '\u0000', '\u00ff', 'é', '\u2028',
];

function npyFile(rng: Rng): { bytes: Uint8Array; shape: number[] } {
  const descr = pick(rng, NPY_DESCRS);
  const rank = int(rng, 4);
  const shape = Array.from({ length: rank }, () => int(rng, 5));
  const fortran = chance(rng, 0.3);
  const version = pick(rng, [1, 2, 3]);
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${rank === 1 ? ',' : ''}), }`;
  const itemsize = ITEMSIZE[descr.replace(/^[<>|=]/, '')]!;
  const count = shape.reduce((a, b) => a * b, 1);
  let data = randomBytes(rng, count * itemsize);
  // 64-bit integers beyond 2^53 are rejected by design: zeros keep the file valid.
  if (/[iu]8$/.test(descr)) data = new Uint8Array(count * itemsize);
  return { bytes: assembleNpy(dict, data, version), shape };
}

function assembleNpy(dict: string, data: Uint8Array, version: number): Uint8Array {
  const header = new TextEncoder().encode(`${dict}\n`);
  const lenBytes = version === 1 ? 2 : 4;
  const out = new Uint8Array(8 + lenBytes + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (lenBytes === 2) view.setUint16(8, header.length % 65536, true);
  else view.setUint32(8, header.length, true);
  out.set(header, 8 + lenBytes);
  out.set(data, 8 + lenBytes + header.length);
  return out;
}

/** The header dict of a file (latin1), its version and its data bytes, when the preamble is sane. */
function splitNpy(b: Uint8Array): { dict: string; data: Uint8Array; version: number } | null {
  if (b.length < 10) return null;
  const version = b[6]!;
  const lenBytes = version === 1 ? 2 : 4;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 8 + lenBytes) return null;
  const len = lenBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  if (b.length < start + len) return null;
  const dict = String.fromCharCode(...b.subarray(start, start + len)).replace(/\n$/, '');
  return { dict, data: b.subarray(start + len), version };
}

function mutateNpy(rng: Rng, input: Uint8Array): Uint8Array {
  let b: Uint8Array = input.slice();
  const edits = 1 + int(rng, 3);
  for (let e = 0; e < edits; e++) {
    switch (int(rng, 8)) {
      case 0: // flip a byte
        if (b.length) {
          const j = int(rng, b.length);
          b[j] = b[j]! ^ (1 << int(rng, 8));
        }
        break;
      case 1: // an interesting byte, mostly in the preamble and header
        if (b.length) b[int(rng, Math.min(b.length, 140))] = pick(rng, [0, 0x0a, 0x20, 0x27, 0x22, 0x28, 0x29, 0x7b, 0x7d, 0x2c, 0x3a, 0x5c, 0x80, 0xff, 0x93, 0x30, 0x39, 0x01, 0x02, 0x03]);
        break;
      case 2: // truncate
        b = b.slice(0, int(rng, b.length + 1));
        break;
      case 3: // append
        b = concat(b, randomBytes(rng, 1 + int(rng, 16)));
        break;
      case 4: // random header length
        if (b.length >= 12) new DataView(b.buffer).setUint16(8, pick(rng, [0, 1, 0xffff, int(rng, 65536), b.length - 10, b.length - 9]), true);
        break;
      case 5:
      case 6:
      case 7: {
        // Edit the header text and re-encode it with a consistent length.
        const parts = splitNpy(b);
        if (!parts) break;
        let dict = parts.dict;
        const at = int(rng, dict.length + 1);
        const snippet = pick(rng, HEADER_SNIPPETS);
        const op = int(rng, 4);
        if (op === 0) dict = dict.slice(0, at) + snippet + dict.slice(at);
        else if (op === 1) dict = dict.slice(0, at) + dict.slice(at + 1 + int(rng, 6));
        else if (op === 2) dict = dict.replace(/\(([\d, ]*)\)/, () => `(${Array.from({ length: int(rng, 4) }, () => pick(rng, ['0', '1', '3', '-1', '2**3', '1e3', '99999999999999999999', '4294967296', 'None', "'2'", '(2,)', '9007199254740993'])).join(', ')},)`);
        else dict = dict.replace(/'descr': '[^']*'/, `'descr': ${pick(rng, ["'<f8'", "'<c16'", "'|O'", "'<U5'", "'<M8[ns]'", "'<f2'", "'f'", "''", "'<<f8'", "1", "None", "[('a', '<f8')]", "'<i8'", "'>u8'"])}`);
        b = assembleNpy(dict, parts.data, parts.version === 1 || parts.version === 2 || parts.version === 3 ? parts.version : 1);
        break;
      }
    }
  }
  return b;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function validNpyResult(r: ReturnType<typeof parseNpy>): void {
  if (!(r.data instanceof Float64Array)) throw new Error('data is not a Float64Array');
  if (!r.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`bad shape ${JSON.stringify(r.shape)}`);
  const count = r.shape.reduce((a, b) => a * b, 1);
  if (count !== r.data.length) throw new Error(`shape ${JSON.stringify(r.shape)} but ${r.data.length} values`);
  if (typeof r.dtype !== 'string') throw new Error('dtype is not a string');
}

const npyPrefix = (e: InputError) => (e.message.startsWith('fuzz.npy: ') ? null : 'message does not start with the file name');

// ---------------------------------------------------------------------------------------------
// CSV

const CSV_ALPHABET = ['0', '1', '7', '.', 'e', 'E', '-', '+', ',', ';', '\t', ' ', '\n', '\r', '\r\n', '"', '#', 'a', 'N', 'x', '\ufeff', '\u2028', '\u0000', 'é', 'nan', 'inf', '1e999', '""'];

function randomText(rng: Rng, alphabet: readonly string[], maxParts: number): string {
  let s = '';
  const n = int(rng, maxParts + 1);
  for (let i = 0; i < n; i++) s += pick(rng, alphabet);
  return s;
}

function validCsv(rng: Rng): { text: string; rows: number; cols: number; data: Float64Array; header: string[] | null; delimiter: ',' | '\t' | ';' } {
  const rows = 1 + int(rng, 5);
  const cols = 1 + int(rng, 5);
  const data = Float64Array.from({ length: rows * cols }, () => {
    const k = int(rng, 4);
    return k === 0 ? int(rng, 100) - 50 : k === 1 ? (rng.uniform() - 0.5) * 10 ** (int(rng, 40) - 20) : k === 2 ? rng.normal() : -0;
  });
  const header = chance(rng, 0.5)
    ? Array.from({ length: cols }, (_, j) => (j === 0 ? 'x' : '') + randomText(rng, ['a', 'b', ',', '"', ' ', '\n', '#', '1', 'é', ';', '\t'], 4))
    : null;
  const delimiter = pick(rng, [',', '\t', ';'] as const);
  const text = formatCsv(data, [rows, cols], { delimiter, ...(header ? { header } : {}) });
  return { text, rows, cols, data, header: header?.map((h) => h.trim()) ?? null, delimiter };
}

function mutateCsv(rng: Rng, text: string): string {
  let s = text;
  const edits = 1 + int(rng, 3);
  for (let e = 0; e < edits; e++) {
    const at = int(rng, s.length + 1);
    switch (int(rng, 5)) {
      case 0:
        s = s.slice(0, at) + pick(rng, CSV_ALPHABET) + s.slice(at + 1);
        break;
      case 1:
        s = s.slice(0, at) + pick(rng, CSV_ALPHABET) + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at + 1 + int(rng, 5));
        break;
      case 3: {
        const lines = s.split('\n');
        const i = int(rng, lines.length);
        lines.splice(i, 0, lines[int(rng, lines.length)]!);
        s = lines.join('\n');
        break;
      }
      case 4:
        s = s.slice(0, at);
        break;
    }
  }
  return s;
}

function validCsvResult(r: ReturnType<typeof parseDelimited>): void {
  if (!(r.data instanceof Float64Array)) throw new Error('data is not a Float64Array');
  if (!(Number.isInteger(r.rows) && r.rows >= 1 && Number.isInteger(r.cols) && r.cols >= 1)) throw new Error(`bad size ${r.rows}×${r.cols}`);
  if (r.data.length !== r.rows * r.cols) throw new Error(`${r.rows}×${r.cols} but ${r.data.length} values`);
  if (!r.data.every(Number.isFinite)) throw new Error('a value is not finite');
  if (r.header !== null && !(Array.isArray(r.header) && r.header.length === r.cols && r.header.every((h) => typeof h === 'string'))) {
    throw new Error(`bad header ${JSON.stringify(r.header)}`);
  }
}

const csvPrefix = (e: InputError) => (e.message.startsWith('fuzz.csv: ') ? null : 'message does not start with the file name');

// ---------------------------------------------------------------------------------------------
// Specs

const KEYS = ['a\nb', 'format', 'name', 'description', 'inputScale', 'layers', 'readout', 'normalize', 'sweepStart', 'type', 'weightVar', 'biasVar', 'trainable', 'alpha', 'alpha0', 'gamma', 'beta', 'branch', 'depth', 'concat', 'activation', 'count', 'order', 'slope', 'a', 'b', '__proto__', 'constructor', 'toString', 'x'];
const STRINGS = ['dense', 'relu', 'erf', 'arccos', 'leakyRelu', 'abRelu', 'residual', 'denseBlock', 'repeat', 'none', 'dim', 'diagonal', 'mean', 'sum', 'webntk-spec/1', '', 'conv', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a\nb'];
const NUMBERS = [0, -0, 1, -1, 2, 0.5, 3, 1e-300, 1e300, -1e300, 1.5, 2 ** 53, 2 ** 53 + 2, 1e21, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity, 1e7, 1e9, 1e15, 1e300, 10000, 4, 5, -400, 400, 1e5];
const SMALL = [0, 1, 2, 3, 0.5, 1.5, 2, 0.1];

function randomValue(rng: Rng, depth: number): unknown {
  const k = int(rng, depth <= 0 ? 4 : 7);
  switch (k) {
    case 0:
      return pick(rng, [null, true, false]);
    case 1:
      return pick(rng, NUMBERS);
    case 2:
      return pick(rng, SMALL);
    case 3:
      return pick(rng, STRINGS);
    case 4:
      return Array.from({ length: int(rng, 4) }, () => randomValue(rng, depth - 1));
    case 5:
      return randomLayer(rng, depth - 1);
    default: {
      const o: Record<string, unknown> = {};
      for (let i = int(rng, 4); i > 0; i--) Object.defineProperty(o, pick(rng, KEYS), { value: randomValue(rng, depth - 1), enumerable: true, configurable: true, writable: true });
      return o;
    }
  }
}

/** A layer that is often, not always, valid. */
function randomLayer(rng: Rng, depth: number): Record<string, unknown> {
  const num = () => (chance(rng, 0.8) ? pick(rng, SMALL) : pick(rng, NUMBERS));
  const layers = (n: number) => Array.from({ length: n }, () => randomLayer(rng, depth - 1));
  switch (int(rng, depth <= 0 ? 3 : 8)) {
    case 0:
      return { type: 'dense', ...(chance(rng, 0.5) ? { weightVar: num() } : {}), ...(chance(rng, 0.3) ? { biasVar: num() } : {}), ...(chance(rng, 0.2) ? { trainable: chance(rng, 0.5) } : {}) };
    case 1:
      return pick(rng, [{ type: 'relu' }, { type: 'erf' }, { type: 'arccos', order: pick(rng, [0, 1, 2, 3]) }, { type: 'leakyRelu', slope: num() }, { type: 'abRelu', a: num(), b: num() }]);
    case 2:
      return { type: pick(rng, STRINGS) };
    case 3:
    case 4:
      return {
        type: 'residual',
        ...(chance(rng, 0.5) ? { alpha: num() } : { gamma: chance(rng, 0.7) ? pick(rng, [0, 0.5, 1, -1, 2]) : pick(rng, NUMBERS), ...(chance(rng, 0.5) ? { alpha0: num() } : {}) }),
        ...(chance(rng, 0.3) ? { beta: num() } : {}),
        branch: [...layers(int(rng, 3)), { type: 'dense' }],
      };
    case 5:
      return { type: 'repeat', count: chance(rng, 0.85) ? int(rng, 4) : pick(rng, NUMBERS), layers: layers(1 + int(rng, 3)) };
    case 6:
      return { type: 'denseBlock', depth: chance(rng, 0.85) ? 1 + int(rng, 3) : pick(rng, NUMBERS), ...(chance(rng, 0.5) ? { concat: pick(rng, ['mean', 'sum']) } : {}), ...(chance(rng, 0.3) ? { activation: randomLayer(rng, 0) } : {}) };
    default:
      return randomValue(rng, depth - 1) as Record<string, unknown>;
  }
}

function randomSpec(rng: Rng): unknown {
  const spec: Record<string, unknown> = {
    layers: [{ type: 'dense' }, ...Array.from({ length: int(rng, 4) }, () => randomLayer(rng, 3))],
  };
  if (chance(rng, 0.3)) spec.readout = [randomLayer(rng, 1)];
  if (chance(rng, 0.2)) spec.inputScale = pick(rng, ['dim', 'none', 'x']);
  if (chance(rng, 0.2)) spec.normalize = pick(rng, ['diagonal', 'none', 1]);
  if (chance(rng, 0.1)) spec.sweepStart = pick(rng, [0, 1, -1, 1.5, 1e300]);
  return spec;
}

/**
 * A spec that follows the structural rules (a dense layer before every activation, branches that
 * end in a dense layer), with parameters that are mostly ordinary and sometimes extreme: most of
 * these are valid, so their kernels get evaluated.
 */
function structuredSpec(rng: Rng): unknown {
  const num = (small: readonly number[]) => (chance(rng, 0.85) ? pick(rng, small) : pick(rng, NUMBERS));
  const act = () => pick(rng, [{ type: 'relu' }, { type: 'erf' }, { type: 'arccos', order: int(rng, 3) }, { type: 'leakyRelu', slope: num([0.1, -0.5, 1, 0]) }, { type: 'abRelu', a: num([0, 0.5, -1]), b: num([1, 2, 0.5]) }]);
  const dense = () => ({ type: 'dense', weightVar: num([1, 2, 0.5]), biasVar: num([0, 0.1, 1]), ...(chance(rng, 0.3) ? { trainable: false } : {}) });
  const block = (depth: number): unknown[] => {
    switch (int(rng, depth > 0 ? 4 : 2)) {
      case 0:
        return [act(), dense()];
      case 1:
        return [{ type: 'denseBlock', depth: 1 + int(rng, 3), concat: pick(rng, ['mean', 'sum']), activation: act(), weightVar: num([1, 2]) }];
      case 2:
        return [{
          type: 'residual',
          ...(chance(rng, 0.5) ? { alpha: num([0.1, 0.5, 1, 0]) } : { gamma: num([0, 0.5, 1, -1, 2, -3]), ...(chance(rng, 0.5) ? { alpha0: num([1, 0.5, 0, 2]) } : {}) }),
          ...(chance(rng, 0.3) ? { beta: num([1, 0.5, 0]) } : {}),
          branch: [dense(), ...block(depth - 1)],
        }];
      default:
        return [{ type: 'repeat', count: chance(rng, 0.9) ? int(rng, 5) : pick(rng, NUMBERS), layers: block(depth - 1) }];
    }
  };
  const layers: unknown[] = [dense()];
  for (let i = int(rng, 4); i > 0; i--) layers.push(...block(2));
  return {
    layers,
    ...(chance(rng, 0.3) ? { readout: [act(), dense()] } : {}),
    ...(chance(rng, 0.4) ? { inputScale: 'dim' } : {}),
    ...(chance(rng, 0.3) ? { normalize: 'diagonal' } : {}),
  };
}

/** A preset's spec with random valid parameters (its JSON: plain data). */
function presetJson(rng: Rng): unknown {
  const p = pick(rng, PRESETS);
  const params: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(p.params)) {
    if (def.kind === 'depth') params[key] = 1 + int(rng, 4);
  }
  if ('gamma' in p.params && !('alpha' in params)) {
    if (chance(rng, 0.5)) params.alpha = pick(rng, SMALL);
    else params.gamma = pick(rng, [0, 0.5, 1]);
  }
  return JSON.parse(JSON.stringify(presetSpec(p.name, params)));
}

/** Replaces, removes or adds something at a random place of a JSON tree. */
function mutateJson(rng: Rng, root: unknown): unknown {
  const nodes: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach((x, i) => (nodes.push({ parent: v, key: i }), walk(x)));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (nodes.push({ parent: v as Record<string, unknown>, key: k }), walk(x));
  };
  walk(root);
  if (nodes.length === 0) return randomValue(rng, 2);
  const { parent, key } = pick(rng, nodes);
  const cur = (parent as Record<string | number, unknown>)[key];
  switch (int(rng, 6)) {
    case 0:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
      break;
    case 1:
      (parent as Record<string | number, unknown>)[key] = randomValue(rng, 2);
      break;
    case 2:
      (parent as Record<string | number, unknown>)[key] = typeof cur === 'number' ? pick(rng, NUMBERS) : typeof cur === 'string' ? pick(rng, STRINGS) : randomValue(rng, 1);
      break;
    case 3:
      if (Array.isArray(parent)) parent.splice(key as number, 0, chance(rng, 0.5) ? structuredClone(cur) : randomLayer(rng, 2));
      else Object.defineProperty(parent, pick(rng, KEYS), { value: randomValue(rng, 1), enumerable: true, configurable: true, writable: true });
      break;
    case 4:
      (parent as Record<string | number, unknown>)[key] = { type: 'repeat', count: pick(rng, [0, 1, 2, 3, 1e9, 1e300, 2 ** 53]), layers: [cur] };
      break;
    default:
      (parent as Record<string | number, unknown>)[key] = [cur];
      break;
  }
  return root;
}

/** Total ops a program runs per pair (loops multiplied out), to decide whether to evaluate it. */
function workOf(p: KernelProgram): number {
  let n = p.suffix.length + (p.sweep ? p.sweep.count * p.sweep.body.length : 0);
  for (const s of p.prefix) n += s.kind === 'ops' ? s.ops.length : s.count * s.body.length;
  return n;
}

/** How many specs had their kernels evaluated (reported, so the oracle is seen to run). */
const kernelRuns = { count: 0 };

const X = [
  [1, 2, 3],
  [0, 0, 0],
  [1, 2, 3.000001],
  [-1, -2, -3],
  [1e-3, 0, -2],
];

/**
 * A resolved spec is valid when it is a fixed point of resolveSpec, the compiler accepts it, and
 * (when small enough to evaluate quickly) its kernels on X are finite or an InputError explains why not.
 */
function validSpec(r: ResolvedSpec): void {
  // Compared as JSON: a -0 in the input stays -0 in the result but becomes 0 through JSON.
  const again = resolveSpec(JSON.parse(JSON.stringify(r)));
  expect(JSON.stringify(again)).toBe(JSON.stringify(r));
  let p: KernelProgram;
  try {
    p = compile(r);
  } catch (e) {
    if (e instanceof InputError && !/[\n\r]/.test(e.message)) return;
    throw new Error(`compile threw ${describeError(e)}`);
  }
  if (workOf(p) > 20_000) return;
  kernelRuns.count++;
  try {
    const res = kernelCpu(r, X);
    for (const k of [res.nngp!, res.ntk!]) {
      if (!k.every(Number.isFinite)) throw new Error(`kernelCpu returned a non-finite value: ${Array.from(k).join(', ')}`);
    }
  } catch (e) {
    if (e instanceof InputError && !/[\n\r]/.test(e.message)) return;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Preset references

function presetRef(rng: Rng): string {
  if (chance(rng, 0.3)) {
    return randomText(rng, ['arora2019', 'huang2020', 'mlp', 'resnet', ':', '=', ',', ' ', 'depth', 'gamma', 'alpha', '1', '-1', '1e400', 'nan', 'inf', 'true', '0.5', '1e300', '__proto__', 'constructor', '\n', '"'], 8);
  }
  const p = pick(rng, PRESETS);
  if (chance(rng, 0.5)) {
    // Mostly valid: each parameter with a value of its kind (alpha and gamma sometimes both).
    const parts: string[] = [];
    for (const [key, def] of Object.entries(p.params)) {
      if (def.kind !== 'depth' && chance(rng, 0.5)) continue;
      if (key === 'gamma' && parts.some((x) => x.startsWith('alpha=')) && chance(rng, 0.8)) continue;
      const value =
        def.kind === 'depth' ? String(1 + int(rng, 6))
        : def.kind === 'boolean' ? pick(rng, ['true', 'false'])
        : def.kind === 'choice' ? pick(rng, def.choices!)
        : def.kind === 'positive' ? pick(rng, ['0.5', '1', '2', '1e-3', '1e3'])
        : def.kind === 'nonNegative' ? pick(rng, ['0', '0.1', '1', '1e3'])
        : pick(rng, ['0', '0.5', '1', '-1', '2', '-3', '10', '-40', '1e3', '-1e3']);
      parts.push(`${key}=${value}`);
    }
    return `${p.name}:${parts.join(',')}`;
  }
  const keys = [...Object.keys(p.params), 'constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'x', ''];
  const parts: string[] = [];
  for (let i = int(rng, 4); i > 0; i--) {
    const key = chance(rng, 0.8) ? pick(rng, Object.keys(p.params)) : pick(rng, keys);
    const value = chance(rng, 0.6)
      ? pick(rng, ['1', '2', '3', '0.5', 'true', 'false', 'mean', 'sum', 'dim', 'none', '0'])
      : pick(rng, ['-1', '0', '1e400', '-inf', 'nan', 'NaN', '1e300', '9007199254740993', '1.5', '', 'x', '1e7', '1e9', '2e15', '-400', '400']);
    parts.push(`${key}=${value}`);
  }
  return parts.length ? `${p.name}:${parts.join(',')}` : p.name;
}

/** "given twice" must mean twice. */
function checkPresetError(ref: string) {
  return (e: InputError): string | null => {
    const m = /parameter "([^"]*)" given twice/.exec(e.message);
    if (!m) return null;
    const key = m[1]!;
    const count = ref.slice(ref.indexOf(':') + 1).split(',').filter((part) => part.slice(0, part.indexOf('=')).trim() === key).length;
    return count >= 2 ? null : `says "${key}" was given twice but it appears ${count} time(s)`;
  };
}

// ---------------------------------------------------------------------------------------------

const SEED = 0x5eed;
const ITERATIONS = { npy: 3000, csv: 3000, spec: 3000, preset: 1500 };

describe('fuzz: malformed input is an InputError with a one-line message, never a crash or hang', () => {
  it(`parseNpy (${ITERATIONS.npy} cases + deep nesting)`, { timeout: 60_000 }, () => {
    const rng = new Rng(SEED);
    const fz = new Fuzz('parseNpy');
    const read = (b: Uint8Array) => () => parseNpy(b, 'fuzz.npy');
    for (let i = 0; i < ITERATIONS.npy; i++) {
      const kind = int(rng, 10);
      if (kind === 0) {
        const b = randomBytes(rng, int(rng, 200));
        fz.run(`#${i} random bytes`, b, read(b), validNpyResult, npyPrefix);
      } else if (kind === 1) {
        const b = concat(Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]), randomBytes(rng, int(rng, 300)));
        fz.run(`#${i} magic + random bytes`, b, read(b), validNpyResult, npyPrefix);
      } else if (kind === 2) {
        const { bytes, shape } = npyFile(rng);
        fz.run(`#${i} valid file`, bytes, read(bytes), (r) => {
          validNpyResult(r);
          expect(r.shape).toEqual(shape);
        });
      } else {
        const b = mutateNpy(rng, chance(rng, 0.8) ? npyFile(rng).bytes : encodeNpy(Float64Array.from({ length: 6 }, () => rng.normal()), [2, 3]));
        fz.run(`#${i} mutated file`, b, read(b), validNpyResult, npyPrefix);
      }
    }
    // Nesting and long headers that random edits do not reach.
    for (const n of [100, 1000, 10_000, 100_000]) {
      for (const [open, close] of [['(', ')'], ['[', ']'], ['{', '}'], ["{'a': ", '}']]) {
        const b = assembleNpy(`{'descr': ${open!.repeat(n)}1${close!.repeat(n)}, 'fortran_order': False, 'shape': (1,), }`, new Uint8Array(8), 2);
        fz.run(`nesting ${n} ${open}`, `${b.length} bytes`, read(b), validNpyResult, npyPrefix);
      }
      const many = assembleNpy(`{'descr': '<f8', 'fortran_order': False, 'shape': (${'1, '.repeat(n)}), }`, new Uint8Array(8), 2);
      fz.run(`shape of ${n} ones`, `${many.length} bytes`, read(many), validNpyResult, npyPrefix);
      const longStr = assembleNpy(`{'descr': '${'\\x41'.repeat(n)}', 'fortran_order': False, 'shape': (1,), }`, new Uint8Array(8), 2);
      fz.run(`descr of ${n} escapes`, `${longStr.length} bytes`, read(longStr), validNpyResult, npyPrefix);
    }
    console.log(fz.summary());
    expect(fz.failures, fz.failures.join('\n')).toEqual([]);
  });

  it(`parseDelimited (${ITERATIONS.csv} cases)`, { timeout: 60_000 }, () => {
    const rng = new Rng(SEED + 1);
    const fz = new Fuzz('parseDelimited');
    for (let i = 0; i < ITERATIONS.csv; i++) {
      const kind = int(rng, 6);
      if (kind === 0) {
        const t = randomText(rng, CSV_ALPHABET, 60);
        fz.run(`#${i} random text`, t, () => parseDelimited(t, 'fuzz.csv'), validCsvResult, csvPrefix);
      } else if (kind === 1) {
        const v = validCsv(rng);
        fz.run(`#${i} valid file`, v.text, () => parseDelimited(v.text, 'fuzz.csv', chance(rng, 0.5) ? { delimiter: v.delimiter } : {}), (r) => {
          validCsvResult(r);
          expect(r.rows).toBe(v.rows);
          expect(r.cols).toBe(v.cols);
          expect(r.header).toEqual(v.header);
          expect(Array.from(r.data).every((x, j) => Object.is(x, v.data[j]))).toBe(true);
        });
      } else {
        const t = mutateCsv(rng, validCsv(rng).text);
        const opts = chance(rng, 0.3) ? { delimiter: pick(rng, [',', '\t', ';'] as const) } : {};
        fz.run(`#${i} mutated file`, t, () => parseDelimited(t, 'fuzz.csv', opts), validCsvResult, csvPrefix);
      }
    }
    // Size: a long single line, many short lines, a long quoted cell.
    for (const t of ['1,'.repeat(50_000) + '1', '1\n'.repeat(100_000), `"${'x'.repeat(200_000)}"\n1\n`, `x\n"${'1'.repeat(100_000)}`]) {
      fz.run(`large (${t.length} chars)`, t.slice(0, 50), () => parseDelimited(t, 'fuzz.csv'), validCsvResult, csvPrefix);
    }
    console.log(fz.summary());
    expect(fz.failures, fz.failures.join('\n')).toEqual([]);
  });

  it(`resolveSpec (${ITERATIONS.spec} cases + deep nesting + JavaScript values)`, { timeout: 60_000 }, () => {
    const rng = new Rng(SEED + 2);
    const fz = new Fuzz('resolveSpec');
    for (let i = 0; i < ITERATIONS.spec; i++) {
      const kind = int(rng, 6);
      const spec =
        kind === 0 ? randomValue(rng, 4)
        : kind === 1 ? randomSpec(rng)
        : kind === 2 ? mutateJson(rng, randomSpec(rng))
        : kind === 3 ? mutateJson(rng, mutateJson(rng, presetJson(rng)))
        : kind === 4 ? structuredSpec(rng)
        : mutateJson(rng, structuredSpec(rng));
      const what = ['random value', 'random spec', 'mutated spec', 'mutated preset', 'structured spec', 'mutated structured spec'][kind];
      fz.run(`#${i} ${what}`, spec, () => resolveSpec(spec), validSpec);
    }
    // Deep nesting (a JSON file can hold it): repeats in repeats, residual branches in branches.
    for (const n of [100, 1000, 10_000, 50_000]) {
      let rep: unknown = { type: 'dense' };
      let res: unknown = { type: 'dense' };
      for (let k = 0; k < n; k++) {
        rep = { type: 'repeat', count: 1, layers: [rep] };
        res = { type: 'residual', alpha: 1, branch: [{ type: 'dense' }, res] };
      }
      const specs = [
        { layers: [{ type: 'dense' }, rep] },
        { layers: [{ type: 'dense' }, res] },
        { layers: [{ type: 'dense' }], name: 'x', readout: Array.from({ length: n }, () => ({ type: 'dense' })) },
      ];
      specs.forEach((s, j) => fz.run(`nesting ${n} (${j})`, `depth ${n}`, () => resolveSpec(s), validSpec));
    }
    // What JavaScript callers can pass that JSON cannot hold.
    const circular: Record<string, unknown> = { type: 'dense' };
    circular.weightVar = circular;
    const js: unknown[] = [
      undefined, 10n, Symbol('s'), () => 1, new Date(0), new Map(), new Float64Array(2), Object.create(null),
      { layers: [{ type: 'dense', weightVar: 2n }] },
      { layers: [{ type: 'dense', weightVar: () => {
        return 1;
      } }] },
      { layers: [{ type: 'dense', weightVar: Symbol('w') }] },
      { layers: [circular] },
      { layers: [{ type: 'dense' }], name: 5n },
      { layers: [{ type: 'dense' }], format: 5n },
      { layers: [{ type: 'dense' }], inputScale: { toString: () => 'dim' } },
      { layers: [{ type: 'dense' }, { type: 'arccos', order: 10n }] },
      { layers: [{ type: 'dense' }, { type: 'repeat', count: 2n, layers: [{ type: 'dense' }] }] },
      { layers: [{ type: 'dense', weightVar: 'x'.repeat(100_000) }] },
      { layers: [{ type: 'dense', weightVar: Array.from({ length: 10_000 }, (_, k) => k) }] },
    ];
    js.forEach((s, j) => fz.run(`JavaScript value ${j}`, s, () => resolveSpec(s), validSpec));
    console.log(`${fz.summary()}; kernels evaluated for ${kernelRuns.count} valid specs`);
    expect(kernelRuns.count).toBeGreaterThan(300);
    expect(fz.failures, fz.failures.join('\n')).toEqual([]);
  });

  it('the writers (encodeNpy, npyHeader, formatCsv) with any JavaScript values', () => {
    const rng = new Rng(SEED + 4);
    const fz = new Fuzz('writers');
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const values: unknown[] = [
      undefined, null, 0, -1, 1.5, 2, 1e300, NaN, Infinity, 2n, Symbol('s\nt'), () => 1, 'float64', 'float32', 'int32', '', 'a\nb',
      [], [2], [2, 3], [3, 2], [-1, 2], [1.5, 2], [2n, 3], [Symbol('x'), 1], ['2', '3'], [1e300, 1e300], [2 ** 40, 2 ** 40], cyclic, {}, new Float64Array(6), { length: 6 },
    ];
    const valid = (r: unknown) => {
      if (!(r instanceof Uint8Array) && typeof r !== 'string') throw new Error(`returned ${typeof r}`);
    };
    for (let i = 0; i < 600; i++) {
      const data = chance(rng, 0.5) ? Float64Array.from({ length: pick(rng, [0, 1, 2, 6, 6, 6]) }, () => rng.normal()) : pick(rng, values);
      const shape = pick(rng, values);
      const other = pick(rng, values);
      const which = int(rng, 3);
      const label = `#${i} ${['encodeNpy', 'npyHeader', 'formatCsv'][which]}`;
      const input = { data: preview(data), shape: preview(shape), other: preview(other) };
      if (which === 0) fz.run(label, input, () => encodeNpy(data as number[], shape as number[], other as 'float64'), valid);
      else if (which === 1) fz.run(label, input, () => npyHeader(shape as number[], other as 'float64'), valid);
      else fz.run(label, input, () => formatCsv(data as number[], shape as number[], chance(rng, 0.5) ? { header: other as string[] } : { delimiter: other as ',' }), valid);
    }
    console.log(fz.summary());
    expect(fz.failures, fz.failures.join('\n')).toEqual([]);
  });

  it(`parsePresetRef (${ITERATIONS.preset} cases)`, { timeout: 60_000 }, () => {
    const rng = new Rng(SEED + 3);
    const fz = new Fuzz('parsePresetRef');
    for (let i = 0; i < ITERATIONS.preset; i++) {
      const ref = presetRef(rng);
      fz.run(`#${i}`, ref, () => resolveSpec(parsePresetRef(ref)), validSpec, checkPresetError(ref));
    }
    console.log(`${fz.summary()}; kernels evaluated for ${kernelRuns.count} specs in all`);
    expect(fz.failures, fz.failures.join('\n')).toEqual([]);
  });
});

/** Each bug the fuzzer found, pinned with its exact message (see the report in the commit). */
describe('fuzz regressions', () => {
  const messageOf = (run: () => unknown): string => {
    try {
      run();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return (e as Error).message;
    }
    throw new Error('no error');
  };
  const npy = (dict: string, version = 1) => assembleNpy(dict, new Uint8Array(8), version);

  it('npy: escapes in header strings no longer break the message over lines', () => {
    expect(messageOf(() => parseNpy(npy("{'descr': '<f8', 'fortran_\\norder': False, 'shape': (1,), }"), 'r.npy'))).toBe(
      "r.npy: header has unexpected key 'fortran_\\norder'",
    );
    expect(messageOf(() => parseNpy(npy("{'descr': '<f\\r8', 'fortran_order': False, 'shape': (1,), }"), 'r.npy'))).toMatch(
      /^r\.npy: unsupported dtype '<f\\r8' \(supported/,
    );
    // A raw U+2028 in a version 3.0 (UTF-8) header: JSON.stringify leaves it as it is.
    expect(messageOf(() => parseNpy(npy("{'descr': '<f8', 'fortran_order': T\u2028rue, 'shape': (1,), }", 3), 'r.npy'))).toBe(
      `r.npy: cannot parse header (unexpected "T" at offset 34): "{'descr': '<f8', 'fortran_order': T\\u2028rue, 'shape': (1,), }"`,
    );
  });

  it('npy: deep nesting is a parse error, not a stack overflow', () => {
    const deep = `{'descr': ${'('.repeat(10_000)}1${')'.repeat(10_000)}, 'fortran_order': False, 'shape': (1,), }`;
    // The dict is the first level: the 200th '(' (offset 209) is one too many.
    expect(messageOf(() => parseNpy(npy(deep, 2), 'r.npy'))).toBe(
      `r.npy: cannot parse header (nested more than 200 levels deep at offset 209): "{'descr': ${'('.repeat(69)}...`,
    );
    // 200 levels are still read (and the value is then rejected as a dtype, briefly).
    const ok = `{'descr': ${'['.repeat(199)}${']'.repeat(199)}, 'fortran_order': False, 'shape': (1,), }`;
    expect(messageOf(() => parseNpy(npy(ok, 2), 'r.npy'))).toBe(`r.npy: unsupported structured dtype ${'['.repeat(80)}... (supported: float16, float32, float64, (u)int8/16/32/64, bool)`);
  });

  it('npy: a long header value is cut in the message', () => {
    const m = messageOf(() => parseNpy(npy(`{'descr': '${'A'.repeat(5000)}', 'fortran_order': False, 'shape': (1,), }`, 2), 'r.npy'));
    expect(m).toBe(`r.npy: unsupported dtype '${'A'.repeat(79)}... (supported: float16, float32, float64, (u)int8/16/32/64, bool)`);
  });

  it('npy writer: BigInt and symbols in a shape or dtype are InputErrors, not TypeErrors', () => {
    expect(messageOf(() => encodeNpy([1, 2], [2n as unknown as number]))).toBe('npy: shape [2n] has an entry 2n that is not a non-negative integer');
    expect(messageOf(() => npyHeader([Symbol('s') as unknown as number], 'float64'))).toBe('npy: shape [null] has an entry Symbol(s) that is not a non-negative integer');
    expect(messageOf(() => encodeNpy([1], [1], [Symbol('d')] as unknown as 'float64'))).toBe(`npy: unsupported dtype [null] for writing (supported: float16, float32, float64, (u)int8/16/32/64, bool, or a numpy type string such as '<f8')`);
    expect(messageOf(() => encodeNpy([1], [1], 10n as unknown as 'float64'))).toBe(`npy: unsupported dtype 10n for writing (supported: float16, float32, float64, (u)int8/16/32/64, bool, or a numpy type string such as '<f8')`);
  });

  it('csv writer: a symbol among the values is an InputError', () => {
    expect(messageOf(() => formatCsv([1, Symbol('v')] as unknown as number[], [1, 2]))).toBe('csv: value at row 1, column 2 is Symbol(v): CSV holds finite numbers only');
  });

  it('spec: a repeat count of 1e9 is refused (it ran the compiler out of memory)', () => {
    expect(messageOf(() => resolveSpec({ layers: [{ type: 'dense' }, { type: 'repeat', count: 1e9, layers: [{ type: 'relu' }, { type: 'dense' }] }] }))).toBe(
      'layers[1].count: must be at most 10000000, got 1000000000',
    );
    expect(messageOf(() => resolveSpec({ layers: [{ type: 'dense' }, { type: 'denseBlock', depth: 2 ** 53 }] }))).toBe(
      'layers[1].depth: must be at most 10000000, got 9007199254740992',
    );
  });

  it('spec: deep nesting is a SpecError, not a stack overflow', () => {
    let layer: unknown = { type: 'dense' };
    for (let k = 0; k < 10_000; k++) layer = { type: 'repeat', count: 1, layers: [layer] };
    const m = messageOf(() => resolveSpec({ layers: [{ type: 'dense' }, layer] }));
    expect(m).toBe(`layers[1]${'.layers[0]'.repeat(32)}: layers are nested more than 32 levels deep (repeats and residual branches)`);
  });

  it('spec: strings, keys and JavaScript values are shown on one line', () => {
    expect(messageOf(() => resolveSpec({ layers: [{ type: 'a\nb' }] }))).toBe(
      'layers[0].type: unknown layer type "a\\nb" (known: dense, residual, denseBlock, repeat, conv, avgPool, eq, flatten, gap, relu, arccos, leakyRelu, abRelu, erf, gelu, tanh, sigmoid, softplus, numerical)',
    );
    expect(messageOf(() => resolveSpec({ layers: [{ type: 'dense' }], 'x\ny': 1 }))).toBe(
      '["x\\ny"]: unknown key (allowed: format, name, description, inputScale, layers, readout, normalize, sweepStart)',
    );
    expect(messageOf(() => resolveSpec(10n))).toBe('spec: must be an object, got 10n');
    expect(messageOf(() => resolveSpec({ layers: [{ type: 'dense' }], name: 5n }))).toBe('name: must be a string, got 5n');
    expect(messageOf(() => resolveSpec({ format: 10n, layers: [{ type: 'dense' }] }))).toBe('format: unsupported format 10n (expected "webntk-spec/1")');
    expect(messageOf(() => presetSpec('arora2019', { depth: 2n }))).toBe('arora2019: depth must be a finite number, got 2n');
  });

  it('presets: Object.prototype names are unknown parameters, never "given twice" or ignored', () => {
    expect(messageOf(() => parsePresetRef('huang2020:__proto__=true'))).toBe('huang2020: unknown parameter "__proto__" (known: depth, alpha, gamma, alpha0)');
    expect(messageOf(() => parsePresetRef('resnet:constructor=false'))).toBe(
      'resnet: unknown parameter "constructor" (known: depth, alpha, gamma, alpha0, cw2, cv2, trainStem, trainReadout)',
    );
    expect(messageOf(() => parsePresetRef('arora2019:depth=2,depth=3'))).toBe('preset "arora2019": parameter "depth" given twice');
    // Through presetSpec the same keys used to be accepted silently.
    expect(messageOf(() => presetSpec('arora2019', { depth: 2, toString: 5 }))).toBe('arora2019: unknown parameter "toString" (known: depth)');
  });

  it('presets: a line break in a reference stays escaped', () => {
    expect(messageOf(() => parsePresetRef('mlp\nx'))).toBe(
      'unknown preset "mlp\\nx" (known: arora2019, jacot2018, hayou2019, huang2020, belfer2021, tirer2021, resnet, densenet, mlp, cntk, rescnn)',
    );
    expect(messageOf(() => parsePresetRef('mlp:depth\n2'))).toBe('preset "mlp": expected key=value, got "depth\\n2"');
  });
});
