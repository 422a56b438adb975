/**
 * CSV / TSV reader and writer for numeric matrices. Runtime-neutral: it works on strings only (no
 * file system), so it runs in browsers, Deno and Node alike.
 *
 * Parsing is Papa Parse (`papaparse`), plain JavaScript with no Node built-ins on this path. Not
 * csv-parse: its `csv-parse/sync` entry needs Node's global `Buffer`, and its self-contained
 * browser build (`csv-parse/browser/esm/sync`) carries a Buffer shim that assigns `__proto__`,
 * which Deno forbids (it fails there with "that.write is not a function").
 *
 * What a file may hold:
 *   - cells separated by ',', '\t' or ';' (detected from the extension and the first line unless
 *     given); RFC 4180 quoting ("1.5", "a ""b"""); LF, CRLF or CR line ends; a UTF-8 byte-order
 *     mark; blank lines and lines starting with '#' are skipped;
 *   - an optional header row: the first row is a header when one of its cells is text (neither a
 *     number, nor empty, nor a missing-value token such as NaN, inf or NA); names are trimmed;
 *   - every other cell a finite decimal number (surrounding spaces and exponents allowed).
 * Errors are one-line `InputError`s that name the file, the row (= the line of the file, 1-based)
 * and the column (1-based, with its header name), and the offending cell.
 */
import Papa from 'papaparse';
import { InputError } from '../errors.js';
import { jsValue } from '../jsvalue.js';

export type CsvDelimiter = ',' | '\t' | ';';

export interface DelimitedOptions {
  /** Cell separator; detected from the extension of `name` and the first line when left out. */
  delimiter?: CsvDelimiter;
  /**
   * Whether the first row holds column names: `true` takes it as names (even numbers), `false` as
   * data; left out, it is names when one of its cells is text.
   */
  header?: boolean;
}

export interface DelimitedMatrix {
  /** Row-major values. */
  data: Float64Array;
  rows: number;
  cols: number;
  /** Column names from the header row (trimmed), or null when the file has none. */
  header: string[] | null;
}

export interface FormatCsvOptions {
  /** Column names, written as the first row (quoted where needed). */
  header?: readonly string[];
  /** Cell separator (default ','). */
  delimiter?: CsvDelimiter;
  /** The file's name, for error messages (default 'csv'). */
  name?: string;
}

/**
 * The largest matrix `formatCsv` writes (rows × cols). Text costs 20–25 bytes per float64 against
 * 8 in .npy, and a JavaScript string cannot exceed about 2^29 characters: above this, write .npy.
 */
export const MAX_CSV_ELEMENTS = 10_000_000;

const DELIMITERS: readonly CsvDelimiter[] = [',', '\t', ';'];
/** A decimal number as numpy, pandas and every spreadsheet write it. */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** Cells that stand for a missing or non-finite value: never a column name. */
const NOT_FINITE = /^[+-]?(?:nan|inf|infinity)$|^(?:na|n\/a|null|none|missing|#n\/a)$/i;

// ---------------------------------------------------------------------------------------------
// Reading

interface Row {
  cells: string[];
  /** 1-based line of the file where the row ends. */
  line: number;
}

/**
 * Parses delimited text into a matrix. `name` is the file name: it appears in every error and its
 * extension (.csv, .tsv, .tab) helps detect the delimiter.
 */
export function parseDelimited(text: string, name: string, opts: DelimitedOptions = {}): DelimitedMatrix {
  if (typeof text !== 'string') throw new InputError(`${name}: expected the file's text as a string`);
  const given = opts.delimiter;
  if (given !== undefined && !DELIMITERS.includes(given)) {
    throw new InputError(`${name}: delimiter must be ",", "\\t" or ";", got ${jsValue(given)}`);
  }
  const headerOpt = opts.header;
  if (headerOpt !== undefined && typeof headerOpt !== 'boolean') {
    throw new InputError(`${name}: header must be true, false or left out, got ${jsValue(headerOpt)}`);
  }
  let body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // One line end ('\n') everywhere, so that rows can be mapped to lines by counting.
  if (body.includes('\r')) body = body.replace(/\r\n?/g, '\n');
  const delimiter = given ?? detectDelimiter(body, name);

  const all = readRows(body, delimiter, name);
  const first = all[0];
  if (first === undefined) throw new InputError(`${name}: empty file: no rows of numbers`);
  const header = headerOpt ?? first.cells.some(isText) ? first.cells.map((h) => h.trim()) : null;
  const cols = first.cells.length;
  const skip = header ? 1 : 0;
  const rows = all.length - skip;
  if (rows === 0) throw new InputError(`${name}: has a header row (row ${first.line}) but no rows of numbers`);

  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const { cells, line } = all[r + skip]!;
    if (cells.length !== cols) {
      const ref = header ? `the header (row ${first.line})` : `row ${first.line}`;
      throw new InputError(`${name}: row ${line} has ${columns(cells.length)} but ${ref} has ${cols}`);
    }
    for (let c = 0; c < cols; c++) {
      const cell = cells[c]!.trim();
      if (NUMBER.test(cell)) {
        const v = Number(cell);
        if (Number.isFinite(v)) {
          data[r * cols + c] = v;
          continue;
        }
      }
      const where = `${name}: row ${line}, column ${c + 1}${header ? ` (${show(header[c]!)})` : ''}`;
      let problem = badCell(cell, delimiter);
      if (cell === '' && r === 0 && c === 0 && !header && cells.slice(1).every((x) => NUMBER.test(x.trim()))) {
        problem += '; a first row like ",0,1,2" is a pandas header with an index column: save with to_csv(index=False)';
      }
      throw new InputError(`${where}: ${problem}`);
    }
  }
  return { data, rows, cols, header };
}

/** The non-blank rows with their line numbers; a quoting error becomes an InputError. */
function readRows(body: string, delimiter: CsvDelimiter, name: string): Row[] {
  const rows: Row[] = [];
  // Line of an offset, by counting '\n' forwards (offsets only grow).
  let lineOffset = 0;
  let line = 1;
  const lineAt = (offset: number): number => {
    const end = Math.min(offset, body.length);
    for (let i = body.indexOf('\n', lineOffset); i >= 0 && i < end; i = body.indexOf('\n', i + 1)) line++;
    lineOffset = Math.max(lineOffset, end);
    return line;
  };
  let failure: string | null = null;
  /** Where the previous row ended (papaparse reports a last, empty row at the very end). */
  let previous = 0;
  Papa.parse<string[]>(body, {
    delimiter,
    newline: '\n',
    quoteChar: '"',
    escapeChar: '"',
    header: false,
    dynamicTyping: false,
    comments: '#',
    skipEmptyLines: false,
    step: (results, parser) => {
      const error = results.errors[0];
      if (error) {
        const at = typeof error.index === 'number' ? error.index : results.meta.cursor;
        failure = `row ${lineAt(at)}: ${error.message.replace(/\s+/g, ' ')}`;
        parser.abort();
        return;
      }
      const cells = results.data;
      // The cursor is just past the row's line end: the row itself ends on the line before it.
      const cursor = results.meta.cursor;
      const end = lineAt(Math.max(0, cursor - 1));
      if (cells.length === 1 && cells[0]!.trim() === '') {
        // A blank line, unless it is a quoted empty cell ("") of a one-column file: that is missing.
        const lineText = body.slice(Math.max(previous, body.lastIndexOf('\n', cursor - 2) + 1), cursor);
        previous = cursor;
        if (!lineText.includes('"')) return;
      }
      previous = cursor;
      rows.push({ cells, line: end });
    },
  });
  if (failure !== null) throw new InputError(`${name}: ${failure}`);
  return rows;
}

/** A header cell: text that is not a number, nor empty, nor a missing-value token. */
function isText(cell: string): boolean {
  const c = cell.trim();
  return c !== '' && !NUMBER.test(c) && !NOT_FINITE.test(c);
}

function badCell(cell: string, delimiter: CsvDelimiter): string {
  if (cell === '') return 'empty cell (every cell must be a number)';
  if (NUMBER.test(cell)) return `${show(cell)} overflows float64 (|value| > 1.8e308)`;
  if (NOT_FINITE.test(cell)) return `${show(cell)} is not a finite number (missing values, NaN and Inf are not allowed)`;
  return `${show(cell)} is not a number${hint(cell, delimiter)}`;
}

/** A likely reason for a cell that is not a number. */
function hint(cell: string, delimiter: CsvDelimiter): string {
  if (/^".*"$/s.test(cell)) return ' (a quoted cell must begin with its quote: no space before it)';
  if (delimiter !== ',' && /^[+-]?\d+,\d+(?:[eE][+-]?\d+)?$/.test(cell)) {
    return ' (decimal commas are not supported: write 1.5, not 1,5)';
  }
  const other = DELIMITERS.find((d) => d !== delimiter && cell.includes(d));
  if (other !== undefined) {
    return ` (the cells were split at ${show(delimiter)}; is the delimiter ${show(other)}?)`;
  }
  if (/^\S+(?:[ \t]+\S+)+$/.test(cell) && cell.split(/[ \t]+/).every((p) => NUMBER.test(p))) {
    return ' (values separated by spaces are not supported: use commas or tabs)';
  }
  return '';
}

/**
 * The delimiter of a file: the one the extension suggests (.tsv/.tab: tab, .csv: comma) if the
 * first line holds it, else the most frequent of ',', '\t', ';' in the first line (outside quotes),
 * else (a single column) the extension's or ','.
 */
function detectDelimiter(text: string, name: string): CsvDelimiter {
  const ext = /\.([A-Za-z]+)$/.exec(name)?.[1]?.toLowerCase();
  const preferred: CsvDelimiter | undefined = ext === 'tsv' || ext === 'tab' ? '\t' : ext === 'csv' ? ',' : undefined;
  const counts = countInFirstLine(text);
  if (preferred !== undefined && counts.get(preferred)! > 0) return preferred;
  let best: CsvDelimiter | undefined;
  for (const d of DELIMITERS) {
    if (counts.get(d)! > 0 && (best === undefined || counts.get(d)! > counts.get(best)!)) best = d;
  }
  return best ?? preferred ?? ',';
}

/** Delimiter counts, outside quotes, in the first line that is neither blank nor a comment. */
function countInFirstLine(text: string): Map<CsvDelimiter, number> {
  const counts = new Map<CsvDelimiter, number>(DELIMITERS.map((d) => [d, 0]));
  let i = 0;
  const n = text.length;
  // Skip blank lines and comment lines.
  for (;;) {
    let j = i;
    while (j < n && (text[j] === ' ' || text[j] === '\t')) j++;
    if (j < n && (text[j] === '\n' || text[j] === '\r')) {
      i = j + 1;
      continue;
    }
    if (j < n && text[j] === '#' && j === i) {
      const nl = text.indexOf('\n', j);
      if (nl < 0) return counts;
      i = nl + 1;
      continue;
    }
    break;
  }
  let quoted = false;
  for (; i < n; i++) {
    const ch = text[i]!;
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && counts.has(ch as CsvDelimiter)) counts.set(ch as CsvDelimiter, counts.get(ch as CsvDelimiter)! + 1);
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * A matrix as CSV: one line per row ('\n' line ends, one at the end), numbers in the shortest form
 * that reads back to the same float64 (`String(x)`, and "-0" for negative zero), so
 * `parseDelimited(formatCsv(x))` returns exactly x. Only finite values can be written.
 */
export function formatCsv(
  data: ArrayLike<number>,
  shape: readonly number[],
  opts: FormatCsvOptions = {},
): string {
  const name = typeof opts.name === 'string' ? opts.name : 'csv';
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InputError(`${name}: shape must be [rows, cols] with non-negative integers, got ${jsValue(shape)}`);
  }
  const [rows, cols] = shape as [number, number];
  const count = rows * cols;
  if (count > MAX_CSV_ELEMENTS) {
    throw new InputError(
      `${name}: ${rows} × ${cols} = ${count} values is too many for CSV (at most ${MAX_CSV_ELEMENTS}); write .npy instead`,
    );
  }
  if (data.length !== count) {
    throw new InputError(`${name}: data has ${data.length} values but shape [${rows}, ${cols}] needs ${count}`);
  }
  const delimiter = opts.delimiter ?? ',';
  if (!DELIMITERS.includes(delimiter)) {
    throw new InputError(`${name}: delimiter must be ",", "\\t" or ";", got ${jsValue(delimiter)}`);
  }

  const lines: string[] = [];
  const header = opts.header;
  if (header !== undefined) {
    if (!Array.isArray(header) || header.length !== cols || !header.every((h) => typeof h === 'string')) {
      throw new InputError(`${name}: header must be ${cols} strings (one per column)`);
    }
    if (!header.some(isText)) {
      throw new InputError(
        `${name}: the header needs at least one name that is not a number, empty, NaN, Inf or NA (a reader would take the row for data)`,
      );
    }
    lines.push(header.map((h) => quoteName(h, delimiter)).join(delimiter));
  }
  for (let i = 0; i < rows; i++) {
    const cells = new Array<string>(cols);
    for (let j = 0; j < cols; j++) {
      const v = data[i * cols + j]!;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new InputError(`${name}: value at row ${i + 1}, column ${j + 1} is ${jsValue(v)}: CSV holds finite numbers only`);
      }
      cells[j] = v === 0 && 1 / v < 0 ? '-0' : String(v);
    }
    lines.push(cells.join(delimiter));
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** RFC 4180 quoting where a name would otherwise not read back (names are read back trimmed). */
function quoteName(h: string, delimiter: CsvDelimiter): string {
  const needs = h.includes(delimiter) || /["\r\n]/.test(h) || h.startsWith('#');
  return needs ? `"${h.replaceAll('"', '""')}"` : h;
}

// ---------------------------------------------------------------------------------------------

/** A cell or name for an error message: quoted, escaped onto one line, at most 40 characters. */
function show(s: string): string {
  const cut = s.length > 40 ? `${s.slice(0, 40)}…` : s;
  return JSON.stringify(cut).replace(/[\u2028\u2029\u0085]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function columns(n: number): string {
  return n === 1 ? '1 column' : `${n} columns`;
}
