/**
 * webntk/node's file readers and writers (src/node/io.ts): .npy of every dtype, byte order and rank,
 * CSV with and without a header, vectors, the array forms the writers take, atomic writes, and one
 * line errors naming the path.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix } from 'ml-matrix';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { kernelCpu } from '../src/index.js';
import { encodeNpy, type NpyDtypeName } from '../src/io/npy.js';
import * as nodeEntry from '../src/node/index.js';
import { readArrayFile, readCsv, readNpy, readVectorFile, writeCsv, writeNpy } from '../src/node/io.js';
import { Rng } from '../src/mc/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'webntk-node-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string) => join(dir, name);
const fromBase64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/** The InputError `fn` throws, checked to be a single line. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

/** Files in the temp folder (to check that failed writes leave no temporary file behind). */
const listing = () => readdirSync(dir).sort();

const NAMES: NpyDtypeName[] = ['float64', 'float32', 'float16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool'];
const CODES: Record<NpyDtypeName, string> = {
  float64: 'f8', float32: 'f4', float16: 'f2', int8: 'i1', int16: 'i2', int32: 'i4', int64: 'i8', uint8: 'u1', uint16: 'u2', uint32: 'u4', uint64: 'u8', bool: 'b1',
};
/** Values every dtype holds exactly. */
const valuesFor = (name: NpyDtypeName, n: number): number[] =>
  Array.from({ length: n }, (_, i) => (name === 'bool' ? i % 2 : name.startsWith('uint') ? (i * 7) % 100 : ((i * 7) % 100) - 50));

describe('the webntk/node entry', () => {
  it('exports the readers and writers', () => {
    for (const f of ['readNpy', 'readCsv', 'readArrayFile', 'readVectorFile', 'writeNpy', 'writeCsv', 'readMatrixFile']) {
      expect(typeof (nodeEntry as Record<string, unknown>)[f], f).toBe('function');
    }
  });
});

describe('writeNpy and readNpy', () => {
  it('round trip every dtype, both byte orders, ranks 0 to 4 and empty arrays', () => {
    for (const name of NAMES) {
      for (const byteOrder of ['little', 'big'] as const) {
        for (const shape of [[], [5], [2, 3], [2, 1, 3], [1, 2, 2, 2], [0, 4]]) {
          const n = shape.reduce((p, d) => p * d, 1);
          const values = valuesFor(name, n);
          const path = tmp(`rt-${name}-${byteOrder}-${shape.length}.npy`);
          writeNpy(path, { data: values, shape }, { dtype: name, byteOrder });
          const a = readNpy(path);
          const order = CODES[name].endsWith('1') ? '|' : byteOrder === 'little' ? '<' : '>';
          expect(a.dtype, `${name} ${byteOrder} ${JSON.stringify(shape)}`).toBe(`${order}${CODES[name]}`);
          expect(a.shape).toEqual(shape);
          expect(Array.from(a.data)).toEqual(values);
        }
      }
    }
  });

  it('float64 is the default and exact for every finite and special value', () => {
    const rng = new Rng(11);
    const x = Float64Array.from({ length: 500 }, () => rng.normal() * 10 ** Math.floor(rng.uniform() * 600 - 300));
    x.set([0, -0, NaN, Infinity, -Infinity, 5e-324, Number.MAX_VALUE]);
    writeNpy(tmp('f64.npy'), { data: x, shape: [50, 10] });
    const a = readNpy(tmp('f64.npy'));
    expect(a.dtype).toBe('<f8');
    expect(a.data.every((v, i) => Object.is(v, x[i]))).toBe(true);
  });

  it('takes nested arrays, numbers, typed arrays, { data, rows, cols }, ml-matrix and kernel results', () => {
    const write = (input: Parameters<typeof writeNpy>[1]) => {
      writeNpy(tmp('in.npy'), input);
      const a = readNpy(tmp('in.npy'));
      return { shape: a.shape, data: Array.from(a.data) };
    };
    expect(write(2.5)).toEqual({ shape: [], data: [2.5] });
    expect(write([1, 2, 3])).toEqual({ shape: [3], data: [1, 2, 3] });
    expect(write([[1, 2], [3, 4], [5, 6]])).toEqual({ shape: [3, 2], data: [1, 2, 3, 4, 5, 6] });
    expect(write([[[1], [2]], [[3], [4]]])).toEqual({ shape: [2, 2, 1], data: [1, 2, 3, 4] });
    expect(write([])).toEqual({ shape: [0], data: [] });
    expect(write([[], []])).toEqual({ shape: [2, 0], data: [] });
    expect(write(new Float32Array([0.5, 1.5]))).toEqual({ shape: [2], data: [0.5, 1.5] });
    expect(write(new Int32Array([-1, 7]))).toEqual({ shape: [2], data: [-1, 7] });
    expect(write({ data: new Float64Array([1, 2, 3, 4, 5, 6]), rows: 2, cols: 3 })).toEqual({ shape: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    expect(write(new Matrix([[1, 2, 3], [4, 5, 6]]))).toEqual({ shape: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    const r = kernelCpu('arora2019:depth=2', [[1, 0], [0.6, 0.8]], null, { depths: 'all' });
    expect(write({ data: r.ntk!, shape: r.shape })).toEqual({ shape: [3, 2, 2], data: Array.from(r.ntk!) });
  });

  it('writes back what it read, dtype and byte order included, byte for byte', () => {
    // np.save(f, np.arange(24, dtype='>u2').reshape(2, 3, 4))
    const numpy = fromBase64(
      'k05VTVBZAQB2AHsnZGVzY3InOiAnPnUyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMsIDQpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAABAAIAAwAEAAUABgAHAAgACQAKAAsADAANAA4ADwAQABEAEgATABQAFQAWABc=',
    );
    writeFileSync(tmp('numpy-u2.npy'), numpy);
    const a = readNpy(tmp('numpy-u2.npy'));
    expect(a.dtype).toBe('>u2');
    expect(a.shape).toEqual([2, 3, 4]);
    expect(Array.from(a.data)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    writeNpy(tmp('again-u2.npy'), a, { dtype: a.dtype });
    expect(new Uint8Array(readFileSync(tmp('again-u2.npy')))).toEqual(numpy);
  });

  it('reads Fortran-order files into C order', () => {
    // np.save(f, np.asfortranarray((np.arange(12) - 6).reshape(2, 3, 2).astype('>i2')))
    writeFileSync(
      tmp('fortran.npy'),
      fromBase64(
        'k05VTVBZAQB2AHsnZGVzY3InOiAnPmkyJywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMywgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr/+gAA//wAAv/+AAT/+wAB//0AA///AAU=',
      ),
    );
    const a = readNpy(tmp('fortran.npy'));
    expect(a).toEqual({ data: Float64Array.from({ length: 12 }, (_, i) => i - 6), shape: [2, 3, 2], dtype: '>i2' });
    expect(readArrayFile(tmp('fortran.npy')).shape).toEqual([2, 3, 2]);
  });

  it('is atomic: a value the dtype cannot hold writes nothing and leaves an existing file as it was', () => {
    writeNpy(tmp('keep.npy'), [1, 2, 3], { dtype: 'int8' });
    const before = readFileSync(tmp('keep.npy'));
    const files = listing();
    expect(errorOf(() => writeNpy(tmp('keep.npy'), [1, 2.5, 3], { dtype: 'int8' }))).toBe(`${tmp('keep.npy')}: element [1] is 2.5: int8 holds integers from -128 to 127`);
    expect(errorOf(() => writeNpy(tmp('keep.npy'), [[1, 2], [3]]))).toBe(`${tmp('keep.npy')}: ragged nested arrays: element [1] has 1 entries, element [0] has 2`);
    expect(errorOf(() => writeNpy(tmp('keep.npy'), [1], { dtype: 'complex128' }))).toMatch(/keep\.npy: unsupported dtype "complex128" for writing/);
    expect(readFileSync(tmp('keep.npy'))).toEqual(before);
    expect(listing()).toEqual(files);
    // A successful write replaces it.
    writeNpy(tmp('keep.npy'), [4], { dtype: 'uint8' });
    expect(readNpy(tmp('keep.npy'))).toEqual({ data: new Float64Array([4]), shape: [1], dtype: '|u1' });
    expect(listing()).toEqual(files);
  });

  it('refuses arrays it cannot take, naming the path', () => {
    const p = tmp('bad.npy');
    expect(errorOf(() => writeNpy(p, [[1, 2], 3] as unknown as number[][]))).toBe(`${p}: ragged nested arrays: element [1] is 3, not an array of 2`);
    expect(errorOf(() => writeNpy(p, [[1], [[2]]] as unknown as number[][]))).toBe(`${p}: ragged nested arrays: element [1, 0] is an array, element [0, 0] is not`);
    expect(errorOf(() => writeNpy(p, ['a'] as unknown as number[]))).toBe(`${p}: element [0] is "a": not a number`);
    expect(errorOf(() => writeNpy(p, { data: [1, 2, 3], shape: [2, 2] }))).toBe(`${p}: data has 3 values but shape (2, 2) needs 4`);
    expect(errorOf(() => writeNpy(p, 'abc' as unknown as number))).toMatch(/bad\.npy: expected a number, nested arrays of numbers, a typed array/);
    expect(errorOf(() => writeNpy(p, null as unknown as number))).toMatch(/bad\.npy: expected a number, .* got null$/);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(errorOf(() => writeNpy(p, cyclic as number[]))).toBe(`${p}: nested arrays more than 64 levels deep`);
    const row = new Array(70_000).fill(0);
    expect(errorOf(() => writeNpy(p, new Array(70_000).fill(row)))).toMatch(/hold too many values \(4900000000\)/);
    expect(errorOf(() => writeNpy(p, [1], 'float32' as never))).toBe(`${p}: options must be an object, got "float32"`);
    expect(errorOf(() => writeNpy(p, [1], { byteOrder: 'native' as never }))).toBe(`${p}: byteOrder must be 'little' or 'big', got "native"`);
    expect(errorOf(() => writeNpy('', [1]))).toBe('expected a file path (a non-empty string), got ""');
    expect(listing()).not.toContain('bad.npy');
  });
});

describe('writeCsv and readCsv', () => {
  it('round trip a matrix exactly, with and without a header, as CSV and TSV', () => {
    const rng = new Rng(5);
    const x = Float64Array.from({ length: 60 }, () => rng.normal() * 10 ** Math.floor(rng.uniform() * 40 - 20));
    x[3] = -0;
    for (const file of ['m.csv', 'm.tsv']) {
      for (const header of [undefined, Array.from({ length: 6 }, (_, j) => `f${j}`)]) {
        writeCsv(tmp(file), { data: x, shape: [10, 6] }, header ? { header } : {});
        const text = readFileSync(tmp(file), 'utf8');
        expect(text.split('\n')[header ? 1 : 0]!.split(file.endsWith('.tsv') ? '\t' : ',')).toHaveLength(6);
        const t = readCsv(tmp(file));
        expect({ rows: t.rows, cols: t.cols, header: t.header }).toEqual({ rows: 10, cols: 6, header: header ?? null });
        expect(t.data.every((v, i) => Object.is(v, x[i]))).toBe(true);
      }
    }
  });

  it('writes a vector as one column, and reads it back as a vector', () => {
    writeCsv(tmp('y.csv'), [1, -2.5, 3e-9], { header: ['target'] });
    expect(readFileSync(tmp('y.csv'), 'utf8')).toBe('target\n1\n-2.5\n3e-9\n');
    expect(Array.from(readVectorFile(tmp('y.csv')))).toEqual([1, -2.5, 3e-9]);
    expect(readCsv(tmp('y.csv')).header).toEqual(['target']);
    writeCsv(tmp('y2.csv'), new Float64Array([4, 5]));
    expect(readFileSync(tmp('y2.csv'), 'utf8')).toBe('4\n5\n');
  });

  it('takes the header and the delimiter as options', () => {
    writeFileSync(tmp('h.txt'), '1;2\n3;4\n');
    expect(readCsv(tmp('h.txt'))).toEqual({ data: new Float64Array([1, 2, 3, 4]), rows: 2, cols: 2, header: null });
    expect(readCsv(tmp('h.txt'), { header: true })).toEqual({ data: new Float64Array([3, 4]), rows: 1, cols: 2, header: ['1', '2'] });
    writeFileSync(tmp('h2.csv'), 'a,b\n1,2\n');
    expect(readCsv(tmp('h2.csv')).header).toEqual(['a', 'b']);
    expect(errorOf(() => readCsv(tmp('h2.csv'), { header: false }))).toBe(`${tmp('h2.csv')}: row 1, column 1: "a" is not a number`);
    writeFileSync(tmp('semi.csv'), '1;2\n3;4\n');
    expect(readCsv(tmp('semi.csv'), { delimiter: ';' }).cols).toBe(2);
    expect(errorOf(() => readCsv(tmp('semi.csv'), { delimiter: ',' }))).toMatch(/semi\.csv: row 2, column 1 \("1;2"\): "3;4" is not a number/);
    expect(errorOf(() => readCsv(tmp('h2.csv'), { header: 'yes' as never }))).toBe(`${tmp('h2.csv')}: header must be true, false or left out, got "yes"`);
    writeCsv(tmp('w.csv'), [[1, 2]], { delimiter: ';', header: ['x', 'y'] });
    expect(readFileSync(tmp('w.csv'), 'utf8')).toBe('x;y\n1;2\n');
  });

  it('is atomic and refuses what CSV cannot hold, naming the path', () => {
    writeCsv(tmp('keep.csv'), [[1, 2]]);
    const files = listing();
    const p = tmp('keep.csv');
    expect(errorOf(() => writeCsv(p, [[1, NaN]]))).toBe(`${p}: value at row 1, column 2 is NaN: CSV holds finite numbers only`);
    expect(errorOf(() => writeCsv(p, [[[1]]]))).toBe(`${p}: CSV holds a matrix or a vector, got shape (1, 1, 1)`);
    expect(errorOf(() => writeCsv(p, 5))).toBe(`${p}: CSV holds a matrix or a vector, got shape ()`);
    expect(errorOf(() => writeCsv(p, [[1, 2]], { header: ['a'] }))).toBe(`${p}: header must be 2 strings (one per column)`);
    expect(readFileSync(p, 'utf8')).toBe('1,2\n');
    expect(listing()).toEqual(files);
  });
});

describe('readVectorFile and readArrayFile', () => {
  it('read vectors from .npy (n,) and (n, 1) and from one-column CSV', () => {
    writeNpy(tmp('v1.npy'), [3, 1, 2], { dtype: 'int64' });
    writeNpy(tmp('v2.npy'), [[3], [1], [2]], { dtype: 'uint8' });
    writeFileSync(tmp('v3.tsv'), 'label\n3\n1\n2\n');
    for (const f of ['v1.npy', 'v2.npy', 'v3.tsv']) expect(Array.from(readVectorFile(tmp(f))), f).toEqual([3, 1, 2]);
  });

  it('refuse what is not a vector, saying what was found', () => {
    writeNpy(tmp('m.npy'), [[1, 2], [3, 4]]);
    expect(errorOf(() => readVectorFile(tmp('m.npy')))).toBe(`${tmp('m.npy')}: expected a vector (shape (n,) or (n, 1), or one column), got shape (2, 2)`);
    writeNpy(tmp('row.npy'), [[1, 2, 3]]);
    expect(errorOf(() => readVectorFile(tmp('row.npy')))).toMatch(/got shape \(1, 3\) \(a single row: save the vector as a column\)$/);
    writeNpy(tmp('s.npy'), 1);
    expect(errorOf(() => readVectorFile(tmp('s.npy')))).toMatch(/got shape \(\)$/);
    writeFileSync(tmp('two.csv'), '1,2\n3,4\n');
    expect(errorOf(() => readVectorFile(tmp('two.csv')))).toMatch(/two\.csv: expected a vector .*, got 2 columns$/);
  });

  it('readArrayFile picks the format by extension', () => {
    writeFileSync(tmp('a.csv'), 'x,y\n1,2\n3,4\n');
    expect(readArrayFile(tmp('a.csv'))).toEqual({ data: new Float64Array([1, 2, 3, 4]), shape: [2, 2] });
    writeNpy(tmp('a.npy'), [[[1, 2]]], { dtype: 'float32' });
    expect(readArrayFile(tmp('a.npy'))).toEqual({ data: new Float64Array([1, 2]), shape: [1, 1, 2] });
  });
});

describe('read errors are one-line InputErrors naming the path and the cause', () => {
  it('file-system problems (IoError, an InputError: the CLI exits 4 for them)', () => {
    expect(errorOf(() => readNpy(tmp('missing.npy')))).toBe(`cannot read ${tmp('missing.npy')}: no such file or folder (ENOENT)`);
    expect(errorOf(() => readCsv(tmp('missing.csv')))).toBe(`cannot read ${tmp('missing.csv')}: no such file or folder (ENOENT)`);
    mkdirSync(tmp('folder.npy'), { recursive: true });
    expect(errorOf(() => readNpy(tmp('folder.npy')))).toBe(`cannot read ${tmp('folder.npy')}: is a directory (EISDIR)`);
    writeFileSync(tmp('plain'), 'x');
    expect(errorOf(() => readVectorFile(tmp('plain/y.npy')))).toBe(`cannot read ${tmp('plain/y.npy')}: a part of the path is not a folder (ENOTDIR)`);
    expect(errorOf(() => readNpy(42 as unknown as string))).toBe('expected a file path (a non-empty string), got 42');
  });

  it('permission denied (as root: read by the user "nobody" in a child process)', () => {
    writeNpy(tmp('locked.npy'), [1]);
    chmodSync(tmp('locked.npy'), 0o000);
    try {
      if (process.getuid?.() !== 0) {
        expect(errorOf(() => readNpy(tmp('locked.npy')))).toBe(`cannot read ${tmp('locked.npy')}: permission denied (EACCES)`);
        return;
      }
      // Root reads anything: let an ordinary user try, through the same function.
      chmodSync(dir, 0o755);
      const script = `import { readNpy } from ${JSON.stringify(join(process.cwd(), 'src/node/io.ts'))};
try { readNpy(${JSON.stringify(tmp('locked.npy'))}); } catch (e) { console.log(e.name + ': ' + e.message); }`;
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', join(process.cwd(), 'node_modules/tsx/dist/loader.mjs'), '--input-type=module', '-e', script], { encoding: 'utf8', cwd: '/' });
      expect(r.stdout.trim(), r.stderr).toBe(`IoError: cannot read ${tmp('locked.npy')}: permission denied (EACCES)`);
    } finally {
      chmodSync(tmp('locked.npy'), 0o600);
    }
  });

  it('contents that are not a valid file', () => {
    writeFileSync(tmp('text.npy'), 'a,b\n1,2\n');
    expect(errorOf(() => readNpy(tmp('text.npy')))).toBe(`${tmp('text.npy')}: not a .npy file: expected magic \\x93NUMPY, got bytes 61 2c 62 0a 31 2c 32 0a`);
    writeFileSync(tmp('arch.npz'), Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0]));
    expect(errorOf(() => readArrayFile(tmp('arch.npz')))).toMatch(/arch\.npz: not a \.npy file: .*zip archive/);
    writeFileSync(tmp('trunc.npy'), encodeNpy([1, 2, 3], [3]).subarray(0, 140));
    expect(errorOf(() => readNpy(tmp('trunc.npy')))).toBe(`${tmp('trunc.npy')}: truncated: header says shape (3,) float64 = 24 bytes of data, file has 12`);
    writeFileSync(tmp('empty.npy'), '');
    expect(errorOf(() => readNpy(tmp('empty.npy')))).toBe(`${tmp('empty.npy')}: empty file, not a .npy file`);
    const c16 = encodeNpy([0, 0], [2], 'float64');
    c16.set(new TextEncoder().encode("'<c8'"), 20); // {'descr': '<f8' -> '<c8'
    writeFileSync(tmp('complex.npy'), c16);
    expect(errorOf(() => readNpy(tmp('complex.npy')))).toMatch(/complex\.npy: unsupported dtype '<c8' \(complex\)/);
    writeFileSync(tmp('ragged.csv'), 'a,b\n1,2\n3\n');
    expect(errorOf(() => readCsv(tmp('ragged.csv')))).toBe(`${tmp('ragged.csv')}: row 3 has 1 column but the header (row 1) has 2`);
    writeFileSync(tmp('nan.csv'), '1,NaN\n');
    expect(errorOf(() => readArrayFile(tmp('nan.csv')))).toMatch(/nan\.csv: row 1, column 2: "NaN" is not a finite number/);
    writeFileSync(tmp('blank.csv'), '\n\n');
    expect(errorOf(() => readCsv(tmp('blank.csv')))).toBe(`${tmp('blank.csv')}: empty file: no rows of numbers`);
  });
});

describe('write errors are one-line InputErrors naming the path', () => {
  it('a missing folder or a directory in the way', () => {
    expect(errorOf(() => writeNpy(tmp('no/such/x.npy'), [1]))).toMatch(new RegExp(`^cannot write ${tmp('no/such/x.npy')}: .*does not exist`));
    mkdirSync(tmp('taken.csv'), { recursive: true });
    expect(errorOf(() => writeCsv(tmp('taken.csv'), [1]))).toMatch(new RegExp(`^cannot write ${tmp('taken.csv')}: .*directory`));
  });
});
