/**
 * docs/reproductions.md and the paper scripts' results agree: the summary table counts the verdicts
 * that bench/papers/results/<paper>.json records, and every JSON claim has a known verdict.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(import.meta.dirname, '..');
const doc = fs.readFileSync(path.join(root, 'docs', 'reproductions.md'), 'utf8');
const papers: [string, string][] = [
  ['Hayou', 'hayou2019'],
  ['Tirer', 'tirer2021'],
  ['Huang', 'huang2020'],
  ['Belfer', 'belfer2021'],
  ['Barzilai', 'barzilai2022'],
  ['Littwin', 'littwin2020'],
  ['Li, Luo, Yip', 'li2020'],
];

describe('docs/reproductions.md', () => {
  for (const [author, file] of papers) {
    it(`${author}: the summary row counts the verdicts of bench/papers/results/${file}.json`, () => {
      const json = JSON.parse(fs.readFileSync(path.join(root, 'bench', 'papers', 'results', `${file}.json`), 'utf8')) as { claims: { verdict: string }[] };
      const count = (v: string) => json.claims.filter((c) => c.verdict === v).length;
      for (const c of json.claims) expect(['reproduced', 'partly', 'not reproduced']).toContain(c.verdict);
      const row = doc.split('\n').find((l) => l.startsWith(`| ${author}`));
      expect(row, `summary row for ${author}`).toBeDefined();
      const cells = row!.split('|').map((c) => c.trim());
      const num = (s: string) => (s === '' ? 0 : Number(s));
      expect([num(cells[2]!), num(cells[3]!), num(cells[4]!), num(cells[5]!)]).toEqual([json.claims.length, count('reproduced'), count('partly'), count('not reproduced')]);
      // Every figure the document shows exists.
      for (const m of doc.matchAll(/\]\((figures\/[^)]+\.svg)\)/g)) expect(fs.existsSync(path.join(root, 'docs', m[1]!)), m[1]).toBe(true);
    });
  }
});
