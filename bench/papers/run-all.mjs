// Runs every paper script in this folder (files named <author><year>.mjs), one after another.
// `npm run papers` (builds first); WEBNTK_BACKEND=webgpu runs the kernels on WebGPU.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const scripts = readdirSync(here).filter((f) => /^[a-z]+\d{4}\.mjs$/.test(f)).sort();
let failed = 0;
for (const s of scripts) {
  const r = spawnSync(process.execPath, [join(here, s)], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${s} failed (exit ${r.status})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
