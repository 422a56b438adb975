/**
 * .npy in other runtimes, run in Deno and headless Chromium by test/npy-runtimes.test.ts (see
 * harness.ts for the entry contract): parseNpy and encodeNpy (exported by the runtime-neutral
 * `webntk`) take and return bytes (Uint8Array / ArrayBuffer) and use no Node API. Round-trips every
 * dtype in both byte orders, reads a numpy file and returns what it saw.
 */
import { encodeNpy, parseNpy, type NpyDtypeName } from '../../src/io/npy.js';

export interface NpyEntryResult {
  runtime: string;
  hasNodeBuffer: boolean;
  /** `${dtype}/${byteOrder}` → the dtype read back and whether every value came back. */
  roundTrips: Record<string, { dtype: string; exact: boolean }>;
  /** A Fortran-order big-endian int16 (2, 3, 2) file written by numpy. */
  numpy: { data: number[]; shape: number[]; dtype: string };
  /** As strings: JSON has no Infinity or -0. */
  float16: string[];
  fromArrayBuffer: number[];
  errors: string[];
}

const NAMES: NpyDtypeName[] = ['float64', 'float32', 'float16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool'];
const FORTRAN_BE_I2 =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnPmkyJywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMywgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr/+gAA//wAAv/+AAT/+wAB//0AA///AAU=';

export async function run(): Promise<NpyEntryResult> {
  const g = globalThis as unknown as { Deno?: unknown; window?: unknown; Buffer?: unknown };
  const runtime = g.Deno !== undefined ? 'deno' : g.window !== undefined ? 'browser' : 'other';

  const roundTrips: NpyEntryResult['roundTrips'] = {};
  for (const name of NAMES) {
    const values = Array.from({ length: 12 }, (_, i) => (name === 'bool' ? i % 2 : name.startsWith('uint') ? i * 10 : i * 10 - 60));
    for (const byteOrder of ['little', 'big'] as const) {
      const bytes = encodeNpy(values, [2, 3, 2], name, { byteOrder });
      const a = parseNpy(bytes);
      const exact = bytes instanceof Uint8Array && a.data instanceof Float64Array && a.data.every((v, i) => v === values[i]) && a.shape.join() === '2,3,2';
      roundTrips[`${name}/${byteOrder}`] = { dtype: a.dtype, exact };
    }
  }

  const file = Uint8Array.from(atob(FORTRAN_BE_I2), (c) => c.charCodeAt(0));
  const n = parseNpy(file, 'f.npy');
  const float16 = Array.from(parseNpy(encodeNpy([0.1, 65504, 65520, 2 ** -24, -0], [5], 'float16')).data, (x) => (Object.is(x, -0) ? '-0' : String(x)));
  const fromArrayBuffer = Array.from(parseNpy(encodeNpy([1.5, -2], [2]).buffer).data);

  const errors: string[] = [];
  const bad: (() => unknown)[] = [
    () => parseNpy(new TextEncoder().encode('a,b\n1,2\n'), 'x.npy'),
    () => parseNpy(encodeNpy([1, 2, 3], [3]).subarray(0, 140), 't.npy'),
    () => encodeNpy([1, 300], [2], 'uint8', { name: 'o.npy' }),
  ];
  for (const f of bad) {
    try {
      f();
      errors.push('no error');
    } catch (e) {
      errors.push(`${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  return {
    runtime,
    hasNodeBuffer: g.Buffer !== undefined,
    roundTrips,
    numpy: { data: Array.from(n.data), shape: n.shape, dtype: n.dtype },
    float16,
    fromArrayBuffer,
    errors,
  };
}
