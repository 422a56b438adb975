import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { encodeNpy, npyHeader, parseNpy, type NpyDtypeName } from '../src/io/npy.js';

const fromBase64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/**
 * Whole files written by real numpy (2.4.6, `np.save`, or `numpy.lib.format.write_array` where a
 * version is given), base64-encoded. Regenerate with:
 *
 *   f = io.BytesIO(); np.save(f, arr); base64.b64encode(f.getvalue())
 *
 *   be_f8_2x3            np.array([[1.5, -2.25, 3e300], [0.1, -0.0, 5e-324]], dtype='>f8')
 *   be_i4                np.array([1, -2, 2**31 - 1, -2**31], dtype='>i4')
 *   le_f4                np.array([0.1, -3.5, 1e30, 65504.0], dtype='<f4')
 *   fortran_2x3          np.asfortranarray(np.arange(6.0).reshape(2, 3))
 *   fortran_2x3x2        np.asfortranarray(np.arange(12.0).reshape(2, 3, 2))
 *   fortran_be_i2_2x3x2  np.asfortranarray((np.arange(12) - 6).reshape(2, 3, 2).astype('>i2'))
 *   i1 u1 i2 u2 i4 u4 i8 u8 be_i8 be_u2   see INT_CASES below for the values
 *   bool_2x2             np.array([[True, False], [False, True]])
 *   v2_f8                write_array(f, np.array([1.0, 2.0, 3.0]), version=(2, 0))
 *   v3_f4                write_array(f, np.array([[1, 2], [3, 4]], dtype='<f4'), version=(3, 0))
 *   zero_d               np.array(3.5)
 *   empty_0x3            np.zeros((0, 3))
 *   obj                  np.array([1, 'a', None], dtype=object)  (allow_pickle=True)
 *   U5                   np.array(['ab', 'cdefg'])
 *   c16                  np.array([1 + 2j])
 *   structured           np.zeros(2, dtype=[('a', '<f8')])
 *   f2                   np.array([1.0], dtype='<f2')
 *   i8_big               np.array([1, 2**53 + 1], dtype='<i8')
 *   i8_neg_big           np.array([-2**53 - 1], dtype='<i8')
 *   u8_max               np.array([2**64 - 1], dtype='<u8')
 *   f8_3x4               np.arange(12.0).reshape(3, 4)
 */
const NUMPY_B64 = {
  be_f8_2x3: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/+AAAAAAAAMACAAAAAAAAflHrLWYAWDU/uZmZmZmZmoAAAAAAAAAAAAAAAAAAAAE=',
  be_i4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAB/////n////+AAAAA',
  le_f4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIArNzMw9AABgwMrySXEA4H9H',
  fortran_2x3: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAAAhAAAAAAAAA8D8AAAAAAAAQQAAAAAAAAABAAAAAAAAAFEA=',
  fortran_2x3x2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMywgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAABhAAAAAAAAAAEAAAAAAAAAgQAAAAAAAABBAAAAAAAAAJEAAAAAAAADwPwAAAAAAABxAAAAAAAAACEAAAAAAAAAiQAAAAAAAABRAAAAAAAAAJkA=',
  fortran_be_i2_2x3x2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmkyJywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMywgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr/+gAA//wAAv/+AAT/+wAB//0AA///AAU=',
  i1: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfGkxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqA/wB/',
  u1: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAcj/',
  i2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGkyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAgP//AAD/fw==',
  u2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPHUyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAEAQJz//w==',
  i4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAACA/////wAAAAD///9/',
  u4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPHU0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAQAAAABe0LL/////',
  i8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAADg////////////AAAAAAAAAAAAAAAAAAAgAA==',
  u8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPHU4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAEAAAAAAAAABwAAAAABAAAAAAAAAAAgAA==',
  be_i8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr/4AAAAAAAAP///+NBZuXsACAAAAAAAAA=',
  be_u2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPnUyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAQEC//8=',
  bool_2x2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfGIxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAB',
  v2_f8: 'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAADwPwAAAAAAAABAAAAAAAAACEA=',
  v3_f4: 'k05VTVBZAwB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AAAAQAAAQEAAAIBA',
  zero_d: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAMQA==',
  empty_0x3: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo=',
  obj: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfE8nLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqABJWRAAAAAAAAAIwWbnVtcHkuX2NvcmUubXVsdGlhcnJheZSMDF9yZWNvbnN0cnVjdJSTlIwFbnVtcHmUjAduZGFycmF5lJOUSwCFlEMBYpSHlFKUKEsBSwOFlGgDjAVkdHlwZZSTlIwCTziUiYiHlFKUKEsDjAF8lE5OTkr/////Sv////9LP3SUYoldlChLAYwBYZROZXSUYi4=',
  U5: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPFU1JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAphAAAAYgAAAAAAAAAAAAAAAAAAAGMAAABkAAAAZQAAAGYAAABnAAAA',
  c16: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGMxNicsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgxLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAADwPwAAAAAAAABA',
  structured: 'k05VTVBZAQB2AHsnZGVzY3InOiBbKCdhJywgJzxmOCcpXSwgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAAAAA',
  f2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAPA==',
  i8_big: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAAAAAAEAAAAAACAA',
  i8_neg_big: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr////////f/w==',
  u8_max: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPHU4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr//////////w==',
  f8_3x4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsIDQpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAAPA/AAAAAAAAAEAAAAAAAAAIQAAAAAAAABBAAAAAAAAAFEAAAAAAAAAYQAAAAAAAABxAAAAAAAAAIEAAAAAAAAAiQAAAAAAAACRAAAAAAAAAJkA=',
};
/** np.save of np.array(0.5, dtype='<f2'). */
const F2_0D = 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAOA==';
const numpyFile = (key: keyof typeof NUMPY_B64): Uint8Array => fromBase64(NUMPY_B64[key]);

/**
 * Headers numpy writes for these shapes (`numpy.lib.format._write_array_header(f, {'descr': ...,
 * 'fortran_order': False, 'shape': shape})`). The 7-d one is the interesting case: numpy's spare
 * room for the growth axis pushes it from 128 to 192 bytes.
 */
const NUMPY_HEADERS: [number[], 'float64' | 'float32', string][] = [
  [[5], 'float32', 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDUsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo='],
  [[], 'float64', 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo='],
  [[0, 3], 'float64', 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo='],
  [[1000000, 784], 'float32', 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEwMDAwMDAsIDc4NCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo='],
  [[0, 12345, 12345, 12345, 12345, 12345, 12345], 'float64', 'k05VTVBZAQC2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDEyMzQ1LCAxMjM0NSwgMTIzNDUsIDEyMzQ1LCAxMjM0NSwgMTIzNDUpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAK'],
  [[2, 3, 4, 5, 6, 7, 8, 9, 10], 'float64', 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMsIDQsIDUsIDYsIDcsIDgsIDksIDEwKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo='],
];

/** The InputError `fn` throws; also checks that its message is a single line. */
function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return e as InputError;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

type Kind = 'f8' | 'f4' | 'i1' | 'u1' | 'i2' | 'u2' | 'i4' | 'u4' | 'i8' | 'u8';
const ITEMSIZE: Record<Kind, number> = { f8: 8, f4: 4, i1: 1, u1: 1, i2: 2, u2: 2, i4: 4, u4: 4, i8: 8, u8: 8 };

/** Raw element bytes, written with DataView in the requested byte order. */
function rawData(kind: Kind, values: readonly number[], littleEndian: boolean): Uint8Array {
  const size = ITEMSIZE[kind];
  const out = new Uint8Array(values.length * size);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => {
    const o = i * size;
    if (kind === 'f8') v.setFloat64(o, x, littleEndian);
    else if (kind === 'f4') v.setFloat32(o, x, littleEndian);
    else if (kind === 'i1') v.setInt8(o, x);
    else if (kind === 'u1') v.setUint8(o, x);
    else if (kind === 'i2') v.setInt16(o, x, littleEndian);
    else if (kind === 'u2') v.setUint16(o, x, littleEndian);
    else if (kind === 'i4') v.setInt32(o, x, littleEndian);
    else if (kind === 'u4') v.setUint32(o, x, littleEndian);
    else if (kind === 'i8') v.setBigInt64(o, BigInt(x), littleEndian);
    else v.setBigUint64(o, BigInt(x), littleEndian);
  });
  return out;
}

/**
 * A .npy file built by hand from the documented format: magic, version, header length, the header
 * text exactly as given (no padding unless `align`), then `data`.
 */
function buildNpy(header: string, data: Uint8Array = new Uint8Array(0), opts: { version?: [number, number]; align?: boolean } = {}): Uint8Array {
  const [major, minor] = opts.version ?? [1, 0];
  const preamble = major === 1 ? 10 : 12;
  let text = header;
  if (opts.align) {
    const pad = 64 - ((preamble + text.length + 1) % 64);
    text += ' '.repeat(pad === 64 ? 0 : pad) + '\n';
  }
  const headerBytes = major === 3 ? new TextEncoder().encode(text) : Uint8Array.from(ascii(text));
  const out = new Uint8Array(preamble + headerBytes.length + data.length);
  out.set([0x93, ...ascii('NUMPY'), major, minor]);
  const v = new DataView(out.buffer);
  if (preamble === 10) v.setUint16(8, headerBytes.length, true);
  else v.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, preamble);
  out.set(data, preamble + headerBytes.length);
  return out;
}

const concat = (...parts: (Uint8Array | number[])[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** C-order index -> Fortran-order position, to build column-major data by hand. */
function fortranLayout(cValues: readonly number[], shape: readonly number[]): number[] {
  const out = new Array<number>(cValues.length);
  cValues.forEach((x, c) => {
    let rest = c;
    let f = 0;
    let stride = 1;
    const idx = new Array<number>(shape.length);
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = rest % shape[d]!;
      rest = Math.floor(rest / shape[d]!);
    }
    for (let d = 0; d < shape.length; d++) {
      f += idx[d]! * stride;
      stride *= shape[d]!;
    }
    out[f] = x;
  });
  return out;
}

describe('parseNpy on files written by numpy', () => {
  it('reads big-endian float64 (2, 3) exactly', () => {
    const a = parseNpy(numpyFile('be_f8_2x3'), 'be.npy');
    expect(a.shape).toEqual([2, 3]);
    expect(a.dtype).toBe('>f8');
    expect(Array.from(a.data)).toEqual([1.5, -2.25, 3e300, 0.1, -0, 5e-324]);
    expect(Object.is(a.data[4], -0)).toBe(true);
  });

  it('reads big-endian int32', () => {
    const a = parseNpy(numpyFile('be_i4'));
    expect(a).toEqual({ data: new Float64Array([1, -2, 2147483647, -2147483648]), shape: [4], dtype: '>i4' });
  });

  it('reads little-endian float32, widening each value exactly', () => {
    const a = parseNpy(numpyFile('le_f4'));
    expect(a.dtype).toBe('<f4');
    expect(Array.from(a.data)).toEqual([0.1, -3.5, 1e30, 65504].map(Math.fround));
  });

  it('transposes Fortran-order arrays into C order', () => {
    const a = parseNpy(numpyFile('fortran_2x3'));
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([0, 1, 2, 3, 4, 5]);

    const b = parseNpy(numpyFile('fortran_2x3x2'));
    expect(b.shape).toEqual([2, 3, 2]);
    expect(Array.from(b.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

    const c = parseNpy(numpyFile('fortran_be_i2_2x3x2'));
    expect(c.dtype).toBe('>i2');
    expect(Array.from(c.data)).toEqual([-6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]);
  });

  const INT_CASES: [keyof typeof NUMPY_B64, string, number[]][] = [
    ['i1', '|i1', [-128, -1, 0, 127]],
    ['u1', '|u1', [0, 1, 200, 255]],
    ['i2', '<i2', [-32768, -1, 0, 32767]],
    ['u2', '<u2', [0, 1, 40000, 65535]],
    ['i4', '<i4', [-(2 ** 31), -1, 0, 2 ** 31 - 1]],
    ['u4', '<u4', [0, 1, 3000000000, 2 ** 32 - 1]],
    ['i8', '<i8', [-(2 ** 53), -1, 0, 2 ** 53]],
    ['u8', '<u8', [0, 1, 2 ** 40 + 7, 2 ** 53]],
    ['be_i8', '>i8', [-(2 ** 53), -123456789012, 2 ** 53]],
    ['be_u2', '>u2', [1, 258, 65535]],
  ];
  for (const [key, descr, values] of INT_CASES) {
    it(`reads integer dtype ${descr}`, () => {
      const a = parseNpy(numpyFile(key));
      expect(a).toEqual({ data: new Float64Array(values), shape: [values.length], dtype: descr });
    });
  }

  it('reads float16', () => {
    expect(parseNpy(numpyFile('f2'))).toEqual({ data: new Float64Array([1]), shape: [1], dtype: '<f2' });
  });

  it('reads bool as 0/1', () => {
    expect(parseNpy(numpyFile('bool_2x2'))).toEqual({ data: new Float64Array([1, 0, 0, 1]), shape: [2, 2], dtype: '|b1' });
  });

  it('reads format versions 2.0 and 3.0', () => {
    const v2 = numpyFile('v2_f8');
    expect(v2[6]).toBe(2);
    expect(parseNpy(v2)).toEqual({ data: new Float64Array([1, 2, 3]), shape: [3], dtype: '<f8' });
    const v3 = numpyFile('v3_f4');
    expect(v3[6]).toBe(3);
    expect(parseNpy(v3)).toEqual({ data: new Float64Array([1, 2, 3, 4]), shape: [2, 2], dtype: '<f4' });
  });

  it('reads 0-d and empty arrays', () => {
    expect(parseNpy(numpyFile('zero_d'))).toEqual({ data: new Float64Array([3.5]), shape: [], dtype: '<f8' });
    expect(parseNpy(numpyFile('empty_0x3'))).toEqual({ data: new Float64Array(0), shape: [0, 3], dtype: '<f8' });
  });

  it('accepts an ArrayBuffer and a Uint8Array view at an odd offset into a larger buffer', () => {
    const file = numpyFile('be_f8_2x3');
    expect(parseNpy(file.slice().buffer).data[2]).toBe(3e300);
    const big = new Uint8Array(file.length + 7);
    big.set(file, 3);
    expect(Array.from(parseNpy(big.subarray(3, 3 + file.length)).data)).toEqual([1.5, -2.25, 3e300, 0.1, -0, 5e-324]);
  });

  it('rejects unsupported dtypes, naming them', () => {
    expect(errorOf(() => parseNpy(numpyFile('obj'), 'o.npy')).message).toMatch(/^o\.npy: unsupported dtype '\|O' \(Python objects\)/);
    expect(errorOf(() => parseNpy(numpyFile('U5'), 'u.npy')).message).toMatch(/^u\.npy: unsupported dtype '<U5' \(unicode strings\)/);
    expect(errorOf(() => parseNpy(numpyFile('c16'), 'c.npy')).message).toMatch(/^c\.npy: unsupported dtype '<c16' \(complex\)/);
    expect(errorOf(() => parseNpy(buildNpy("{'descr': '<f16', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(16)), 'q.npy')).message).toBe(
      "q.npy: unsupported dtype '<f16' (extended precision float) (supported: float16, float32, float64, (u)int8/16/32/64, bool)",
    );
    const datetime = buildNpy("{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8));
    expect(errorOf(() => parseNpy(datetime)).message).toMatch(/unsupported dtype '<M8\[ns\]' \(datetime\)/);
    expect(errorOf(() => parseNpy(numpyFile('structured'), 's.npy')).message).toMatch(
      /^s\.npy: unsupported structured dtype \[\('a', '<f8'\)\]/,
    );
  });

  it('refuses 64-bit integers beyond 2^53 instead of rounding them', () => {
    expect(errorOf(() => parseNpy(numpyFile('i8_big'), 'big.npy')).message).toBe(
      'big.npy: int64 value 9007199254740993 (element 1) cannot be represented exactly as float64 (|value| > 2^53)',
    );
    expect(errorOf(() => parseNpy(numpyFile('i8_neg_big'))).message).toMatch(/int64 value -9007199254740993 .*cannot be represented exactly/);
    expect(errorOf(() => parseNpy(numpyFile('u8_max'))).message).toMatch(/uint64 value 18446744073709551615 .*cannot be represented exactly/);
  });

  it('reports truncated data and trailing bytes with the sizes', () => {
    const file = numpyFile('f8_3x4'); // 128-byte header + 96 bytes
    expect(file.length).toBe(224);
    expect(errorOf(() => parseNpy(file.subarray(0, 128 + 40), 'A.npy')).message).toBe(
      'A.npy: truncated: header says shape (3, 4) float64 = 96 bytes of data, file has 40',
    );
    expect(errorOf(() => parseNpy(file.subarray(0, 128), 'A.npy')).message).toMatch(/truncated: .* 96 bytes of data, file has 0$/);
    expect(errorOf(() => parseNpy(concat(file, [1, 2, 3, 4, 5]), 'A.npy')).message).toBe(
      'A.npy: 5 trailing bytes after the data: header says shape (3, 4) float64 = 96 bytes of data, file has 101',
    );
  });

  it('reports a truncated header', () => {
    const file = numpyFile('f8_3x4');
    for (const n of [3, 6, 7, 9, 10, 50, 127]) {
      expect(errorOf(() => parseNpy(file.subarray(0, n), 'A.npy')).message).toMatch(/^A\.npy: truncated header/);
    }
    // Version 2.0 has a 4-byte header length.
    expect(errorOf(() => parseNpy(numpyFile('v2_f8').subarray(0, 11))).message).toMatch(/truncated header/);
  });

  it('rejects files that are not .npy', () => {
    const file = numpyFile('f8_3x4');
    const bad = file.slice();
    bad[1] = 0x6e; // 'n'
    expect(errorOf(() => parseNpy(bad, 'A.npy')).message).toBe(
      'A.npy: not a .npy file: expected magic \\x93NUMPY, got bytes 93 6e 55 4d 50 59 01 00',
    );
    expect(errorOf(() => parseNpy(Uint8Array.from(ascii('a,b\n1,2\n')))).message).toMatch(/not a \.npy file/);
    expect(errorOf(() => parseNpy(Uint8Array.from([0x50, 0x4b, 3, 4, 20, 0, 0, 0]))).message).toMatch(/zip archive, e\.g\. an \.npz/);
    expect(errorOf(() => parseNpy(new Uint8Array(0), 'e.npy')).message).toBe('e.npy: empty file, not a .npy file');
  });

  it('rejects unknown format versions, naming them', () => {
    for (const [major, minor] of [[4, 0], [1, 1], [0, 0]] as const) {
      const file = numpyFile('f8_3x4').slice();
      file[6] = major;
      file[7] = minor;
      expect(errorOf(() => parseNpy(file, 'A.npy')).message).toBe(
        `A.npy: unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`,
      );
    }
  });
});

describe('parseNpy on hand-built files', () => {
  it('reads data at an unaligned offset (unpadded header), in both byte orders', () => {
    const header = "{'descr': '>f8', 'fortran_order': False, 'shape': (3,)}\n";
    const file = buildNpy(header, rawData('f8', [1.25, -7, 1e-300], false));
    expect((10 + header.length) % 8).not.toBe(0);
    expect(parseNpy(file)).toEqual({ data: new Float64Array([1.25, -7, 1e-300]), shape: [3], dtype: '>f8' });

    const values = [-(2 ** 53), 42, 2 ** 53];
    for (const [descr, le] of [['<i8', true], ['>i8', false]] as const) {
      const h = `{'descr': '${descr}', 'fortran_order': False, 'shape': (3,), }`;
      expect(parseNpy(buildNpy(h, rawData('i8', values, le))).data).toEqual(new Float64Array(values));
    }
    const h4 = "{'descr':'>u4','fortran_order':False,'shape':(2,)}";
    expect(Array.from(parseNpy(buildNpy(h4, rawData('u4', [7, 4294967295], false))).data)).toEqual([7, 4294967295]);
  });

  it('reads every dtype in both byte orders from hand-built bytes', () => {
    const values: Record<Kind, number[]> = {
      f8: [0.5, -1e200], f4: [0.5, -1e20], i1: [-5, 100], u1: [5, 250], i2: [-300, 300], u2: [300, 65000],
      i4: [-70000, 70000], u4: [70000, 4000000000], i8: [-(2 ** 40), 2 ** 52], u8: [2 ** 40, 2 ** 53 - 1],
    };
    for (const kind of Object.keys(values) as Kind[]) {
      for (const order of ['<', '>', '|', '='] as const) {
        const le = order !== '>';
        const file = buildNpy(`{'descr': '${order}${kind}', 'fortran_order': False, 'shape': (2,), }`, rawData(kind, values[kind], le), { align: true });
        const expected = kind === 'f4' ? values[kind].map(Math.fround) : values[kind];
        expect(Array.from(parseNpy(file).data), `${order}${kind}`).toEqual(expected);
      }
    }
  });

  it('maps any non-zero bool byte to 1', () => {
    const file = buildNpy("{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }", Uint8Array.from([0, 1, 2, 255]));
    expect(Array.from(parseNpy(file).data)).toEqual([0, 1, 1, 1]);
  });

  it('transposes Fortran order for any number of dimensions', () => {
    for (const shape of [[2, 3], [2, 3, 2], [3, 1, 4, 2], [4], [1, 5], [2, 2, 2, 2, 3]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const c = Array.from({ length: n }, (_, i) => i * 1.5 - 3);
      const header = `{'descr': '>f4', 'fortran_order': True, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
      const file = buildNpy(header, rawData('f4', fortranLayout(c, shape), false), { align: true });
      const a = parseNpy(file);
      expect(a.shape).toEqual(shape);
      expect(Array.from(a.data), JSON.stringify(shape)).toEqual(c);
    }
    const empty = buildNpy("{'descr': '<f8', 'fortran_order': True, 'shape': (0, 3), }", undefined, { align: true });
    expect(parseNpy(empty)).toEqual({ data: new Float64Array(0), shape: [0, 3], dtype: '<f8' });
  });

  it('tolerates key order, quote styles, whitespace, trailing commas and Python 2 long suffixes', () => {
    const data = rawData('i2', [1, -2, 3, -4, 5, -6], true);
    for (const header of [
      '{"shape":(2,3),"fortran_order":False,"descr":"<i2"}',
      "{ 'fortran_order' : False ,\t'shape' :\n( 2 , 3 , ) , 'descr' : '<i2' , }\n",
      "{'descr': '<i2', 'fortran_order': False, 'shape': (2L, 3L), }" + ' '.repeat(40) + '\n',
    ]) {
      expect(parseNpy(buildNpy(header, data)), header).toEqual({ data: new Float64Array([1, -2, 3, -4, 5, -6]), shape: [2, 3], dtype: '<i2' });
    }
  });

  it('reads a hand-built version 3.0 (utf8) header and rejects invalid utf8', () => {
    const h = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }";
    expect(parseNpy(buildNpy(h, rawData('f8', [9], true), { version: [3, 0], align: true })).data[0]).toBe(9);
    const bad = buildNpy(h + ' \n', rawData('f8', [9], true), { version: [3, 0] });
    bad[12 + h.length] = 0xff;
    expect(errorOf(() => parseNpy(bad)).message).toMatch(/header is not valid UTF-8/);
  });

  it('rejects garbled or incomplete headers with a clear message', () => {
    const cases: [string, RegExp][] = [
      ["{'descr': '<f8', 'fortran_order': False}", /^A\.npy: header is missing key 'shape'$/],
      ["{'fortran_order': False, 'shape': (1,)}", /header is missing key 'descr'/],
      ["{'descr': '<f8', 'shape': (1,)}", /header is missing key 'fortran_order'/],
      ["{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1}", /header has unexpected key 'extra'/],
      ["{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}", /header has key 'descr' twice/],
      ["{'descr': '<f8', 'fortran_order': False, 'shape': [1]}", /header 'shape' is not a tuple: \[1\]/],
      ["{'descr': '<f8', 'fortran_order': False, 'shape': (2, -1)}", /header 'shape' \(2, -1\) has an entry -1 that is not a non-negative integer/],
      ["{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,)}", /entry 2\.5 that is not a non-negative integer/],
      ["{'descr': '<f8', 'fortran_order': False, 'shape': ('2',)}", /entry '2' that is not a non-negative integer/],
      ["{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}", /header 'fortran_order' is not True\/False: 0/],
      ["{'descr': '<f8', 'fortran_order': False, 'shape': (1,)", /cannot parse header \(expected ',' or '}' at end of header\)/],
      ["{'descr': '<f8' 'fortran_order': False}", /cannot parse header \(expected ',' or '}' at offset 16\)/],
      ["{'descr: '<f8', 'fortran_order': False, 'shape': (1,)}", /cannot parse header/],
      ["{descr: '<f8', 'fortran_order': False, 'shape': (1,)}", /cannot parse header \(unexpected "descr"/],
      ["{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} x", /cannot parse header \(unexpected text after the dict/],
      ['', /cannot parse header \(unexpected end/],
      ["['descr', '<f8']", /header is not a dict: \['descr', '<f8'\]/],
      ["{'descr': '<x4', 'fortran_order': False, 'shape': (1,)}", /unsupported dtype '<x4'/],
      ["{'descr': 5, 'fortran_order': False, 'shape': (1,)}", /unsupported dtype 5/],
    ];
    for (const [header, re] of cases) {
      expect(errorOf(() => parseNpy(buildNpy(header, new Uint8Array(8)), 'A.npy')).message, header).toMatch(re);
    }
  });

  it('rejects a shape too large to address before allocating', () => {
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 100000000000), }";
    expect(errorOf(() => parseNpy(buildNpy(header))).message).toMatch(/shape \(100000000000, 100000000000\) is too large/);
  });
});

describe('npyHeader', () => {
  it("writes numpy's exact header for shape (3, 4) float64", () => {
    const h = npyHeader([3, 4], 'float64');
    expect(h.length).toBe(128);
    expect(Array.from(h.subarray(0, 10))).toEqual([0x93, ...ascii('NUMPY'), 1, 0, 118, 0]);
    const dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
    const text = String.fromCharCode(...h.subarray(10));
    expect(text).toBe(dict + ' '.repeat(118 - dict.length - 1) + '\n');
    // ...and it is the header of the file numpy wrote for np.arange(12.0).reshape(3, 4).
    expect(h).toEqual(numpyFile('f8_3x4').subarray(0, 128));
  });

  for (const [shape, dtype, b64] of NUMPY_HEADERS) {
    it(`matches numpy byte for byte: shape (${shape.join(', ')}) ${dtype}`, () => {
      expect(npyHeader(shape, dtype)).toEqual(fromBase64(b64));
    });
  }

  it('aligns the data start to 64 bytes and ends with a newline', () => {
    for (let nd = 1; nd < 40; nd++) {
      const shape = Array.from({ length: nd }, (_, i) => (i * 37) % 1000);
      const h = npyHeader(shape, nd % 2 ? 'float32' : 'float64');
      expect(h.length % 64).toBe(0);
      expect(h[h.length - 1]).toBe(0x0a);
      expect(parseNpy(concat(h)).shape).toEqual(shape); // product is 0 (first axis is 0)
    }
  });

  it('switches to version 2.0 when the header does not fit in 65535 bytes', () => {
    const shape = new Array<number>(30000).fill(1);
    const h = npyHeader(shape, 'float64');
    expect(Array.from(h.subarray(0, 8))).toEqual([0x93, ...ascii('NUMPY'), 2, 0]);
    expect(new DataView(h.buffer).getUint32(8, true)).toBe(h.length - 12);
    expect(h.length % 64).toBe(0);
    const a = parseNpy(encodeNpy([2.5], shape));
    expect(a.shape.length).toBe(30000);
    expect(Array.from(a.data)).toEqual([2.5]);
    // Just under the limit stays 1.0.
    expect(npyHeader(new Array<number>(20000).fill(1), 'float64')[6]).toBe(1);
  });

  it('rejects invalid shapes and dtypes', () => {
    expect(errorOf(() => npyHeader([3, -1], 'float64')).message).toMatch(/shape \[3,-1\] has an entry -1 that is not a non-negative integer/);
    expect(errorOf(() => npyHeader([1.5], 'float64')).message).toMatch(/entry 1\.5/);
    expect(errorOf(() => npyHeader([NaN], 'float64')).message).toMatch(/not a non-negative integer/);
    expect(errorOf(() => npyHeader([2], 'int128')).message).toBe(
      `npy: unsupported dtype "int128" for writing (supported: float16, float32, float64, (u)int8/16/32/64, bool, or a numpy type string such as '<f8')`,
    );
    expect(errorOf(() => npyHeader([2], '<c16')).message).toMatch(/unsupported dtype "<c16" for writing/);
    expect(errorOf(() => npyHeader([2 ** 40, 2 ** 40], 'float64')).message).toMatch(/is too large/);
  });
});

describe('encodeNpy', () => {
  it('writes the same bytes as numpy', () => {
    const arange = Array.from({ length: 12 }, (_, i) => i);
    expect(encodeNpy(arange, [3, 4])).toEqual(numpyFile('f8_3x4'));
    expect(encodeNpy([0.1, -3.5, 1e30, 65504], [4], 'float32')).toEqual(numpyFile('le_f4'));
    expect(encodeNpy([3.5], [])).toEqual(numpyFile('zero_d'));
    expect(encodeNpy([], [0, 3])).toEqual(numpyFile('empty_0x3'));
  });

  it('round trips float64 exactly, including special values', () => {
    const values = [0, -0, 1, -1.5, Math.PI, 1e-310, Number.MAX_VALUE, Infinity, -Infinity, NaN, 2 ** 53, -1e300];
    const a = parseNpy(encodeNpy(new Float64Array(values), [3, 4]));
    expect(a.shape).toEqual([3, 4]);
    expect(a.dtype).toBe('<f8');
    expect(Array.from(a.data)).toEqual(values);
    expect(Object.is(a.data[1], -0)).toBe(true);
  });

  it('round trips float32 (values rounded to float32)', () => {
    const values = [0.1, -2.7, 1e-40, 3.4e38, 1e39, NaN, -Infinity, 12345.678];
    const a = parseNpy(encodeNpy(values, [2, 2, 2], 'float32'));
    expect(a.shape).toEqual([2, 2, 2]);
    expect(a.dtype).toBe('<f4');
    expect(Array.from(a.data)).toEqual(values.map(Math.fround));
    expect(a.data[4]).toBe(Infinity); // 1e39 overflows float32
  });

  it('round trips 1-d, 0-d and empty arrays', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      expect(parseNpy(encodeNpy([1, 2, 3, 4, 5], [5], dtype))).toMatchObject({ data: new Float64Array([1, 2, 3, 4, 5]), shape: [5] });
      expect(parseNpy(encodeNpy([-2.5], [], dtype))).toMatchObject({ data: new Float64Array([-2.5]), shape: [] });
      const empty = encodeNpy([], [0, 3], dtype);
      expect(empty.length).toBe(128);
      expect(parseNpy(empty)).toMatchObject({ data: new Float64Array(0), shape: [0, 3] });
    }
    const h = String.fromCharCode(...encodeNpy([1, 2, 3, 4, 5], [5]).subarray(10, 70));
    expect(h).toContain("'shape': (5,), }");
    expect(String.fromCharCode(...encodeNpy([7], []).subarray(10, 70))).toContain("'shape': (), }");
  });

  it('puts the data right after the 64-byte-aligned header, little-endian', () => {
    const file = encodeNpy([1.5, -2], [2], 'float32');
    expect(file.length).toBe(128 + 8);
    const v = new DataView(file.buffer);
    expect([v.getFloat32(128, true), v.getFloat32(132, true)]).toEqual([1.5, -2]);
  });

  it('checks that the data length matches the shape', () => {
    expect(errorOf(() => encodeNpy([1, 2, 3], [2, 2])).message).toBe('npy: data has 3 values but shape (2, 2) needs 4');
    expect(errorOf(() => encodeNpy([1], [0])).message).toMatch(/data has 1 values but shape \(0,\) needs 0/);
    expect(errorOf(() => encodeNpy([1, 2], [-2])).message).toMatch(/not a non-negative integer/);
  });
});

// ---------------------------------------------------------------------------------------------
// Every dtype, both byte orders

/**
 * np.save output for each dtype numpy has for numbers, shape (2, 3), in both byte orders
 * (one-byte types have none). Regenerate with, for each name and order in '<>':
 *
 *   dt = np.dtype(name).newbyteorder(order); f = io.BytesIO(); np.save(f, np.array(VALUES[name], dtype=dt))
 */
const NUMPY_DTYPES_B64: Record<string, string> = {
  float64_le: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAD4PwAAAAAAAALANVgAZi3rUX6amZmZmZm5PwAAAAAAAACAAQAAAAAAAAA=',
  float64_be: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/+AAAAAAAAMACAAAAAAAAflHrLWYAWDU/uZmZmZmZmoAAAAAAAAAAAAAAAAAAAAE=',
  float32_le: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIArNzMw9AABgwMrySXEA4H9HAAAAgAEAAAA=',
  float32_be: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo9zMzNwGAAAHFJ8spHf+AAgAAAAAAAAAE=',
  float16_le: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAPGYu/3sBgFU1AIA=',
  float16_be: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo8AC5me/+AATVVgAA=',
  int8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfGkxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqA/wABZH8=',
  int16_le: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGkyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAgP//AAABACwB/38=',
  int16_be: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmkyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqAAP//AAAAAQEsf/8=',
  int32_le: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAACA/////wAAAAABAAAAcBEBAP///38=',
  int32_be: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqAAAAA/////wAAAAAAAAABAAERcH////8=',
  int64_le: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAADg////////////AAAAAAAAAAABAAAAAAAAAAcAAAAAAQAAAAAAAAAAIAA=',
  int64_be: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr/4AAAAAAAAP//////////AAAAAAAAAAAAAAAAAAAAAQAAAQAAAAAHACAAAAAAAAA=',
  uint8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAQKAyP8=',
  uint16_le: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPHUyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAEAAgAsAUCc//8=',
  uint16_be: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPnUyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAABAAIBLJxA//8=',
  uint32_le: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPHU0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAQAAAAIAAABwEQEAAF7Qsv////8=',
  uint32_be: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPnU0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAQAAAAIAARFwstBeAP////8=',
  uint64_le: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPHU4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAEAAAAAAAAAAgAAAAAAAAAAAAAAAAEAAAEAAAAAABAAAAAAAAAAIAA=',
  uint64_be: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPnU4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAIAAAEAAAAAAAAQAAAAAAABACAAAAAAAAA=',
  bool: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfGIxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAABAQA=',
};

/** The values of NUMPY_DTYPES_B64, row-major (what was passed to np.array, before the dtype's rounding). */
const DTYPE_VALUES: Record<NpyDtypeName, number[]> = {
  float64: [1.5, -2.25, 3e300, 0.1, -0, 5e-324],
  float32: [0.1, -3.5, 1e30, 65504, -0, 1e-45],
  float16: [1, 0.1, 65504, -(2 ** -24), 1 / 3, -0],
  int8: [-128, -1, 0, 1, 100, 127],
  int16: [-32768, -1, 0, 1, 300, 32767],
  int32: [-(2 ** 31), -1, 0, 1, 70000, 2 ** 31 - 1],
  int64: [-(2 ** 53), -1, 0, 1, 2 ** 40 + 7, 2 ** 53],
  uint8: [0, 1, 2, 128, 200, 255],
  uint16: [0, 1, 2, 300, 40000, 65535],
  uint32: [0, 1, 2, 70000, 3000000000, 2 ** 32 - 1],
  uint64: [0, 1, 2, 2 ** 40, 2 ** 52 + 1, 2 ** 53],
  bool: [1, 0, 0, 1, 1, 0],
};
const ITEMSIZES: Record<NpyDtypeName, number> = {
  float64: 8, float32: 4, float16: 2, int8: 1, int16: 2, int32: 4, int64: 8, uint8: 1, uint16: 2, uint32: 4, uint64: 8, bool: 1,
};
const DTYPE_CODES: Record<NpyDtypeName, string> = {
  float64: 'f8', float32: 'f4', float16: 'f2', int8: 'i1', int16: 'i2', int32: 'i4', int64: 'i8', uint8: 'u1', uint16: 'u2', uint32: 'u4', uint64: 'u8', bool: 'b1',
};
const DTYPE_NAMES = Object.keys(DTYPE_VALUES) as NpyDtypeName[];
/** Each dtype in each byte order it has: [name, byteOrder, fixture key, descr]. */
const DTYPE_ORDERS: [NpyDtypeName, 'little' | 'big', string, string][] = DTYPE_NAMES.flatMap((name) =>
  ITEMSIZES[name] === 1
    ? [[name, 'little', name, `|${DTYPE_CODES[name]}`] as [NpyDtypeName, 'little', string, string]]
    : (['little', 'big'] as const).map((o) => [name, o, `${name}_${o === 'little' ? 'le' : 'be'}`, `${o === 'little' ? '<' : '>'}${DTYPE_CODES[name]}`] as [NpyDtypeName, 'little' | 'big', string, string]),
);

/** What a dtype stores for x (floats rounded; integers and bools are exact). */
function rounded(name: NpyDtypeName, x: number): number {
  if (name === 'float32') return Math.fround(x);
  if (name === 'float16') return parseNpy(encodeNpy([x], [], 'float16')).data[0]!;
  return x;
}

describe('every dtype in both byte orders', () => {
  it('has a numpy fixture for each', () => {
    expect(Object.keys(NUMPY_DTYPES_B64).sort()).toEqual(DTYPE_ORDERS.map(([, , key]) => key).sort());
  });

  for (const [name, byteOrder, key, descr] of DTYPE_ORDERS) {
    it(`${descr}: reads numpy's file, writes it byte for byte, and by its type string too`, () => {
      const file = fromBase64(NUMPY_DTYPES_B64[key]!);
      const a = parseNpy(file, `${key}.npy`);
      expect(a.dtype).toBe(descr);
      expect(a.shape).toEqual([2, 3]);
      const expected = DTYPE_VALUES[name].map((x) => rounded(name, x));
      expect(Array.from(a.data)).toEqual(expected);
      expect(Array.from(a.data, (x) => Object.is(x, -0))).toEqual(expected.map((x) => Object.is(x, -0)));
      // Written from the values numpy was given, and from what was read back.
      expect(encodeNpy(DTYPE_VALUES[name], [2, 3], name, { byteOrder })).toEqual(file);
      expect(encodeNpy(a.data, a.shape, a.dtype)).toEqual(file);
      expect(npyHeader([2, 3], name, { byteOrder })).toEqual(file.subarray(0, 128));
    });
  }

  it('round trips 0-d, 1-d, 3-d, 4-d and empty arrays of every dtype in both byte orders', () => {
    for (const [name, byteOrder, , descr] of DTYPE_ORDERS) {
      for (const shape of [[], [6], [1, 2, 3], [3, 1, 2, 1], [0], [2, 0, 3]]) {
        const n = shape.reduce((p, d) => p * d, 1);
        const values = Array.from({ length: n }, (_, i) => DTYPE_VALUES[name][i % 6]!);
        const a = parseNpy(encodeNpy(values, shape, name, { byteOrder }));
        expect(a.dtype, `${descr} ${JSON.stringify(shape)}`).toBe(descr);
        expect(a.shape).toEqual(shape);
        expect(Array.from(a.data)).toEqual(values.map((x) => rounded(name, x)));
      }
    }
  });

  it('copies typed arrays straight in for float64/float32 and agrees with the element-wise path', () => {
    const x = Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10 ** ((i % 40) - 20));
    for (const dtype of ['float64', 'float32'] as const) {
      for (const byteOrder of ['little', 'big'] as const) {
        const fast = encodeNpy(x, [10, 100], dtype, { byteOrder });
        const slow = encodeNpy(Array.from(x), [10, 100], dtype, { byteOrder });
        expect(fast).toEqual(slow);
        expect(Array.from(parseNpy(fast).data)).toEqual(Array.from(dtype === 'float32' ? Float32Array.from(x) : x));
      }
    }
  });

  it('writes BigInt values exactly to int64 and uint64, beyond 2^53', () => {
    const i8 = encodeNpy(BigInt64Array.from([-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n]), [3], 'int64', { byteOrder: 'big' });
    const v = new DataView(i8.buffer, 128);
    expect([v.getBigInt64(0), v.getBigInt64(8), v.getBigInt64(16)]).toEqual([-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n]);
    // numpy's own file for np.array([2**64 - 1], '<u8').
    expect(encodeNpy([2n ** 64n - 1n], [1], 'uint64')).toEqual(numpyFile('u8_max'));
    expect(Array.from(parseNpy(encodeNpy([5n, -3n], [2], 'float32')).data)).toEqual([5, -3]);
    expect(errorOf(() => encodeNpy([2n ** 63n], [1], 'int64')).message).toBe('npy: element [0] is 9223372036854775808n: int64 holds integers from -2^63 to 2^63 - 1');
    expect(errorOf(() => encodeNpy([-1n], [1], 'uint64')).message).toBe('npy: element [0] is -1n: uint64 holds integers from 0 to 2^64 - 1');
    expect(errorOf(() => encodeNpy([300n], [1], 'uint8')).message).toBe('npy: element [0] is 300n: uint8 holds integers from 0 to 255');
  });

  it('takes numpy type strings, with or without a byte order', () => {
    expect(parseNpy(encodeNpy([1, 2], [2], '>i4')).dtype).toBe('>i4');
    expect(parseNpy(encodeNpy([1, 2], [2], 'i4')).dtype).toBe('<i4');
    expect(parseNpy(encodeNpy([1, 2], [2], '=u2')).dtype).toBe('<u2');
    expect(parseNpy(encodeNpy([1, 0], [2], 'b1', { byteOrder: 'big' })).dtype).toBe('|b1');
    expect(parseNpy(encodeNpy([1, 2], [2], 'i4', { byteOrder: 'big' })).dtype).toBe('>i4');
    expect(parseNpy(encodeNpy([1, 2], [2], '|u1')).dtype).toBe('|u1');
    expect(errorOf(() => encodeNpy([1], [1], '<f8', { byteOrder: 'big' })).message).toBe(`npy: dtype "<f8" is little-endian but byteOrder is "big"`);
    expect(errorOf(() => encodeNpy([1], [1], 'float64', { byteOrder: 'middle' as 'big' })).message).toBe(`npy: byteOrder must be 'little' or 'big', got "middle"`);
    for (const bad of ['<c8', '<U5', '|O', 'f', 'float', 'Float64', '<f8 ', '<<f8', '<M8[ns]', 'i16', 'b2']) {
      expect(errorOf(() => encodeNpy([1], [1], bad)).message, bad).toMatch(/^npy: unsupported dtype .* for writing/);
    }
  });

  it('refuses values an integer or bool dtype cannot hold, naming the element', () => {
    const cases: [NpyDtypeName, number[], number[], string][] = [
      ['int8', [1, 2], [1, 128], 'npy: element [0, 1] is 128: int8 holds integers from -128 to 127'],
      ['int8', [3], [0, -129, 0], 'npy: element [1] is -129: int8 holds integers from -128 to 127'],
      ['uint8', [2], [0, -1], 'npy: element [1] is -1: uint8 holds integers from 0 to 255'],
      ['int16', [1], [1.5], 'npy: element [0] is 1.5: int16 holds integers from -32768 to 32767'],
      ['uint16', [1], [65536], 'npy: element [0] is 65536: uint16 holds integers from 0 to 65535'],
      ['int32', [1, 1, 2], [0, NaN], 'npy: element [0, 0, 1] is NaN: int32 holds integers from -2147483648 to 2147483647'],
      ['uint32', [1], [2 ** 32], 'npy: element [0] is 4294967296: uint32 holds integers from 0 to 4294967295'],
      ['int64', [1], [2 ** 63], 'npy: element [0] is 9223372036854776000: int64 holds integers from -2^63 to 2^63 - 1'],
      ['uint64', [1], [Infinity], 'npy: element [0] is Infinity: uint64 holds integers from 0 to 2^64 - 1'],
      ['bool', [2], [1, 2], 'npy: element [1] is 2: bool holds 0 and 1 only'],
      ['bool', [], [0.5], 'npy: the value is 0.5: bool holds 0 and 1 only'],
    ];
    for (const [dtype, shape, values, message] of cases) {
      expect(errorOf(() => encodeNpy(values, shape, dtype)).message).toBe(message);
    }
    // The extremes are fine (the largest doubles below 2^63 and 2^64 too), and -0 is 0.
    const i8 = new DataView(encodeNpy([-(2 ** 63), 2 ** 63 - 1024, -0], [3], 'int64').buffer, 128);
    expect([i8.getBigInt64(0, true), i8.getBigInt64(8, true), i8.getBigInt64(16, true)]).toEqual([-(2n ** 63n), 2n ** 63n - 1024n, 0n]);
    expect(new DataView(encodeNpy([2 ** 64 - 2048], [1], 'uint64').buffer, 128).getBigUint64(0, true)).toBe(2n ** 64n - 2048n);
  });

  it('refuses what is not a number, in any dtype', () => {
    expect(errorOf(() => encodeNpy(['1', 2] as unknown as number[], [2])).message).toBe('npy: element [0] is "1": not a number');
    expect(errorOf(() => encodeNpy([1, null] as unknown as number[], [2], 'float32')).message).toBe('npy: element [1] is null: not a number');
    expect(errorOf(() => encodeNpy({ length: 1 } as unknown as number[], [1], 'int8')).message).toBe('npy: element [0] is undefined: not a number');
    expect(errorOf(() => encodeNpy(undefined as unknown as number[], [1])).message).toBe('npy: data must be an array of numbers, got undefined');
    expect(errorOf(() => encodeNpy([1, 2], [3], 'float64', { name: 'out.npy' })).message).toBe('out.npy: data has 2 values but shape (3,) needs 3');
  });
});

describe('float16', () => {
  /** The float16 bits encodeNpy writes for each value. */
  const halves = (xs: readonly number[]): number[] => {
    const file = encodeNpy(xs, [xs.length], 'float16');
    const v = new DataView(file.buffer, 128);
    return xs.map((_, i) => v.getUint16(2 * i, true));
  };
  const half = (x: number): number => halves([x])[0]!;
  /** The value parseNpy reads for each bit pattern. */
  const fromBits = (bits: readonly number[]): Float64Array => {
    const file = encodeNpy(new Array<number>(bits.length).fill(0), [bits.length], 'float16');
    const v = new DataView(file.buffer, 128);
    bits.forEach((b, i) => v.setUint16(2 * i, b, true));
    return parseNpy(file).data;
  };
  const ALL = Array.from({ length: 0x10000 }, (_, i) => i);

  it('matches numpy on known values', () => {
    expect(encodeNpy([0.5], [], 'float16')).toEqual(fromBase64(F2_0D));
    const known: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [1 / 3, 0x3555], [65504, 0x7bff], [2 ** -14, 0x0400], [2 ** -24, 0x0001],
      [0, 0x0000], [-0, 0x8000], [Infinity, 0x7c00], [-Infinity, 0xfc00], [NaN, 0x7e00], [1e-8, 0x0000], [3e-8, 0x0001],
      [65519.99, 0x7bff], [65520, 0x7c00], [1e10, 0x7c00], [-1e10, 0xfc00], [2049, 0x6800], [2051, 0x6802], [0.0001, 0x068e],
    ];
    expect(halves(known.map(([x]) => x)).map((b) => b.toString(16))).toEqual(known.map(([, b]) => b.toString(16)));
  });

  it('reads every bit pattern and writes each back to the same bits', () => {
    const values = fromBits(ALL);
    const back = halves(Array.from(values));
    const wrong = ALL.filter((bits) => {
      const nan = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
      return nan ? !Number.isNaN(values[bits]) || back[bits] !== 0x7e00 : back[bits] !== bits;
    });
    expect(wrong).toEqual([]);
    expect(values[0x3c00]).toBe(1);
    expect(values[0x0001]).toBe(2 ** -24);
    expect(values[0xfbff]).toBe(-65504);
  });

  it('rounds to nearest, ties to even, once from float64', () => {
    const finite = fromBits(ALL.slice(0, 0x7c00)); // 0 … 65504
    const mids: number[] = [];
    const below: number[] = [];
    const above: number[] = [];
    for (let b = 0; b < 0x7bff; b++) {
      const lo = finite[b]!;
      const hi = finite[b + 1]!;
      mids.push((lo + hi) / 2); // exact: halves have 11 significant bits
      below.push((lo + hi) / 2 - (hi - lo) / 1024);
      above.push((lo + hi) / 2 + (hi - lo) / 1024);
    }
    const even = (b: number) => (b % 2 === 0 ? b : b + 1);
    const m = halves(mids);
    const mNeg = halves(mids.map((x) => -x));
    const lo = halves(below);
    const hi = halves(above);
    const wrong = mids.flatMap((_, b) =>
      m[b] !== even(b) || mNeg[b] !== (even(b) | 0x8000) || lo[b] !== b || hi[b] !== b + 1 ? [b] : [],
    );
    expect(wrong).toEqual([]);
    // Through float32 first, 1 + 2^-11 + 2^-30 would round to the tie 1 + 2^-11 and then to even (1).
    expect(half(1 + 2 ** -11 + 2 ** -30)).toBe(0x3c01);
  });
});
