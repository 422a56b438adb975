/**
 * NumPy .npy reader/writer (format versions 1.0, 2.0 and 3.0). Runtime-neutral: it works on bytes
 * only (no file system), so it runs in browsers, Deno and Node alike.
 *
 * Format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 *   "\x93NUMPY" | major u8 | minor u8 | header length (u16 LE in 1.0, u32 LE in 2.0/3.0)
 *   | header: a Python-literal dict {'descr': ..., 'fortran_order': ..., 'shape': (...)}
 *     padded with spaces and ended by '\n' | raw data.
 */
import { InputError } from '../errors.js';
import { jsValue } from '../jsvalue.js';

export type NpyDtype = 'float64' | 'float32';

export interface NpyArray {
  /** Values converted to float64, in C (row-major) order. */
  data: Float64Array;
  shape: number[];
  /** The numpy dtype the values were read from, e.g. '<f4', '>i8', '|u1'. */
  dtype: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** numpy aligns the start of the data to this many bytes (so files can be memory-mapped). */
const ARRAY_ALIGN = 64;
/** numpy leaves room after the dict so the growth axis can be rewritten in place (len(str(8*2**64-1))). */
const GROWTH_AXIS_MAX_DIGITS = 21;
const TWO_53 = 2n ** 53n;

// ---------------------------------------------------------------------------------------------
// Reading

/** Parses a whole .npy file. Values are converted to float64, always returned in C (row-major) order. */
export function parseNpy(bytes: Uint8Array | ArrayBuffer, name = 'npy'): NpyArray {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const fail = (problem: string): never => {
    throw new InputError(`${name}: ${problem}`);
  };

  checkMagic(u8, fail);
  if (u8.length < 8) fail(`truncated header: file has only ${u8.length} bytes`);
  const major = u8[6]!;
  const minor = u8[7]!;
  // 1.0 has a 2-byte header length; 2.0 widened it to 4 bytes; 3.0 only changed latin1 -> utf8.
  let lenBytes: number;
  if (major === 1 && minor === 0) lenBytes = 2;
  else if ((major === 2 || major === 3) && minor === 0) lenBytes = 4;
  else return fail(`unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);

  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const preamble = 8 + lenBytes;
  if (u8.length < preamble) fail(`truncated header: file has only ${u8.length} bytes`);
  const headerLen = lenBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = preamble + headerLen;
  if (u8.length < dataStart) {
    fail(`truncated header: header length says ${headerLen} bytes, file has ${u8.length - preamble} after the preamble`);
  }
  const headerBytes = u8.subarray(preamble, dataStart);
  const headerText = major === 3 ? decodeUtf8(headerBytes, fail) : decodeLatin1(headerBytes);

  const header = readHeaderDict(headerText, fail);
  const type = dtypeInfo(header.descr, fail);
  const { shape, fortranOrder } = header;

  // Check the size before allocating anything; shapes come from untrusted files.
  const count = shapeProduct(shape);
  if (count === undefined) return fail(`shape ${formatShape(shape)} is too large`);
  const needed = count * type.itemsize;
  const available = u8.length - dataStart;
  const says = () => `header says shape ${formatShape(shape)} ${type.label} = ${needed} bytes of data, file has ${available}`;
  if (available < needed) fail(`truncated: ${says()}`);
  if (available > needed) fail(`${available - needed} trailing bytes after the data: ${says()}`);

  // DataView rather than typed-array views: the data offset need not be aligned (a writer may
  // not have padded the header) and the byte order may differ from the platform's.
  const raw = new Float64Array(count);
  const le = type.littleEndian;
  let off = dataStart;
  switch (type.kind) {
    case 'f8':
      for (let i = 0; i < count; i++, off += 8) raw[i] = view.getFloat64(off, le);
      break;
    case 'f4':
      for (let i = 0; i < count; i++, off += 4) raw[i] = view.getFloat32(off, le);
      break;
    case 'i1':
      for (let i = 0; i < count; i++, off += 1) raw[i] = view.getInt8(off);
      break;
    case 'u1':
      for (let i = 0; i < count; i++, off += 1) raw[i] = view.getUint8(off);
      break;
    case 'b1': // numpy treats any non-zero byte as True
      for (let i = 0; i < count; i++, off += 1) raw[i] = view.getUint8(off) === 0 ? 0 : 1;
      break;
    case 'i2':
      for (let i = 0; i < count; i++, off += 2) raw[i] = view.getInt16(off, le);
      break;
    case 'u2':
      for (let i = 0; i < count; i++, off += 2) raw[i] = view.getUint16(off, le);
      break;
    case 'i4':
      for (let i = 0; i < count; i++, off += 4) raw[i] = view.getInt32(off, le);
      break;
    case 'u4':
      for (let i = 0; i < count; i++, off += 4) raw[i] = view.getUint32(off, le);
      break;
    case 'i8':
    case 'u8':
      for (let i = 0; i < count; i++, off += 8) {
        const v = type.kind === 'i8' ? view.getBigInt64(off, le) : view.getBigUint64(off, le);
        // Beyond 2^53 float64 can no longer hold every integer: refuse rather than round silently.
        if (v > TWO_53 || v < -TWO_53) {
          fail(`${type.label} value ${v} (element ${i}) cannot be represented exactly as float64 (|value| > 2^53)`);
        }
        raw[i] = Number(v);
      }
      break;
  }

  const data = fortranOrder && shape.length > 1 ? fortranToC(raw, shape) : raw;
  return { data, shape, dtype: type.descr };
}

function checkMagic(u8: Uint8Array, fail: (p: string) => never): void {
  if (u8.length === 0) fail('empty file, not a .npy file');
  const n = Math.min(u8.length, MAGIC.length);
  for (let i = 0; i < n; i++) {
    if (u8[i] !== MAGIC[i]) {
      const got = Array.from(u8.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
      // A common mix-up: np.savez output (a zip archive) passed where a .npy is expected.
      const hint = u8[0] === 0x50 && u8[1] === 0x4b ? ' (this looks like a zip archive, e.g. an .npz file)' : '';
      fail(`not a .npy file: expected magic \\x93NUMPY, got bytes ${got}${hint}`);
    }
  }
  if (u8.length < MAGIC.length) fail(`truncated header: file has only ${u8.length} bytes`);
}

function decodeLatin1(b: Uint8Array): string {
  // Not TextDecoder('latin1'): per WHATWG that label means windows-1252, which remaps 0x80-0x9f.
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

function decodeUtf8(b: Uint8Array, fail: (p: string) => never): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return fail('header is not valid UTF-8 (required by format version 3.0)');
  }
}

interface Header {
  descr: string | PyValue;
  fortranOrder: boolean;
  shape: number[];
}

/** Validates the header dict the way numpy does: exactly the three keys, with the right types. */
function readHeaderDict(text: string, fail: (p: string) => never): Header {
  let dict: PyValue;
  try {
    dict = parsePyLiteral(text);
  } catch (e) {
    if (!(e instanceof PySyntaxError)) throw e;
    return fail(`cannot parse header (${e.message}): ${quoted(text.trim())}`);
  }
  if (dict.t !== 'dict') return fail(`header is not a dict: ${brief(dict)}`);

  const values = new Map<string, PyValue>();
  for (const [k, v] of dict.entries) {
    if (k.t !== 'str') fail(`header has a non-string key ${brief(k)}`);
    const key = k.v;
    if (key !== 'descr' && key !== 'fortran_order' && key !== 'shape') fail(`header has unexpected key ${brief(k)}`);
    if (values.has(key)) fail(`header has key '${key}' twice`);
    values.set(key, v);
  }
  const get = (key: string): PyValue => values.get(key) ?? fail(`header is missing key '${key}'`);

  const descr = get('descr');
  const fo = get('fortran_order');
  if (fo.t !== 'bool') fail(`header 'fortran_order' is not True/False: ${brief(fo)}`);
  const sh = get('shape');
  if (sh.t !== 'tuple') fail(`header 'shape' is not a tuple: ${brief(sh)}`);

  const shape = sh.items.map((item) => {
    const n = item.t === 'num' ? Number(item.text) : NaN;
    if (item.t !== 'num' || !/^\+?\d+$/.test(item.text) || !Number.isSafeInteger(n)) {
      fail(`header 'shape' ${brief(sh)} has an entry ${brief(item)} that is not a non-negative integer`);
    }
    return n;
  });
  return { descr: descr.t === 'str' ? descr.v : descr, fortranOrder: fo.v, shape };
}

type DtypeKind = 'f4' | 'f8' | 'i1' | 'i2' | 'i4' | 'i8' | 'u1' | 'u2' | 'u4' | 'u8' | 'b1';

const DTYPE_LABELS: Record<DtypeKind, string> = {
  f4: 'float32', f8: 'float64', b1: 'bool',
  i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64',
};

const UNSUPPORTED_KINDS: Record<string, string> = {
  O: 'Python objects', U: 'unicode strings', S: 'byte strings', a: 'byte strings', V: 'raw/void',
  c: 'complex', M: 'datetime', m: 'timedelta', f: 'half or extended precision float',
};

interface DtypeInfo {
  descr: string;
  kind: DtypeKind;
  itemsize: number;
  littleEndian: boolean;
  label: string;
}

function dtypeInfo(descr: string | PyValue, fail: (p: string) => never): DtypeInfo {
  const supported = 'supported: float32, float64, (u)int8/16/32/64, bool';
  if (typeof descr !== 'string') {
    // numpy writes structured (record) dtypes as a list of (name, type) tuples.
    const what = descr.t === 'list' ? 'structured dtype' : 'dtype';
    return fail(`unsupported ${what} ${brief(descr)} (${supported})`);
  }
  // Byte order, type character, item size; datetimes carry a unit suffix like '<M8[ns]'.
  const m = /^([<>|=]?)([a-zA-Z])(\d*)(\[\w+\])?$/.exec(descr);
  const order = m?.[1] ?? '';
  const kind = `${m?.[2] ?? ''}${m?.[3] ?? ''}`;
  if (!m || m[4] || !(kind in DTYPE_LABELS)) {
    const what = m ? UNSUPPORTED_KINDS[m[2]!] : undefined;
    return fail(`unsupported dtype ${brief({ t: 'str', v: descr })}${what ? ` (${what})` : ''} (${supported})`);
  }
  const k = kind as DtypeKind;
  // '|' = byte order not applicable (1-byte types); '=' and '' = native, little-endian on every
  // platform this runs on (x86, ARM, WebAssembly hosts).
  return { descr, kind: k, itemsize: Number(m[3]), littleEndian: order !== '>', label: DTYPE_LABELS[k] };
}

/** Reorders column-major (Fortran) data of the given shape into row-major (C) order. */
function fortranToC(src: Float64Array, shape: readonly number[]): Float64Array {
  const n = src.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  const nd = shape.length;
  // Fortran strides: the first axis varies fastest.
  const fstride = new Array<number>(nd);
  for (let d = 0, s = 1; d < nd; d++) {
    fstride[d] = s;
    s *= shape[d]!;
  }
  // Walk the C-order multi-index like an odometer (last axis fastest), tracking the Fortran offset.
  const idx = new Array<number>(nd).fill(0);
  let f = 0;
  for (let c = 0; c < n; c++) {
    out[c] = src[f]!;
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) {
        f += fstride[d]!;
        break;
      }
      f -= (shape[d]! - 1) * fstride[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A small parser for the Python literals that appear in .npy headers (what ast.literal_eval
// accepts for them): strings, integers, floats, True/False/None, tuples, lists and dicts.

type PyValue =
  | { t: 'str'; v: string }
  | { t: 'num'; text: string }
  | { t: 'bool'; v: boolean }
  | { t: 'none' }
  | { t: 'tuple'; items: PyValue[] }
  | { t: 'list'; items: PyValue[] }
  | { t: 'dict'; entries: [PyValue, PyValue][] };

class PySyntaxError extends Error {}

/** Deepest nesting of brackets accepted in a header. */
const MAX_NESTING = 200;

function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const err = (what: string): never => {
    throw new PySyntaxError(pos < text.length ? `${what} at offset ${pos}` : `${what} at end of header`);
  };
  const skipWs = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const peek = () => {
    skipWs();
    return text[pos];
  };
  const expect = (ch: string) => {
    if (peek() !== ch) err(`expected '${ch}'`);
    pos++;
  };

  /** Items up to `close`, comma-separated, trailing comma allowed. Returns whether any comma was seen. */
  const sequence = <T>(close: string, item: () => T): { items: T[]; comma: boolean } => {
    const items: T[] = [];
    let comma = false;
    while (peek() !== close) {
      items.push(item());
      if (peek() === ',') {
        pos++;
        comma = true;
      } else if (peek() !== close) {
        err(`expected ',' or '${close}'`);
      }
    }
    pos++;
    return { items, comma };
  };

  // Nesting is bounded (like Python's parser, which stops at 200 levels): the parser recurses,
  // and a header of a few kB of brackets would otherwise overflow the stack.
  let depth = 0;
  const value = (): PyValue => {
    const ch = peek();
    if (ch === undefined) return err('unexpected end');
    if (ch === '{' || ch === '[' || ch === '(') {
      if (depth >= MAX_NESTING) err(`nested more than ${MAX_NESTING} levels deep`);
      depth++;
      const v = container(ch);
      depth--;
      return v;
    }
    return scalar(ch);
  };

  const container = (ch: string): PyValue => {
    if (ch === '{') {
      pos++;
      const entries = sequence('}', (): [PyValue, PyValue] => {
        const k = value();
        expect(':');
        return [k, value()];
      }).items;
      return { t: 'dict', entries };
    }
    if (ch === '[') {
      pos++;
      return { t: 'list', items: sequence(']', value).items };
    }
    if (ch === '(') {
      pos++;
      const { items, comma } = sequence(')', value);
      // (x) is just x in Python; only (x,) is a one-element tuple.
      if (items.length === 1 && !comma) return items[0]!;
      return { t: 'tuple', items };
    }
    return err(`unexpected ${quoted(ch)}`);
  };

  const scalar = (ch: string): PyValue => {
    if (ch === "'" || ch === '"') return { t: 'str', v: str(ch) };
    const num = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(pos));
    if (num) {
      pos += num[0].length;
      if (text[pos] === 'L' || text[pos] === 'l') pos++; // Python 2 long suffix (old headers)
      return { t: 'num', text: num[0] };
    }
    const word = /^[A-Za-z_]\w*/.exec(text.slice(pos))?.[0];
    if (word === 'True' || word === 'False') {
      pos += word.length;
      return { t: 'bool', v: word === 'True' };
    }
    if (word === 'None') {
      pos += word.length;
      return { t: 'none' };
    }
    return err(`unexpected ${quoted(word ?? ch)}`);
  };

  const str = (quote: string): string => {
    pos++;
    let s = '';
    while (pos < text.length && text[pos] !== quote) {
      let c = text[pos++]!;
      if (c === '\n') err('newline inside a string');
      if (c === '\\') {
        const e = text[pos++];
        if (e === undefined) break;
        const hex = e === 'x' ? 2 : e === 'u' ? 4 : 0;
        if (hex) {
          const digits = text.slice(pos, pos + hex);
          if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== hex) err('bad escape in string');
          c = String.fromCharCode(parseInt(digits, 16));
          pos += hex;
        } else {
          c = ({ n: '\n', t: '\t', r: '\r', '0': '\0' } as Record<string, string>)[e] ?? e;
        }
      }
      s += c;
    }
    if (pos >= text.length) err('unterminated string');
    pos++;
    return s;
  };

  const result = value();
  skipWs();
  if (pos < text.length) err('unexpected text after the dict');
  return result;
}

/** Longest rendering of a header value in an error message. */
const MAX_SHOWN = 80;

function clip(s: string): string {
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}...` : s;
}

/** A header value for an error message: Python's repr, cut to MAX_SHOWN characters. */
function brief(v: PyValue): string {
  return clip(pyRepr(v));
}

/** Text in double quotes for an error message: escaped onto one line, cut to MAX_SHOWN characters. */
function quoted(s: string): string {
  return clip(JSON.stringify(s).replace(/[\u0080-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** The characters of a Python string literal as repr writes them: one line, printable. */
function escapePy(s: string): string {
  return s.replace(/[\\'\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    const code = c.charCodeAt(0);
    return named[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/** Python-style rendering, for error messages. */
function pyRepr(v: PyValue): string {
  switch (v.t) {
    case 'str':
      return `'${escapePy(v.v)}'`;
    case 'num':
      return v.text;
    case 'bool':
      return v.v ? 'True' : 'False';
    case 'none':
      return 'None';
    case 'tuple':
      return v.items.length === 1 ? `(${pyRepr(v.items[0]!)},)` : `(${v.items.map(pyRepr).join(', ')})`;
    case 'list':
      return `[${v.items.map(pyRepr).join(', ')}]`;
    case 'dict':
      return `{${v.entries.map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  }
}

/** Number of elements, or undefined when it is not a safe integer (an empty axis wins over huge ones). */
function shapeProduct(shape: readonly number[]): number | undefined {
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const d of shape) count *= d;
  return Number.isSafeInteger(count) ? count : undefined;
}

/** A shape as Python's repr of a tuple: (), (5,), (3, 4). */
function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// Writing

const WRITE_DTYPES: Record<NpyDtype, { descr: string; itemsize: number }> = {
  float64: { descr: '<f8', itemsize: 8 },
  float32: { descr: '<f4', itemsize: 4 },
};

function checkShape(shape: readonly number[]): number {
  if (!Array.isArray(shape)) throw new InputError(`npy: shape must be an array of integers`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new InputError(`npy: shape ${jsValue(shape)} has an entry ${jsValue(d)} that is not a non-negative integer`);
    }
  }
  const count = shapeProduct(shape);
  if (count === undefined) throw new InputError(`npy: shape ${formatShape(shape)} is too large`);
  return count;
}

function writeDtype(dtype: NpyDtype): { descr: string; itemsize: number } {
  const w = typeof dtype === 'string' && Object.hasOwn(WRITE_DTYPES, dtype) ? WRITE_DTYPES[dtype] : undefined;
  if (!w) throw new InputError(`npy: unsupported dtype ${jsValue(dtype)} for writing (use 'float64' or 'float32')`);
  return w;
}

/**
 * Header bytes (magic, version, padded dict) for an array of this shape/dtype, C order,
 * little-endian. Data length in bytes = product(shape) * itemsize. Byte-identical to what numpy
 * (>= 1.24) writes for the same array.
 */
export function npyHeader(shape: readonly number[], dtype: NpyDtype): Uint8Array {
  checkShape(shape);
  const { descr } = writeDtype(dtype);
  // Keys sorted, each followed by ", ", exactly as numpy builds it; then spare room for the
  // growth axis (the first one in C order) to be rewritten in place.
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${formatShape(shape)}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));

  // Version 1.0 stores the header length in a uint16; fall back to 2.0 (uint32) when too long.
  // The dict is pure ASCII, so latin1 (1.0/2.0) is enough and 3.0 is never needed.
  for (const [major, lenBytes] of [[1, 2], [2, 4]] as const) {
    const preamble = MAGIC.length + 2 + lenBytes;
    const unpadded = dict.length + 1; // + the final '\n'
    // Like numpy: always at least one space, so an already aligned header gains a full block.
    const pad = ARRAY_ALIGN - ((preamble + unpadded) % ARRAY_ALIGN);
    const headerLen = unpadded + pad;
    if (lenBytes === 2 && headerLen > 0xffff) continue;

    const out = new Uint8Array(preamble + headerLen);
    out.set(MAGIC, 0);
    out[6] = major;
    out[7] = 0;
    const view = new DataView(out.buffer);
    if (lenBytes === 2) view.setUint16(8, headerLen, true);
    else view.setUint32(8, headerLen, true);
    for (let i = 0; i < dict.length; i++) out[preamble + i] = dict.charCodeAt(i);
    out.fill(0x20, preamble + dict.length, out.length - 1);
    out[out.length - 1] = 0x0a;
    return out;
  }
  throw new InputError(`npy: header for shape of ${shape.length} dimensions is too large`);
}

/** Whole file: header + data (little-endian), C order. */
export function encodeNpy(data: ArrayLike<number>, shape: readonly number[], dtype: NpyDtype = 'float64'): Uint8Array {
  const count = checkShape(shape);
  const { itemsize } = writeDtype(dtype);
  if (data.length !== count) {
    throw new InputError(`npy: data has ${data.length} values but shape ${formatShape(shape)} needs ${count}`);
  }
  const header = npyHeader(shape, dtype);
  const out = new Uint8Array(header.length + count * itemsize);
  out.set(header, 0);
  const view = new DataView(out.buffer);
  let off = header.length;
  if (dtype === 'float64') {
    for (let i = 0; i < count; i++, off += 8) view.setFloat64(off, data[i]!, true);
  } else {
    for (let i = 0; i < count; i++, off += 4) view.setFloat32(off, data[i]!, true);
  }
  return out;
}
