import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { formatCsv, MAX_CSV_ELEMENTS, parseDelimited, type DelimitedMatrix } from '../src/io/csv.js';
import { Rng } from '../src/mc/rng.js';

const plain = (m: DelimitedMatrix) => ({ data: Array.from(m.data), rows: m.rows, cols: m.cols, header: m.header });

/** Any float64 bit pattern that is finite: subnormals, huge and tiny exponents, both zeros. */
function randomDoubles(rng: Rng, n: number): Float64Array {
  const out = new Float64Array(n);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; ) {
    view.setUint32(i * 8, rng.nextU32(), true);
    view.setUint32(i * 8 + 4, rng.nextU32(), true);
    if (Number.isFinite(out[i])) i++;
  }
  return out;
}

describe('parseDelimited reads numeric CSV and TSV', () => {
  it.each([
    ['comma', 'a.csv', '1,2,3\n4,5,6\n'],
    ['tab', 'a.tsv', '1\t2\t3\n4\t5\t6\n'],
    ['semicolon', 'a.csv', '1;2;3\n4;5;6\n'],
    ['tab in a .txt file', 'a.txt', '1\t2\t3\n4\t5\t6'],
    ['semicolon, no extension', 'matrix', '1;2;3\n4;5;6'],
    ['CRLF line ends', 'a.csv', '1,2,3\r\n4,5,6\r\n'],
    ['old Mac CR line ends', 'a.csv', '1,2,3\r4,5,6\r'],
    ['no final line end', 'a.csv', '1,2,3\n4,5,6'],
    ['a UTF-8 byte-order mark', 'a.csv', '\ufeff1,2,3\n4,5,6\n'],
    ['blank lines and comments', 'a.csv', '# made by hand\n\n1,2,3\n   \n# more\n4,5,6\n\n\n'],
    ['spaces around cells', 'a.csv', ' 1 ,  2,3  \n4 , 5 , 6\n'],
    ['quoted numbers', 'a.csv', '"1","2",3\n4,"5","6"\n'],
  ])('%s', (_, name, text) => {
    expect(plain(parseDelimited(text, name))).toEqual({ data: [1, 2, 3, 4, 5, 6], rows: 2, cols: 3, header: null });
  });

  it('an explicit delimiter overrides detection', () => {
    // Detection would pick ',' (it occurs in the first line); told ';' the commas are errors.
    expect(plain(parseDelimited('1;2\n3;4\n', 'x.csv', { delimiter: ';' }))).toEqual({ data: [1, 2, 3, 4], rows: 2, cols: 2, header: null });
    expect(() => parseDelimited('x;y\n1,2;3\n', 'x.csv', { delimiter: ';' })).toThrow(
      'x.csv: row 2, column 1 ("x"): "1,2" is not a number (decimal commas are not supported: write 1.5, not 1,5)',
    );
    expect(plain(parseDelimited('7\t8\n', 'x.csv', { delimiter: '\t' }))).toEqual({ data: [7, 8], rows: 1, cols: 2, header: null });
    expect(() => parseDelimited('1|2\n', 'x.csv', { delimiter: '|' as never })).toThrow('x.csv: delimiter must be ",", "\\t" or ";", got "|"');
  });

  it('detects the delimiter outside quotes, preferring the extension', () => {
    // '"a,b";c' has one comma, inside quotes: the delimiter is ';'.
    expect(plain(parseDelimited('"a,b";c\n1;2\n', 'x.csv'))).toEqual({ data: [1, 2], rows: 1, cols: 2, header: ['a,b', 'c'] });
    // A .tsv file whose first line has a tab uses tabs, even with more commas in the names.
    expect(plain(parseDelimited('x,y,z\tw\n1\t2\n', 'x.tsv'))).toEqual({ data: [1, 2], rows: 1, cols: 2, header: ['x,y,z', 'w'] });
    // A .tsv file without tabs: the content decides.
    expect(plain(parseDelimited('1,2\n', 'x.tsv'))).toEqual({ data: [1, 2], rows: 1, cols: 2, header: null });
    // Single column: nothing to detect.
    expect(plain(parseDelimited('1\n2\n3\n', 'x.csv'))).toEqual({ data: [1, 2, 3], rows: 3, cols: 1, header: null });
  });

  it('a first row with text is a header', () => {
    expect(plain(parseDelimited('x,y\n1,2\n3,4\n', 'a.csv'))).toEqual({ data: [1, 2, 3, 4], rows: 2, cols: 2, header: ['x', 'y'] });
    // One text cell is enough; the header may mix numbers and names, and names are trimmed.
    expect(plain(parseDelimited(' id ,2\n1,2\n', 'a.csv'))).toEqual({ data: [1, 2], rows: 1, cols: 2, header: ['id', '2'] });
    // Quoted names may hold the delimiter, quotes and line breaks.
    expect(plain(parseDelimited('"a,b","say ""hi""","two\nlines"\n1,2,3\n', 'a.csv'))).toEqual({
      data: [1, 2, 3],
      rows: 1,
      cols: 3,
      header: ['a,b', 'say "hi"', 'two\nlines'],
    });
    expect(plain(parseDelimited('α\tβ\n1\t2\n', 'a.tsv')).header).toEqual(['α', 'β']);
  });

  it('a first row of numbers, empty cells or NaN/Inf/NA is data, not a header', () => {
    // Otherwise a bad first row would be dropped silently as "the header".
    expect(() => parseDelimited('1,NaN\n3,4\n', 'a.csv')).toThrow(
      'a.csv: row 1, column 2: "NaN" is not a finite number (missing values, NaN and Inf are not allowed)',
    );
    expect(() => parseDelimited('-inf,NA\n3,4\n', 'a.csv')).toThrow('a.csv: row 1, column 1: "-inf" is not a finite number');
    expect(() => parseDelimited('1,,3\n4,5,6\n', 'a.csv')).toThrow('a.csv: row 1, column 2: empty cell (every cell must be a number)');
  });

  it('reads every decimal notation and the exact nearest double', () => {
    const m = parseDelimited('1e3,-2.5E-3,+.5,7.,1e-310,-0,0.1,1.7976931348623157e308,5e-324,  -12  \n', 'a.csv');
    expect(m.rows).toBe(1);
    expect(m.cols).toBe(10);
    const want = [1000, -0.0025, 0.5, 7, 1e-310, -0, 0.1, Number.MAX_VALUE, Number.MIN_VALUE, -12];
    want.forEach((w, i) => expect(Object.is(m.data[i], w), `cell ${i}: ${m.data[i]} vs ${w}`).toBe(true));
    // Underflow to zero is not an error (as in numpy); overflow is.
    expect(parseDelimited('1e-400\n', 'a.csv').data[0]).toBe(0);
  });

  it('row numbers are lines of the file (header, comments and blank lines count)', () => {
    expect(() => parseDelimited('# c\nx,y\n\n1,2\r\n3,oops\n', 'a.csv')).toThrow('a.csv: row 5, column 2 ("y"): "oops" is not a number');
    // A quoted name over two lines: the data start on line 3.
    expect(() => parseDelimited('"x\ny",z\n1,2\n3,\n', 'a.csv')).toThrow('a.csv: row 4, column 2 ("z"): empty cell');
    expect(() => parseDelimited('1,2\r3,4\r5,y', 'a.csv')).toThrow('a.csv: row 3, column 2: "y" is not a number');
  });
});

describe('parseDelimited errors name the file, row, column and cell', () => {
  it.each([
    ['empty input', '', 'e.csv: empty file: no rows of numbers'],
    ['only blank lines', '\n\n  \r\n', 'e.csv: empty file: no rows of numbers'],
    ['only comments', '# nothing\n# here\n', 'e.csv: empty file: no rows of numbers'],
    ['a header alone', 'x,y\n', 'e.csv: has a header row (row 1) but no rows of numbers'],
    ['text', 'x,y\n1,2\n3,abc\n', 'e.csv: row 3, column 2 ("y"): "abc" is not a number'],
    ['text without header', '1,2\n3,abc\n', 'e.csv: row 2, column 2: "abc" is not a number'],
    ['empty cell', 'x,y\n1,\n', 'e.csv: row 2, column 2 ("y"): empty cell (every cell must be a number)'],
    ['empty cell in the middle', '1,2,3\n4,,6\n', 'e.csv: row 2, column 2: empty cell (every cell must be a number)'],
    ['trailing delimiter', '1,2,\n', 'e.csv: row 1, column 3: empty cell (every cell must be a number)'],
    ['a quoted empty cell in one column', 'x\n1\n""\n2\n', 'e.csv: row 3, column 1 ("x"): empty cell (every cell must be a number)'],
    ['NaN', 'x\n1\nNaN\n', 'e.csv: row 3, column 1 ("x"): "NaN" is not a finite number (missing values, NaN and Inf are not allowed)'],
    ['nan', '1\nnan\n', 'e.csv: row 2, column 1: "nan" is not a finite number (missing values, NaN and Inf are not allowed)'],
    ['inf', '1\ninf\n', 'e.csv: row 2, column 1: "inf" is not a finite number (missing values, NaN and Inf are not allowed)'],
    ['-Infinity', '1\n-Infinity\n', 'e.csv: row 2, column 1: "-Infinity" is not a finite number (missing values, NaN and Inf are not allowed)'],
    ['overflow', '1\n1e309\n', 'e.csv: row 2, column 1: "1e309" overflows float64 (|value| > 1.8e308)'],
    ['hexadecimal', '1\n0x10\n', 'e.csv: row 2, column 1: "0x10" is not a number'],
    ['digit separators', '1\n1_000\n', 'e.csv: row 2, column 1: "1_000" is not a number'],
    ['two points', '1\n1.2.3\n', 'e.csv: row 2, column 1: "1.2.3" is not a number'],
    ['a lone sign', '1\n-\n', 'e.csv: row 2, column 1: "-" is not a number'],
    ['ragged: short row', '1,2,3\n4,5\n', 'e.csv: row 2 has 2 columns but row 1 has 3'],
    ['ragged: long row', 'a,b\n1,2\n3,4,5\n', 'e.csv: row 3 has 3 columns but the header (row 1) has 2'],
    ['ragged: one column', '1,2\n3\n', 'e.csv: row 2 has 1 column but row 1 has 2'],
    ['unterminated quote', '1,2\n3,"4\n5,6\n', 'e.csv: row 2: Quoted field unterminated'],
    ['text after a closing quote', '1,"2"x\n', 'e.csv: row 1: Trailing quote on quoted field is malformed'],
    ['space before a quote', 'x,y\n1, "2"\n', 'e.csv: row 2, column 2 ("y"): "\\"2\\"" is not a number (a quoted cell must begin with its quote: no space before it)'],
    ['decimal commas', 'x;y\n1,5;2\n', 'e.csv: row 2, column 1 ("x"): "1,5" is not a number (decimal commas are not supported: write 1.5, not 1,5)'],
    ['wrong delimiter', 'x\n1;2\n', 'e.csv: row 2, column 1 ("x"): "1;2" is not a number (the cells were split at ","; is the delimiter ";"?)'],
    ['space-separated', 'x\n1 2 3\n', 'e.csv: row 2, column 1 ("x"): "1 2 3" is not a number (values separated by spaces are not supported: use commas or tabs)'],
    ['pandas index column', ',0,1\n0,1.5,2\n', 'e.csv: row 1, column 1: empty cell (every cell must be a number); a first row like ",0,1,2" is a pandas header with an index column: save with to_csv(index=False)'],
    ['a long cell is cut', `1\n${'z'.repeat(100)}\n`, `e.csv: row 2, column 1: "${'z'.repeat(40)}…" is not a number`],
    ['a line break in a cell stays escaped', 'x,y\n1,"2\n3"\n', 'e.csv: row 3, column 2 ("y"): "2\\n3" is not a number'],
  ])('%s', (_, text, message) => {
    const run = () => parseDelimited(text, 'e.csv');
    expect(run).toThrow(InputError);
    expect(run).toThrow(message);
    try {
      run();
    } catch (e) {
      expect((e as Error).message).toBe(message);
      expect((e as Error).message).not.toMatch(/[\n\r\u2028\u2029]/);
    }
  });

  it('rejects what is not text', () => {
    expect(() => parseDelimited(42 as never, 'n.csv')).toThrow("n.csv: expected the file's text as a string");
  });
});

describe('formatCsv', () => {
  it('writes one line per row, numbers in shortest round-trip form', () => {
    expect(formatCsv([1, -0, 0.1, 1e21, 5e-324, -2.5], [2, 3])).toBe('1,-0,0.1\n1e+21,5e-324,-2.5\n');
    expect(formatCsv(new Float64Array([1, 2]), [1, 2], { header: ['x', 'y'], delimiter: '\t' })).toBe('x\ty\n1\t2\n');
    expect(formatCsv([], [0, 3])).toBe('');
    expect(formatCsv([], [0, 2], { header: ['a', 'b'] })).toBe('a,b\n');
  });

  it('quotes names that would not read back', () => {
    const header = ['a,b', 'say "hi"', 'two\nlines', '#1', 'plain'];
    const text = formatCsv([1, 2, 3, 4, 5], [1, 5], { header });
    expect(text).toBe('"a,b","say ""hi""","two\nlines","#1",plain\n1,2,3,4,5\n');
    expect(parseDelimited(text, 'h.csv').header).toEqual(header);
    // The delimiter decides what needs quotes.
    expect(formatCsv([1, 2], [1, 2], { header: ['a,b', 'c;d'], delimiter: ';' })).toBe('a,b;"c;d"\n1;2\n');
  });

  it('round-trips every finite double exactly, with and without a header', () => {
    const rng = new Rng(20240607);
    for (const [rows, cols] of [[1, 1], [7, 3], [50, 40], [1, 2000]] as const) {
      const x = randomDoubles(rng, rows * cols);
      for (const delimiter of [',', '\t', ';'] as const) {
        const header = cols <= 40 ? Array.from({ length: cols }, (_, j) => `f${j}`) : undefined;
        const text = formatCsv(x, [rows, cols], { delimiter, ...(header ? { header } : {}) });
        const back = parseDelimited(text, delimiter === '\t' ? 'r.tsv' : 'r.csv');
        expect(back.rows).toBe(rows);
        expect(back.cols).toBe(cols);
        expect(back.header).toEqual(header ?? null);
        let mismatches = 0;
        for (let i = 0; i < x.length; i++) if (!Object.is(back.data[i], x[i])) mismatches++;
        expect(mismatches, `${rows}×${cols} with ${JSON.stringify(delimiter)}`).toBe(0);
      }
    }
  });

  it.each([
    ['too many values', () => formatCsv(new Float64Array(0), [10_001, 1000]), `csv: 10001 × 1000 = 10001000 values is too many for CSV (at most ${MAX_CSV_ELEMENTS}); write .npy instead`],
    ['wrong length', () => formatCsv([1, 2, 3], [2, 2]), 'csv: data has 3 values but shape [2, 2] needs 4'],
    ['1-d shape', () => formatCsv([1, 2], [2]), 'csv: shape must be [rows, cols] with non-negative integers, got [2]'],
    ['fractional shape', () => formatCsv([1, 2], [1.5, 2]), 'csv: shape must be [rows, cols] with non-negative integers, got [1.5,2]'],
    ['NaN', () => formatCsv([1, NaN], [1, 2]), 'csv: value at row 1, column 2 is NaN: CSV holds finite numbers only'],
    ['Infinity', () => formatCsv([1, 2, -Infinity, 4], [2, 2]), 'csv: value at row 2, column 1 is -Infinity: CSV holds finite numbers only'],
    ['header length', () => formatCsv([1, 2], [1, 2], { header: ['a'] }), 'csv: header must be 2 strings (one per column)'],
    ['numeric header', () => formatCsv([1, 2], [1, 2], { header: ['1', 'NaN'] }), 'csv: the header needs at least one name that is not a number, empty, NaN, Inf or NA (a reader would take the row for data)'],
    ['bad delimiter', () => formatCsv([1], [1, 1], { delimiter: ' ' as never }), 'csv: delimiter must be ",", "\\t" or ";", got " "'],
  ])('%s is an InputError', (_, run, message) => {
    expect(run).toThrow(InputError);
    expect(run).toThrow(message);
  });

  it('writes up to MAX_CSV_ELEMENTS values', () => {
    expect(MAX_CSV_ELEMENTS).toBe(10_000_000);
    // The guard counts values, not the length of the data (checked next).
    expect(() => formatCsv(new Float64Array(0), [MAX_CSV_ELEMENTS, 1])).toThrow('csv: data has 0 values but shape [10000000, 1] needs 10000000');
  });
});

describe('the header and name options', () => {
  it('header: true takes the first row as names, false as data, left out detects', () => {
    expect(plain(parseDelimited('1,2\n3,4\n', 'n.csv', { header: true }))).toEqual({ data: [3, 4], rows: 1, cols: 2, header: ['1', '2'] });
    expect(plain(parseDelimited('1,2\n3,4\n', 'n.csv'))).toEqual({ data: [1, 2, 3, 4], rows: 2, cols: 2, header: null });
    expect(plain(parseDelimited(' x , y\n3,4\n', 'n.csv', { header: true }))).toEqual({ data: [3, 4], rows: 1, cols: 2, header: ['x', 'y'] });
    expect(() => parseDelimited('x,y\n3,4\n', 'n.csv', { header: false })).toThrow('n.csv: row 1, column 1: "x" is not a number');
    expect(() => parseDelimited('1,2\n', 'n.csv', { header: true })).toThrow('n.csv: has a header row (row 1) but no rows of numbers');
    expect(() => parseDelimited('1,2\n', 'n.csv', { header: 1 as unknown as boolean })).toThrow('n.csv: header must be true, false or left out, got 1');
  });

  it("formatCsv's errors name the file given as name", () => {
    expect(() => formatCsv([1, NaN], [1, 2], { name: 'out.csv' })).toThrow('out.csv: value at row 1, column 2 is NaN: CSV holds finite numbers only');
    expect(() => formatCsv([1], [1], { name: 'out.csv' })).toThrow('out.csv: shape must be [rows, cols] with non-negative integers, got [1]');
  });
});
