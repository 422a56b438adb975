/**
 * The package as a user gets it: `npm pack` (its prepack script builds dist/ with tsc and
 * dist-browser/ with vite), a fresh project that installs the tarball (dependencies from the
 * registry, or npm's cache), and then
 *   - the installed CLI through `npx --no webntk` (--version, presets, gram on a .npy);
 *   - an ES module in Node importing `webntk`, `webntk/node` and `webntk/browser`;
 *   - a TypeScript consumer type-checked against the shipped declarations (NodeNext, strict,
 *     skipLibCheck off, no ambient @types);
 *   - Deno importing `npm:webntk` and `npm:webntk/node` from that project's node_modules
 *     (--node-modules-dir=manual, --cached-only, an empty DENO_DIR, no network);
 *   - the browser build (dist-browser/webntk.js) loaded as a module by a page in headless Chromium.
 * Everything runs in one temp folder, removed at the end.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { runPageInChromium } from './packaging/chromium-page.js';
import { denoBinary } from './runtimes/harness.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PKG = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };
const TSC = join(REPO, 'node_modules', '.bin', 'tsc');

/** The inputs every runtime computes on: two orthonormal rows (NTK(x, x) = depth + 1 = 4) and a third. */
const X2 = [
  [1, 0],
  [0, 1],
];
const X3 = [...X2, [0.6, 0.8]];
const ARCH = 'arora2019:depth=3';

interface Kern {
  ntk: number[];
  nngp: number[];
  shape: number[];
}
interface RuntimeResult {
  two: Kern;
  three: Kern;
  coreExports: string[];
  nodeExports: string[];
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * The environment for commands in the fresh project: without the npm_* variables of an enclosing
 * `npm test` (npm_package_json, npm_config_*, …), which would make npm act on this repository.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'INIT_CWD') continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: '1', NPM_CONFIG_UPDATE_NOTIFIER: 'false', NPM_CONFIG_FUND: 'false', NPM_CONFIG_AUDIT: 'false', ...extra };
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${cmd}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Runs a command that must succeed; the error carries its output. */
async function ok(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const tail = (s: string) => (s.length > 4000 ? `…${s.slice(-4000)}` : s);
    throw new Error(`\`${cmd} ${args.join(' ')}\` in ${opts.cwd} exited ${r.code} after ${r.ms} ms\nstderr:\n${tail(r.stderr)}\nstdout:\n${tail(r.stdout)}`);
  }
  return r;
}

/** The last stdout line as JSON (what the little scripts below print). */
function lastJson(r: Ran): unknown {
  const lines = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  return JSON.parse(lines[lines.length - 1] ?? 'null') as unknown;
}

// ---------------------------------------------------------------------------------------------
// Scripts run in the fresh project
// ---------------------------------------------------------------------------------------------

/** The body shared by the Node and Deno scripts: `core` and `node` are the two entry points. */
function resultScript(coreSpecifier: string, nodeSpecifier: string): string {
  return `import * as core from ${JSON.stringify(coreSpecifier)};
import * as node from ${JSON.stringify(nodeSpecifier)};
const k = (x) => {
  const r = core.kernelCpu(${JSON.stringify(ARCH)}, x);
  return { ntk: Array.from(r.ntk), nngp: Array.from(r.nngp), shape: r.shape };
};
console.log(JSON.stringify({
  two: k(${JSON.stringify(X2)}),
  three: k(${JSON.stringify(X3)}),
  coreExports: Object.keys(core).sort(),
  nodeExports: Object.keys(node).sort(),
}));
`;
}

const CONSUMER_TS = `import { kernel, kernelCpu, getGpu, PRESETS, type GpuContext, type KernelResult } from 'webntk';
import * as browser from 'webntk/browser';
import { main, readMatrixFile } from 'webntk/node';

const r: KernelResult = kernelCpu('arora2019:depth=3', [[1, 0], [0, 1]]);
const n: number = r.shape[0]!;
const ntk: ArrayLike<number> = r.ntk!;
const viaGpu: Promise<KernelResult> = kernel('arora2019:depth=3', [[1, 0]], null, { backend: 'auto' });
const ctx: Promise<GpuContext | null> = getGpu();
const device = ctx.then((c) => c?.device.limits.maxBufferSize);
const code: Promise<number> = main(['--version']);
const names: string[] = PRESETS.map((p) => p.name);
const same: typeof kernelCpu = browser.kernelCpu;

// The declarations are real types, not \`any\`: each of these must be an error (else TS2578).
// @ts-expect-error an arch is a preset reference or a spec, not a number
kernelCpu(42, [[1]]);
// @ts-expect-error the CLI takes an argument list
void main('--version');
// @ts-expect-error no such export
import('webntk').then((m) => m.noSuchExport);

export { n, ntk, viaGpu, device, code, names, same, readMatrixFile };
`;

/**
 * Two consumers: a strict one that also checks the shipped .d.ts files (skipLibCheck off) with
 * TypeScript's default lib (which has the DOM: @webgpu/types, which the declarations reference
 * for GPUDevice and friends, is written against it), and a Node-style one without the DOM lib,
 * with skipLibCheck as such projects have it. Neither has any @types of its own.
 */
const CONSUMER_TSCONFIGS: Record<string, object> = {
  'tsconfig.strict.json': {
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: [] },
    files: ['consumer.ts'],
  },
  'tsconfig.node.json': {
    compilerOptions: { target: 'ES2022', lib: ['ES2022'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] },
    files: ['consumer.ts'],
  },
};

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>webntk browser build</title></head>
<body><script type="module">
const X2 = ${JSON.stringify(X2)};
const X3 = ${JSON.stringify(X3)};
const ARCH = ${JSON.stringify(ARCH)};
window.__webntkResult = (async () => {
  const m = await import('./webntk.js');
  const k = (x) => {
    const r = m.kernelCpu(ARCH, x);
    return { ntk: Array.from(r.ntk), nngp: Array.from(r.nngp), shape: r.shape };
  };
  const out = { two: k(X2), three: k(X3), coreExports: Object.keys(m).sort(), navigatorGpu: 'gpu' in navigator, webgpu: null };
  if (navigator.gpu) {
    const ctx = await m.getGpu();
    if (!ctx) {
      out.webgpu = { adapter: null };
    } else {
      const r = await m.kernel(ARCH, X3, null, { backend: 'webgpu' });
      out.webgpu = { adapter: r.adapter ?? null, backend: r.backend, ntk: Array.from(r.ntk), nngp: Array.from(r.nngp), shape: r.shape };
      await m.releaseGpu();
    }
  }
  return out;
})().then(
  (v) => ({ ok: true, json: JSON.stringify(v) }),
  (e) => ({ ok: false, error: String((e && e.stack) || e) }),
);
</script></body></html>
`;

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

describe('packaging: npm pack, install in a fresh project, use it', () => {
  let work = '';
  let tarball = '';
  let app = '';
  let entries: string[] = [];
  let nodeResult: Promise<RuntimeResult> | null = null;
  const timings: Record<string, number> = {};

  /** The installed package's results in Node (computed once, compared with Deno and Chromium). */
  function inNode(): Promise<RuntimeResult> {
    nodeResult ??= (async () => {
      writeFileSync(join(app, 'check.mjs'), resultScript('webntk', 'webntk/node'));
      const r = await ok(process.execPath, ['check.mjs'], { cwd: app, timeoutMs: 60_000 });
      timings['node script'] = r.ms;
      return lastJson(r) as RuntimeResult;
    })();
    return nodeResult;
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'webntk-packaging-'));
    const packDir = join(work, 'pack');
    app = join(work, 'app');
    mkdirSync(packDir);
    mkdirSync(app);

    // npm pack runs the prepack script: tsc → dist/, vite → dist-browser/.
    const pack = await ok('npm', ['pack', '--pack-destination', packDir], { cwd: REPO, timeoutMs: 180_000 });
    timings['npm pack (with build)'] = pack.ms;
    const tgz = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
    expect(tgz).toEqual([`${PKG.name}-${PKG.version}.tgz`]);
    tarball = join(packDir, tgz[0]!);
    const list = await ok('tar', ['-tzf', tarball], { cwd: work });
    entries = list.stdout
      .split('\n')
      .filter(Boolean)
      .map((e) => e.replace(/^package\//, ''));

    await ok('npm', ['init', '-y'], { cwd: app });
    const appPkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as Record<string, unknown>;
    appPkg.type = 'module';
    writeFileSync(join(app, 'package.json'), JSON.stringify(appPkg, null, 2) + '\n');
    const install = await ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, timeoutMs: 300_000 });
    timings['npm install <tgz>'] = install.ms;
  }, 480_000);

  afterAll(() => {
    console.log(`packaging timings (ms): ${JSON.stringify(timings)}`);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs what a user needs and nothing from development', () => {
    for (const f of [
      'package.json',
      'README.md',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/node/index.js',
      'dist/node/index.d.ts',
      'dist/node/cli.js',
      'dist/node/bin.js',
      'dist-browser/webntk.js',
      'data/iris.npy',
    ]) {
      expect(entries, f).toContain(f);
    }
    for (const e of entries) {
      expect(e, e).not.toMatch(/^(test|src|bench|scripts|node_modules|out|coverage|\.device)\//);
      expect(e, e).not.toMatch(/(^|\/)node_modules\//);
      expect(e, e).not.toMatch(/\.tmp-|^vite(\.lib)?\.config\.ts$|^tsconfig/);
    }
    // Every .js entry of the exports map and the bin is in the tarball.
    const installed = JSON.parse(readFileSync(join(app, 'node_modules', PKG.name, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      exports: Record<string, string | Record<string, string>>;
    };
    const targets = [
      ...Object.values(installed.bin),
      ...Object.values(installed.exports).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v))),
    ].map((p) => p.replace(/^\.\//, ''));
    for (const t of targets) expect(entries, `exports/bin target ${t}`).toContain(t);
    expect(readFileSync(join(app, 'node_modules', PKG.name, installed.bin.webntk!), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('runs the installed CLI (npx webntk)', { timeout: 120_000 }, async () => {
    // `--no`: never fetch a package from the registry; `--`: what follows is webntk's, not npx's
    // (`npx --no webntk --version` prints npm's version).
    const npx = (...args: string[]) => ok('npx', ['--no', '--', 'webntk', ...args], { cwd: app, timeoutMs: 60_000 });
    const v = await npx('--version');
    expect(v.stdout.trim()).toBe(PKG.version);
    const presets = await npx('presets');
    expect(presets.stdout).toMatch(/^arora2019: /m);

    writeFileSync(join(app, 'x.npy'), encodeNpy(X3.flat(), [3, 2], 'float64'));
    const t0 = Date.now();
    const g = await npx('gram', '--arch', ARCH, '--x1', 'x.npy', '--get', 'ntk', '--out', 'K.npy');
    timings['npx webntk gram'] = Date.now() - t0;
    expect(g.stderr).toMatch(/wrote K\.npy: ntk \[3, 3\] float64/);
    const K = parseNpy(readFileSync(join(app, 'K.npy')));
    expect(K.shape).toEqual([3, 3]);
    expect(Array.from(K.data)).toEqual((await inNode()).three.ntk);
    for (let i = 0; i < 3; i++) expect(K.data[i * 3 + i]).toBeCloseTo(4, 12);
  });

  it('imports webntk, webntk/node and webntk/browser from an ES module in Node', { timeout: 120_000 }, async () => {
    const r = await inNode();
    expect(r.two.shape).toEqual([2, 2]);
    expect(r.two.ntk[0]).toBeCloseTo(4, 12); // NTK(x, x) = depth + 1 for a unit-norm x
    expect(r.two.ntk[3]).toBeCloseTo(4, 12);
    expect(r.two.nngp[0]).toBeCloseTo(1, 12);
    expect(r.coreExports).toEqual(expect.arrayContaining(['kernel', 'kernelCpu', 'getGpu', 'PRESETS']));
    expect(r.nodeExports).toEqual(expect.arrayContaining(['main', 'readMatrixFile', 'useNodeWebGPU', 'releaseNodeWebGPU', 'exitNodeWebGPU']));

    // The browser build is a plain ES module: Node can import it by its subpath too.
    writeFileSync(join(app, 'check-browser.mjs'), resultScript('webntk/browser', 'webntk/node'));
    const b = lastJson(await ok(process.execPath, ['check-browser.mjs'], { cwd: app, timeoutMs: 60_000 })) as RuntimeResult;
    expect(b.two).toEqual(r.two);
    expect(b.three).toEqual(r.three);
    expect(b.coreExports).toEqual(r.coreExports);
  });

  it('ships type declarations that a strict NodeNext consumer type-checks against', { timeout: 120_000 }, async () => {
    writeFileSync(join(app, 'consumer.ts'), CONSUMER_TS);
    for (const [name, config] of Object.entries(CONSUMER_TSCONFIGS)) {
      writeFileSync(join(app, name), JSON.stringify(config, null, 2));
      const r = await run(TSC, ['-p', name], { cwd: app, timeoutMs: 120_000 });
      timings[`tsc -p ${name}`] = r.ms;
      expect(`${r.stdout}${r.stderr}`.trim(), name).toBe('');
      expect(r.code, name).toBe(0);
    }
  });

  it('runs in Deno through an npm: import of the installed package', { timeout: 120_000 }, async () => {
    writeFileSync(join(app, 'check-deno.mjs'), resultScript('npm:webntk', 'npm:webntk/node'));
    const denoDir = join(work, 'deno-dir');
    const dead = 'http://127.0.0.1:9';
    // No network: npm: specifiers resolve from ./node_modules as npm installed it (manual mode),
    // nothing may be fetched (--cached-only, dead proxies, an empty DENO_DIR). No permissions.
    const r = await ok(
      denoBinary(),
      ['run', '--quiet', '--no-prompt', '--no-config', '--no-lock', '--node-modules-dir=manual', '--cached-only', 'check-deno.mjs'],
      {
        cwd: app,
        timeoutMs: 60_000,
        env: cleanEnv({
          DENO_DIR: denoDir,
          DENO_NO_UPDATE_CHECK: '1',
          DENO_NO_PROMPT: '1',
          HTTP_PROXY: dead,
          HTTPS_PROXY: dead,
          NPM_CONFIG_REGISTRY: `${dead}/`,
        }),
      },
    );
    timings['deno npm:webntk'] = r.ms;
    expect(lastJson(r)).toEqual(await inNode());
    // Nothing was downloaded into Deno's own npm cache.
    const npmCache = join(denoDir, 'npm');
    expect(existsSync(npmCache) ? readdirSync(npmCache, { recursive: true }) : []).toEqual([]);
  });

  it('builds a browser ES module without Node built-ins, and it runs in Chromium', { timeout: 150_000 }, async () => {
    const dir = join(app, 'node_modules', PKG.name, 'dist-browser');
    const code = readFileSync(join(dir, 'webntk.js'), 'utf8');
    expect(code).not.toMatch(/["'`]node:/);
    expect(code).not.toMatch(/\brequire\s*\(/);
    expect(code).not.toMatch(/\bprocess\.(env|versions|argv|platform)\b/);
    // Self-contained: no import of another module (bare or relative).
    expect(code).not.toMatch(/^\s*import\b[^(]/m);
    expect(code).not.toMatch(/\bimport\s*\(\s*["'`]/);

    const t0 = Date.now();
    const page = await runPageInChromium(dir, PAGE, 90_000);
    timings['chromium page'] = Date.now() - t0;
    const r = page.result as RuntimeResult & {
      navigatorGpu: boolean;
      webgpu: null | { adapter: string | null; backend?: string; ntk?: number[]; nngp?: number[]; shape?: number[] };
    };
    expect(page.requests).toContain('/webntk.js');
    const node = await inNode();
    expect(r.two).toEqual(node.two);
    expect(r.three).toEqual(node.three);
    expect(r.coreExports).toEqual(node.coreExports);
    if (r.navigatorGpu) {
      expect(r.webgpu).not.toBeNull();
      if (r.webgpu?.adapter === null) {
        console.log('Chromium has navigator.gpu but no adapter: the WebGPU part was not run (test/runtimes.test.ts requires one)');
      } else {
        console.log(`Chromium WebGPU: ${r.webgpu?.adapter}`);
        expect(r.webgpu?.backend).toBe('webgpu');
        expect(r.webgpu?.shape).toEqual([3, 3]);
        for (const kind of ['ntk', 'nngp'] as const) {
          const got = r.webgpu?.[kind] ?? [];
          const want = node.three[kind];
          expect(got).toHaveLength(want.length);
          for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${kind}[${i}]`).toBeLessThanOrEqual(1e-5 * Math.abs(want[i]!) + 1e-6);
        }
      }
    } else {
      console.log('Chromium has no navigator.gpu: the WebGPU part was not run');
    }
  });
});
