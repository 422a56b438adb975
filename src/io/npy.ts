/**
 * NumPy .npy reader/writer (format versions 1.0, 2.0 and 3.0). Runtime-neutral: it works on bytes
 * only (no file system), so it runs in browsers, Deno and Node alike.
 *
 * Format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 *   "\x93NUMPY" | major u8 | minor u8 | header length (u16 LE in 1.0, u32 LE in 2.0/3.0)
 *   | header: a Python-literal dict {'descr': ..., 'fortran_order': ..., 'shape': (...)}
 *     padded with spaces and ended by '\n' | raw data.
 *
 * Reading: any rank (0-D scalars included), float16/32/64, (u)int8/16/32/64 and bool, either byte
 * order, C or Fortran order; values come back as float64 in C order. Writing: the same dtypes,
 * either byte order, C order, byte-identical to numpy's `np.save` for the same array.
 */
import { InputError } from '../errors.js';
import { jsValue } from '../jsvalue.js';

/** The dtypes the CLI writes (`--dtype`), and what `NpyBlockWriter` streams. */
export type NpyDtype = 'float64' | 'float32';

/** Every dtype `parseNpy` reads and `encodeNpy` writes, by numpy's name for it. */
export type NpyDtypeName =
  | 'float64'
  | 'float32'
  | 'float16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool';

/**
 * A dtype to write: a name (`'float32'`), or a numpy type string with its byte order (`'<f4'`,
 * `'>i8'`, `'|b1'`), such as `NpyArray.dtype` holds, so that what was read can be written back as
 * it was.
 */
export type NpyWriteDtype = NpyDtypeName | (string & {});

/** Byte order of the values in a written file (numpy writes the machine's, little-endian nearly everywhere). */
export type NpyByteOrder = 'little' | 'big';

/** An n-dimensional array: values in C (row-major) order and the shape (`[]` for a scalar). */
export interface NdArray {
  data: Float64Array;
  shape: number[];
}

/** What `parseNpy` returns. */
export interface NpyArray extends NdArray {
  /** Values converted to float64, in C (row-major) order, whatever the file's order. */
  data: Float64Array;
  /** The shape; `[]` for a 0-D (scalar) array. */
  shape: number[];
  /** The numpy dtype the values were read from, e.g. '<f4', '>i8', '|u1'. */
  dtype: string;
}

export interface EncodeNpyOptions {
  /** Byte order of the values (default 'little'); one-byte dtypes have none. */
  byteOrder?: NpyByteOrder;
  /** The file's name, for error messages (default 'npy'). */
  name?: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** numpy aligns the start of the data to this many bytes (so files can be memory-mapped). */
const ARRAY_ALIGN = 64;
/** numpy leaves room after the dict so the growth axis can be rewritten in place (len(str(8*2**64-1))). */
const GROWTH_AXIS_MAX_DIGITS = 21;
const TWO_53 = 2n ** 53n;
/** Whether typed arrays on this platform are little-endian (as .npy files nearly always are). */
const LITTLE_ENDIAN_PLATFORM = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Parses a whole .npy file from its bytes (a `Uint8Array`, e.g. a Node Buffer or
 * `new Uint8Array(await file.arrayBuffer())`, or an ArrayBuffer). Any rank; float16/32/64,
 * (u)int8/16/32/64 and bool in either byte order; C or Fortran order; format versions 1.0–3.0.
 * Values are converted to float64 and always returned in C (row-major) order; 64-bit integers
 * beyond 2^53 are refused rather than rounded. Runtime-neutral (no Node APIs).
 *
 * @param name the file's name, leading every error message (default 'npy').
 * @throws InputError (one line, starting with `name`): not a .npy file, a truncated header or data,
 *   trailing bytes, an unsupported dtype or format version, a malformed header.
 */
export function parseNpy(bytes: Uint8Array | ArrayBufferLike, name = 'npy'): NpyArray {
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
  // The platform's byte order: whole copies of the bytes (any alignment), ~10× faster than DataView.
  const native = le === LITTLE_ENDIAN_PLATFORM;
  switch (type.kind) {
    case 'f8':
      if (native) new Uint8Array(raw.buffer).set(u8.subarray(dataStart, dataStart + 8 * count));
      else for (let i = 0; i < count; i++, off += 8) raw[i] = view.getFloat64(off, le);
      break;
    case 'f4':
      if (native) {
        const f = new Float32Array(count);
        new Uint8Array(f.buffer).set(u8.subarray(dataStart, dataStart + 4 * count));
        raw.set(f);
      } else for (let i = 0; i < count; i++, off += 4) raw[i] = view.getFloat32(off, le);
      break;
    case 'f2':
      for (let i = 0; i < count; i++, off += 2) raw[i] = halfToNumber(view.getUint16(off, le));
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

type DtypeKind = 'f2' | 'f4' | 'f8' | 'i1' | 'i2' | 'i4' | 'i8' | 'u1' | 'u2' | 'u4' | 'u8' | 'b1';

const DTYPE_LABELS: Record<DtypeKind, NpyDtypeName> = {
  f2: 'float16', f4: 'float32', f8: 'float64', b1: 'bool',
  i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64',
};

const UNSUPPORTED_KINDS: Record<string, string> = {
  O: 'Python objects', U: 'unicode strings', S: 'byte strings', a: 'byte strings', V: 'raw/void',
  c: 'complex', M: 'datetime', m: 'timedelta', f: 'extended precision float',
};

const SUPPORTED = 'float16, float32, float64, (u)int8/16/32/64, bool';

interface DtypeInfo {
  descr: string;
  kind: DtypeKind;
  itemsize: number;
  littleEndian: boolean;
  label: string;
}

function dtypeInfo(descr: string | PyValue, fail: (p: string) => never): DtypeInfo {
  const supported = `supported: ${SUPPORTED}`;
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

/** An IEEE 754 half-precision value (its 16 bits) as a number; exact. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (0x400 + frac) * 2 ** (exp - 25);
}

/**
 * The half-precision bits nearest to x (ties to even, as numpy's astype(float16) rounds):
 * rounded once from float64, not through float32, which would round twice. Beyond 65520: ±Inf.
 */
function numberToHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24); // subnormal; 1024 carries into the smallest normal
  if (a === Infinity) return sign | 0x7c00;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  if (e > 15) return sign | 0x7c00;
  // a / 2^e is in [1, 2) and every step is exact; a mantissa of 1024 carries into the exponent.
  const bits = ((e + 15) << 10) + roundHalfEven((a / 2 ** e - 1) * 1024);
  return sign | Math.min(bits, 0x7c00);
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
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

const NAME_TO_KIND: Record<NpyDtypeName, DtypeKind> = {
  float64: 'f8', float32: 'f4', float16: 'f2',
  int8: 'i1', int16: 'i2', int32: 'i4', int64: 'i8',
  uint8: 'u1', uint16: 'u2', uint32: 'u4', uint64: 'u8',
  bool: 'b1',
};

/** Inclusive ranges of the integer kinds (64-bit bounds are exact powers of two, so exact as numbers). */
const INT_RANGES: Partial<Record<DtypeKind, [number, number]>> = {
  i1: [-(2 ** 7), 2 ** 7 - 1], i2: [-(2 ** 15), 2 ** 15 - 1], i4: [-(2 ** 31), 2 ** 31 - 1], i8: [-(2 ** 63), 2 ** 63],
  u1: [0, 2 ** 8 - 1], u2: [0, 2 ** 16 - 1], u4: [0, 2 ** 32 - 1], u8: [0, 2 ** 64],
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface WriteType {
  kind: DtypeKind;
  descr: string;
  itemsize: number;
  littleEndian: boolean;
  label: NpyDtypeName;
}

function checkShape(shape: readonly number[], name = 'npy'): number {
  if (!Array.isArray(shape)) throw new InputError(`${name}: shape must be an array of integers`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new InputError(`${name}: shape ${jsValue(shape)} has an entry ${jsValue(d)} that is not a non-negative integer`);
    }
  }
  const count = shapeProduct(shape);
  if (count === undefined) throw new InputError(`${name}: shape ${formatShape(shape)} is too large`);
  return count;
}

/** A dtype name or numpy type string, and a byte order, as what gets written. */
function writeType(dtype: unknown, byteOrder: unknown, name: string): WriteType {
  if (byteOrder !== undefined && byteOrder !== 'little' && byteOrder !== 'big') {
    throw new InputError(`${name}: byteOrder must be 'little' or 'big', got ${jsValue(byteOrder)}`);
  }
  let kind: DtypeKind | undefined;
  let order: string | undefined;
  if (typeof dtype === 'string' && Object.hasOwn(NAME_TO_KIND, dtype)) {
    kind = NAME_TO_KIND[dtype as NpyDtypeName];
  } else if (typeof dtype === 'string') {
    const m = /^([<>|=]?)([fiub]\d)$/.exec(dtype);
    if (m && Object.hasOwn(DTYPE_LABELS, m[2]!)) {
      kind = m[2] as DtypeKind;
      order = m[1];
    }
  }
  if (kind === undefined) {
    throw new InputError(`${name}: unsupported dtype ${jsValue(dtype)} for writing (supported: ${SUPPORTED}, or a numpy type string such as '<f8')`);
  }
  const itemsize = Number(kind.slice(1));
  // '<' or '>' in a type string fixes the order; '=' and '' mean native (little-endian here).
  const fixed = order === '<' ? 'little' : order === '>' ? 'big' : undefined;
  if (fixed !== undefined && byteOrder !== undefined && fixed !== byteOrder && itemsize > 1) {
    throw new InputError(`${name}: dtype ${jsValue(dtype)} is ${fixed}-endian but byteOrder is ${jsValue(byteOrder)}`);
  }
  const littleEndian = (fixed ?? byteOrder ?? 'little') === 'little';
  // numpy writes '|' for one-byte types (no byte order), '<' or '>' for the others.
  const descr = `${itemsize === 1 ? '|' : littleEndian ? '<' : '>'}${kind}`;
  return { kind, descr, itemsize, littleEndian, label: DTYPE_LABELS[kind] };
}

/**
 * Header bytes (magic, version, padded dict) for an array of this shape and dtype, C order,
 * little-endian unless `opts.byteOrder` says otherwise. Data length in bytes = product(shape) *
 * itemsize. Byte-identical to what numpy (>= 1.24) writes for the same array.
 */
export function npyHeader(shape: readonly number[], dtype: NpyWriteDtype, opts: EncodeNpyOptions = {}): Uint8Array {
  const name = opts.name ?? 'npy';
  checkShape(shape, name);
  const { descr } = writeType(dtype, opts.byteOrder, name);
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
  throw new InputError(`${name}: header for shape of ${shape.length} dimensions is too large`);
}

/**
 * A whole .npy file (header + data, C order) as bytes: `data` holds the values in C (row-major)
 * order, `shape` is `[]` for a scalar. Floats are rounded to the dtype (float32 and float16 to
 * nearest, ties to even; beyond their range: ±Infinity, as numpy does); integer and bool dtypes
 * take only values they hold exactly (an InputError names the first that does not). BigInt values
 * (a BigInt64Array) are written exactly to int64/uint64, and converted to the nearest number otherwise.
 * `parseNpy(encodeNpy(x, shape, 'float64'))` returns x exactly. Runtime-neutral (no Node APIs).
 */
export function encodeNpy(
  data: ArrayLike<number | bigint>,
  shape: readonly number[],
  dtype: NpyWriteDtype = 'float64',
  opts: EncodeNpyOptions = {},
): Uint8Array {
  const name = opts.name ?? 'npy';
  const count = checkShape(shape, name);
  const type = writeType(dtype, opts.byteOrder, name);
  const length = (data as { length?: unknown } | null | undefined)?.length;
  if (typeof length !== 'number') throw new InputError(`${name}: data must be an array of numbers, got ${jsValue(data)}`);
  if (length !== count) {
    throw new InputError(`${name}: data has ${length} values but shape ${formatShape(shape)} needs ${count}`);
  }
  const header = npyHeader(shape, type.descr, { name });
  const out = new Uint8Array(header.length + count * type.itemsize);
  out.set(header, 0);
  writeValues(out, header.length, data, type, shape, name);
  return out;
}

function isNumberTypedArray(x: unknown): x is Float64Array | Float32Array | Int32Array {
  return ArrayBuffer.isView(x) && !(x instanceof DataView) && !(x instanceof BigInt64Array) && !(x instanceof BigUint64Array);
}

function writeValues(out: Uint8Array, start: number, data: ArrayLike<number | bigint>, type: WriteType, shape: readonly number[], name: string): void {
  const count = data.length;
  const { kind, littleEndian: le } = type;
  // The header is 64-byte aligned, so the values can be copied as one typed array.
  if (le === HOST_LITTLE_ENDIAN && isNumberTypedArray(data) && (kind === 'f8' || kind === 'f4')) {
    (kind === 'f8' ? new Float64Array(out.buffer, start, count) : new Float32Array(out.buffer, start, count)).set(data);
    return;
  }
  const view = new DataView(out.buffer);
  const bad = (i: number, v: unknown, holds: string): never => {
    const where = shape.length === 0 ? 'the value' : `element [${multiIndex(i, shape).join(', ')}]`;
    const why = typeof v === 'number' || typeof v === 'bigint' ? `${type.label} holds ${holds}` : 'not a number';
    throw new InputError(`${name}: ${where} is ${jsValue(v)}: ${why}`);
  };
  const range = INT_RANGES[kind];
  const wide = kind === 'i8' || kind === 'u8';
  const holds = range ? `integers from ${kind === 'i8' ? '-2^63' : range[0]} to ${kind === 'i8' ? '2^63 - 1' : kind === 'u8' ? '2^64 - 1' : range[1]}` : '';
  let off = start;
  for (let i = 0; i < count; i++, off += type.itemsize) {
    const v = data[i];
    if (typeof v === 'bigint') {
      // BigInt values: exact for the 64-bit integer dtypes, converted to the nearest number otherwise.
      if (wide) {
        if (v < BigInt(range![0]) || v >= BigInt(range![1])) bad(i, v, holds);
        if (kind === 'i8') view.setBigInt64(off, v, le);
        else view.setBigUint64(off, v, le);
        continue;
      }
    } else if (typeof v !== 'number') {
      bad(i, v, '');
    }
    const x = Number(v);
    if (range && !(Number.isInteger(x) && x >= range[0] && (wide ? x < range[1] : x <= range[1]))) bad(i, v, holds);
    switch (kind) {
      case 'f8': view.setFloat64(off, x, le); break;
      case 'f4': view.setFloat32(off, x, le); break;
      case 'f2': view.setUint16(off, numberToHalf(x), le); break;
      case 'i1': view.setInt8(off, x); break;
      case 'u1': view.setUint8(off, x); break;
      case 'i2': view.setInt16(off, x, le); break;
      case 'u2': view.setUint16(off, x, le); break;
      case 'i4': view.setInt32(off, x, le); break;
      case 'u4': view.setUint32(off, x, le); break;
      case 'i8': view.setBigInt64(off, BigInt(x), le); break;
      case 'u8': view.setBigUint64(off, BigInt(x), le); break;
      case 'b1':
        if (x !== 0 && x !== 1) bad(i, v, '0 and 1 only');
        view.setUint8(off, x);
        break;
    }
  }
}

/** The C-order multi-index of flat position i. */
function multiIndex(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}
