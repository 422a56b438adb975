/**
 * The README's "npm run build … then npx webntk …" after every build, not only the first: tsc
 * writes the bin (dist/node/bin.js) as mode 644 and npx marks a local bin executable only when it first links
 * it, so a rebuild once left `sh: 1: webntk: Permission denied` (exit 127). The build runs in a copy
 * of the project (so that the dist/ other test files import is never deleted under them), twice,
 * and the bin then runs the way the README says.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const work = mkdtempSync(join(tmpdir(), 'webntk-bin-'));

/** Without the npm_* variables of an enclosing `npm test`, which would make npm act on the repo. */
function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') e[k] = v;
  return { ...e, NO_COLOR: '1', NPM_CONFIG_UPDATE_NOTIFIER: 'false' };
}

function run(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd: work, env: env(), encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the CLI bin after repeated builds', () => {
  it('npm run build twice, then npx webntk runs (mode 755)', { timeout: 300_000 }, () => {
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'shaders', 'scripts']) {
      cpSync(join(REPO, f), join(work, f), { recursive: true });
    }
    symlinkSync(join(REPO, 'node_modules'), join(work, 'node_modules'), 'dir');
    for (let i = 0; i < 2; i++) {
      const b = run('npm', ['run', '--silent', 'build']);
      expect(b.code, b.out).toBe(0);
      expect(statSync(join(work, 'dist/node/bin.js')).mode & 0o777).toBe(0o755);
    }
    const r = run('npx', ['webntk', '--version']);
    expect(r.out.trim()).toBe(VERSION);
    expect(r.code).toBe(0);
    const p = run('npx', ['webntk', 'presets']);
    expect(p.code, p.out).toBe(0);
    expect(p.out).toContain('arora2019');
  });
});
