import { parse } from 'csv-parse/browser/esm/sync';
const rows = 10000, cols = 100;
const lines = [];
for (let i = 0; i < rows; i++) { const r = []; for (let j = 0; j < cols; j++) r.push(String(Math.random() * 1e3 - 500)); lines.push(r.join(',')); }
const s = lines.join('\n') + '\n';
const base = { relax_column_count: true };
for (const [n, o] of [['min', {}], ['info', {info: true}], ['trim', {trim: true}], ['all', { info: true, bom: true, trim: true, skip_empty_lines: true, comment: '#', comment_no_infix: true }]]) {
  for (const input of ['str', 'u8']) {
  const data = input === 'str' ? s : new TextEncoder().encode(s);
  let t = performance.now();
  try { const recs = parse(data, { ...base, ...o }); console.log(n, input, recs.length, (performance.now() - t).toFixed(0), 'ms'); } catch (e) { console.log(n, input, 'ERR', e.message); }
  }
}
