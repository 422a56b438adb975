/**
 * `npm start` and `npm test` run `npm install` when node_modules is stale (scripts/ensure-deps.mjs);
 * that must not rewrite the tracked package-lock.json. It once did: the lock lacked the optional
 * platform packages of `deno`, and every install added them. npm resolving the lock again from
 * package.json (in a copy, lock only, no scripts) must give the committed file byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'webntk-lock-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('package-lock.json', () => {
  it('is what npm install writes for package.json (an install leaves it unchanged)', { timeout: 180_000 }, () => {
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(REPO, f), join(work, f));
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
    const r = spawnSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: work,
      env: { ...env, NPM_CONFIG_UPDATE_NOTIFIER: 'false' },
      encoding: 'utf8',
      timeout: 150_000,
    });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const committed = readFileSync(join(REPO, 'package-lock.json'), 'utf8');
    const written = readFileSync(join(work, 'package-lock.json'), 'utf8');
    expect(written === committed, 'npm install rewrites package-lock.json: run npm install and commit the lock').toBe(true);
  });
});
