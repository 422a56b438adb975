/**
 * CSV in other runtimes, run in Deno and headless Chromium by test/csv-runtimes.test.ts (see
 * harness.ts for the entry contract): src/io/csv.ts must work without Node's Buffer or streams.
 * Parses a few files, round-trips random doubles and returns what it saw.
 */
import { formatCsv, parseDelimited } from '../../src/io/csv.js';
import { Rng } from '../../src/mc/rng.js';

export interface CsvEntryResult {
  runtime: string;
  hasNodeBuffer: boolean;
  parsed: { data: number[]; rows: number; cols: number; header: string[] | null }[];
  roundTripExact: boolean;
  errors: string[];
}

export async function run(): Promise<CsvEntryResult> {
  const g = globalThis as unknown as { Deno?: unknown; window?: unknown; Buffer?: unknown };
  const runtime = g.Deno !== undefined ? 'deno' : g.window !== undefined ? 'browser' : 'other';
  const inputs: [string, string][] = [
    ['\ufeffx,"y, z"\r\n1.5, -2e-3\r\n"3",4\r\n', 'a.csv'],
    ['1\t2\t3\n4\t5\t6\n', 'b.tsv'],
    ['# comment\nα;β\n1;2\n', 'c.txt'],
  ];
  const parsed = inputs.map(([text, name]) => {
    const m = parseDelimited(text, name);
    return { data: Array.from(m.data), rows: m.rows, cols: m.cols, header: m.header };
  });

  const rng = new Rng(7);
  const x = new Float64Array(200);
  for (let i = 0; i < x.length; i++) x[i] = (rng.uniform() - 0.5) * 2 ** Math.floor(rng.uniform() * 200 - 100);
  const back = parseDelimited(formatCsv(x, [20, 10], { header: Array.from({ length: 10 }, (_, i) => `c${i}`) }), 'r.csv');
  const roundTripExact = back.data.every((v, i) => Object.is(v, x[i]));

  const errors: string[] = [];
  for (const [text, name] of [['a,b\n1,x\n', 'e.csv'], ['1,"2\n', 'q.csv'], ['1,2\n3\n', 'r.csv']]) {
    try {
      parseDelimited(text!, name!);
      errors.push('no error');
    } catch (e) {
      errors.push(`${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  return { runtime, hasNodeBuffer: g.Buffer !== undefined, parsed, roundTripExact, errors };
}
