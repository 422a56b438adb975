// Runs the paper scripts in this folder one after another: every <author><year>.mjs and the
// finite-width scripts <author><year>-<topic>.mjs, except li2020-dynamics.mjs, which is opt-in.
// `npm run papers` (builds first); WEBNTK_BACKEND=webgpu runs the kernels on WebGPU.
//
// Order: alphabetical, so a <paper>-<topic>.mjs runs before the <paper>.mjs that reads its JSON
// (li2020.mjs reads li2020-dynamics.json, littwin2020.mjs cites littwin2020-corrections).
// Recorded runtimes on the shared 2-core machine: littwin2020-corrections.mjs 587 s (its JSON's
// `seconds`); li2020-dynamics.mjs 710 s for the main pass plus 225 s for its ASI=1 pass and 41 s for its RATES=1 pass (2026-12-06; 1147 s for the main pass in an earlier, busier run), so about 16 to 25 minutes
// together: it runs only with --with-dynamics (both passes), else li2020.mjs reads the committed JSON.
// Under WEBNTK_BACKEND=webgpu the finite-width scripts are skipped: their sampling is float64 on the
// CPU whatever the backend, and they write no .webgpu.json.
//
//   node bench/papers/run-all.mjs [--with-dynamics] [--skip a.mjs,b.mjs] [--list]   (--list: print the plan, run nothing)
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const withDynamics = args.includes('--with-dynamics');
const listOnly = args.includes('--list');
const skipAt = args.indexOf('--skip');
const skip = new Set(skipAt >= 0 ? (args[skipAt + 1] ?? '').split(',').filter(Boolean) : []);
const unknown = args.filter((a, i) => !['--with-dynamics', '--skip', '--list'].includes(a) && !(skipAt >= 0 && i === skipAt + 1));
if (unknown.length) {
  console.error(`run-all.mjs: unknown argument ${unknown[0]} (use --with-dynamics, --skip a.mjs,b.mjs, --list)`);
  process.exit(2);
}
const gpu = (process.env.WEBNTK_BACKEND ?? 'cpu') === 'webgpu';
/** Scripts that sample on the CPU only (no WebGPU variant of their results). */
const CPU_ONLY = new Set(['li2020-dynamics.mjs', 'littwin2020-corrections.mjs']);
/** Opt-in scripts and the passes each runs (extra environment per pass). */
const OPT_IN = { 'li2020-dynamics.mjs': { on: withDynamics, passes: [{}, { ASI: '1' }, { RATES: '1' }] } };

const all = readdirSync(here).filter((f) => /^[a-z]+\d{4}(-[a-z0-9-]+)?\.mjs$/.test(f)).sort();
for (const s of skip) {
  if (!all.includes(s)) {
    console.error(`run-all.mjs: --skip ${s}: no such script (scripts: ${all.join(', ')})`);
    process.exit(2);
  }
}
let failed = 0;
const t0 = performance.now();
for (const s of all) {
  const opt = OPT_IN[s];
  const why = skip.has(s) ? '--skip' : opt && !opt.on ? 'opt-in: --with-dynamics' : gpu && CPU_ONLY.has(s) ? 'float64 CPU sampling only' : null;
  if (why) {
    console.log(`${s}: skipped (${why})`);
    continue;
  }
  for (const env of opt?.passes ?? [{}]) {
    if (listOnly) {
      console.log(`${s}: runs${Object.keys(env).length ? ` (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}`);
      continue;
    }
    const t = performance.now();
    const r = spawnSync(process.execPath, [join(here, s)], { stdio: 'inherit', env: { ...process.env, ...env } });
    const pass = Object.keys(env).length ? ` (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')})` : '';
    console.log(`${s}${pass}: exit ${r.status}, ${((performance.now() - t) / 1000).toFixed(0)} s`);
    if (r.status !== 0) {
      console.error(`${s}${pass} failed (exit ${r.status})`);
      failed++;
    }
  }
}
if (listOnly) process.exit(0);
console.log(`run-all.mjs: ${failed ? `${failed} failed` : 'all passed'}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
process.exit(failed ? 1 : 0);
