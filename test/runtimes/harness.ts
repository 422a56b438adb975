/**
 * Runs the same test code in other JavaScript runtimes (Deno: wgpu; headless Chromium: Dawn on
 * SwiftShader) from a vitest test in Node, and hands the results back as JSON.
 *
 * The entry contract: an entry is a TypeScript module that imports from `../../src/...` and
 * exports `async function run(): Promise<JSON-able>`. `bundleEntry()` turns it into one
 * self-contained ES module; `runInDeno()` / `runInChromium()` import that module, await `run()`
 * and return `JSON.parse(JSON.stringify(result))`.
 *
 * Nothing here reaches the network: the bundle is built locally by vite, Deno runs with
 * `--no-remote --no-npm --cached-only`, and Chromium only resolves 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_CHROMIUM_ARGS, serveLoopback } from '../../src/node/bench-runtimes.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** One temp folder per process for bundles, Deno's cache and wrapper modules; removed on exit. */
let workDir: string | null = null;
function getWorkDir(): string {
  if (!workDir) {
    const dir = mkdtempSync(join(tmpdir(), 'webntk-runtimes-'));
    workDir = dir;
    process.once('exit', () => {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    });
  }
  return workDir;
}

/**
 * Removes this process's temp folder (bundles, Deno's cache) and forgets the cached bundles.
 * Call it from `afterAll`: vitest ends its workers without a normal exit, so the exit hook above
 * is only a fallback.
 */
export function cleanupRuntimes(): void {
  bundles.clear();
  const dir = workDir;
  workDir = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Bundling
// ---------------------------------------------------------------------------------------------

const bundles = new Map<string, Promise<string>>();

/**
 * Bundles a TypeScript entry (and everything it imports) into one self-contained ES module for
 * browsers and Deno, using vite's `build()` in library mode. Returns the bundle's absolute path.
 * Cached per entry path within the process.
 */
export function bundleEntry(entryPath: string): Promise<string> {
  const entry = resolve(REPO_ROOT, entryPath);
  let p = bundles.get(entry);
  if (!p) {
    p = doBundle(entry);
    bundles.set(entry, p);
    p.catch(() => bundles.delete(entry));
  }
  return p;
}

async function doBundle(entry: string): Promise<string> {
  if (!existsSync(entry)) throw new Error(`bundleEntry: no such entry ${entry}`);
  const { build } = await import('vite');
  const name = basename(entry).replace(/\.[cm]?[jt]sx?$/, '');
  const outDir = mkdtempSync(join(getWorkDir(), `bundle-${name}-`));
  const fileName = `${name}.js`;
  await build({
    configFile: false,
    envDir: false,
    root: REPO_ROOT,
    mode: 'production',
    logLevel: 'warn',
    publicDir: false,
    plugins: [],
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    build: {
      lib: { entry, formats: ['es'], fileName: () => fileName },
      outDir,
      emptyOutDir: true,
      minify: false,
      sourcemap: false,
      target: 'es2022',
      copyPublicDir: false,
      reportCompressedSize: false,
      write: true,
      rolldownOptions: {
        // Everything in one file: the runtimes import exactly one module.
        output: { codeSplitting: false },
      },
    },
  });
  const out = join(outDir, fileName);
  if (!existsSync(out)) throw new Error(`bundleEntry: vite produced no ${out}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

export interface RunOptions {
  /** Wall-clock limit for the whole run in milliseconds (default 60 000). */
  timeoutMs?: number;
  /** Chromium only: extra command-line switches, appended to CHROMIUM_ARGS. */
  chromiumArgs?: string[];
  /**
   * Deno only: extra environment variables (e.g. `{ DENO_WEBGPU_BACKEND: 'gl' }`,
   * `{ VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' }`).
   */
  denoEnv?: Record<string, string>;
  /** Deno only: extra flags before the module (e.g. a permission: `--allow-read=<dir>`). */
  denoArgs?: string[];
}

const DEFAULT_TIMEOUT_MS = 60_000;

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function tail(text: string, max = 4000): string {
  const t = text.trim();
  return t.length > max ? `…${t.slice(-max)}` : t;
}

// ---------------------------------------------------------------------------------------------
// Deno
// ---------------------------------------------------------------------------------------------

/** Path of the Deno binary from the `deno` npm package (works without its postinstall too). */
export function denoBinary(): string {
  const require = createRequire(import.meta.url);
  const candidates: string[] = [];
  const exe = process.platform === 'win32' ? 'deno.exe' : 'deno';
  try {
    candidates.push(join(dirname(require.resolve('deno/package.json')), exe));
  } catch {
    // not installed
  }
  const libc = process.platform === 'linux' ? '-glibc' : '';
  try {
    candidates.push(join(dirname(require.resolve(`@deno/${process.platform}-${process.arch}${libc}/package.json`)), exe));
  } catch {
    // no platform package
  }
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new Error(
      `No Deno binary found (looked at ${candidates.join(', ') || 'nothing resolvable'}). ` +
        'Install it with `npm install --save-dev deno` (the binary comes from the @deno/<platform> package).',
    );
  }
  return found;
}

/**
 * Runs a bundle's `run()` in Deno and returns its JSON result. Deno gets no permissions at all
 * (importing the bundle by a literal file URL needs none; navigator.gpu needs none), no network,
 * no config file, a private DENO_DIR, and no update check.
 */
export async function runInDeno(bundlePath: string, options: RunOptions = {}): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const bundle = resolve(bundlePath);
  const dir = dirname(bundle);
  const wrapper = join(dir, `deno-runner-${basename(bundle, '.js')}.mjs`);
  writeFileSync(
    wrapper,
    [
      `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
      `if (typeof m.run !== 'function') throw new Error('the bundle exports no run()');`,
      `const result = await m.run();`,
      `console.log(JSON.stringify(result ?? null));`,
      // A live GPUDevice must not keep the process around.
      `Deno.exit(0);`,
      '',
    ].join('\n'),
  );
  const denoDir = join(getWorkDir(), 'deno-dir');
  const args = [
    'run',
    '--quiet',
    '--no-prompt',
    '--no-config',
    '--no-lock',
    '--no-remote',
    '--no-npm',
    '--cached-only',
    ...(options.denoArgs ?? []),
    wrapper,
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DENO_NO_UPDATE_CHECK: '1',
    DENO_NO_PROMPT: '1',
    DENO_DIR: denoDir,
    NO_COLOR: '1',
    // wgpu silently falls back to its OpenGL ES backend (the same "llvmpipe" name, fewer features,
    // no shader-f16) when Vulkan does not work; on Linux insist on Vulkan unless told otherwise.
    ...(process.platform === 'linux' && !process.env.DENO_WEBGPU_BACKEND ? { DENO_WEBGPU_BACKEND: 'vulkan' } : {}),
    ...options.denoEnv,
  };
  const bin = denoBinary();
  const { code, signal, stdout, stderr, timedOut } = await spawnCollect(bin, args, { cwd: dir, env, timeoutMs });
  const cmd = `${bin} ${args.join(' ')}`;
  if (timedOut) {
    throw new Error(`Deno timed out after ${timeoutMs} ms: ${cmd}\nstderr:\n${tail(stderr)}\nstdout:\n${tail(stdout)}`);
  }
  if (code !== 0) {
    throw new Error(`Deno failed (exit ${code ?? signal}): ${cmd}\nstderr:\n${tail(stderr)}\nstdout:\n${tail(stdout)}`);
  }
  const lines = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const last = lines[lines.length - 1];
  if (last === undefined) throw new Error(`Deno printed nothing: ${cmd}\nstderr:\n${tail(stderr)}`);
  try {
    return JSON.parse(last) as unknown;
  } catch {
    throw new Error(`Deno's last stdout line is not JSON: ${last.slice(0, 500)}\nstderr:\n${tail(stderr)}`);
  }
}

function spawnCollect(
  bin: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${bin}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, timedOut });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Chromium
// ---------------------------------------------------------------------------------------------

export const CHROMIUM_PATH = process.env.WEBNTK_CHROMIUM ?? '/usr/bin/chromium';

/** The switches `webntk bench --runtime chromium` uses (src/node/bench-runtimes.ts): WebGPU, no network. */
export const CHROMIUM_ARGS = BENCH_CHROMIUM_ARGS;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>webntk runtime test</title></head>
<body><script type="module">
window.__webntkResult = import('./bundle.js')
  .then((m) => {
    if (typeof m.run !== 'function') throw new Error('the bundle exports no run()');
    return m.run();
  })
  .then(
    (value) => ({ ok: true, json: JSON.stringify(value ?? null) }),
    (e) => ({ ok: false, error: String((e && e.stack) || e) }),
  );
</script></body></html>
`;

function serve(bundlePath: string): Promise<Server> {
  return serveLoopback({
    '/index.html': ['text/html; charset=utf-8', () => PAGE],
    '/bundle.js': ['text/javascript; charset=utf-8', () => readFileSync(bundlePath)],
  });
}

/**
 * Runs a bundle's `run()` in headless Chromium (Debian's /usr/bin/chromium through playwright-core;
 * never a downloaded browser) from a page on 127.0.0.1, and returns its JSON result.
 */
/** Console errors and warnings, page errors, failed requests and crashes of a page, for failure reports. */
export function recordPageMessages(page: import('playwright-core').Page, messages: string[]): void {
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') messages.push(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => messages.push(`pageerror: ${err.stack ?? err.message}`));
  page.on('requestfailed', (req) => messages.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
  page.on('crash', () => messages.push('page crashed'));
}

export async function runInChromium(bundlePath: string, options: RunOptions = {}): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const bundle = resolve(bundlePath);
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: install Debian's \`chromium\` package (apt-get install chromium) or set WEBNTK_CHROMIUM.`);
  }
  const { chromium } = await import('playwright-core');
  const started = Date.now();
  const left = () => Math.max(1000, timeoutMs - (Date.now() - started));
  const messages: string[] = [];
  const server = await serve(bundle);
  let browser: Awaited<ReturnType<typeof chromium.launch>> | null = null;
  let stage = 'launching Chromium';
  try {
    const { port } = server.address() as AddressInfo;
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(options.chromiumArgs ?? [])],
      timeout: left(),
    });
    stage = 'opening a page';
    const page = await browser.newPage();
    recordPageMessages(page, messages);
    stage = 'loading the page';
    await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'load', timeout: left() });
    stage = 'waiting for run()';
    await page.waitForFunction(() => '__webntkResult' in window, undefined, { timeout: left() });
    // page.evaluate has no timeout of its own: race it (the browser is closed in `finally`).
    const outcome = await withTimeout(
      page.evaluate(
        () => (window as unknown as { __webntkResult: Promise<{ ok: boolean; json?: string; error?: string }> }).__webntkResult,
        undefined,
      ),
      left(),
      `run() in Chromium did not settle within ${timeoutMs} ms`,
    );
    if (!outcome.ok || outcome.json === undefined) {
      throw new Error(`run() rejected in Chromium: ${outcome.error ?? 'unknown error'}${messages.length ? `\n${messages.join('\n')}` : ''}`);
    }
    return JSON.parse(outcome.json) as unknown;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    if (!e.message.startsWith('run() rejected')) {
      e.message = `runInChromium failed while ${stage} (limit ${timeoutMs} ms; ${CHROMIUM_PATH}): ${e.message}`;
    }
    if (messages.length && !e.message.includes(messages[0] ?? '')) e.message += `\npage messages:\n${messages.join('\n')}`;
    throw e;
  } finally {
    await browser?.close().catch(() => undefined);
    await new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  }
}
