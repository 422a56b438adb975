/**
 * `webntk bench --runtime deno|chromium`: runs the benchmark cases (src/bench.ts) in Deno (its
 * `navigator.gpu`: wgpu) or headless Chromium (Dawn; driven by playwright-core, an optional peer
 * dependency) and returns their results as JSON. What runs there is the shipped browser build,
 * dist-browser/webntk.js (it exports `benchGrams`), and a few lines of runner: nothing needs vite or
 * the network at run time. In a checkout the browser build is (re)built first when it is missing
 * or older than src/.
 *
 * Nothing here reaches the network: Deno runs with no permissions, `--no-remote --no-npm
 * --cached-only`; Chromium loads one page from 127.0.0.1 and resolves no other host.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchCase, BenchRuntimeResult } from '../bench.js';
import type { CliIO } from './cli-io.js';

/** A runtime, its adapter, the browser build or a browser driver is missing, or the runtime failed (exit code 3). */
export class RuntimeUnavailable extends Error {}

export const BENCH_RUNTIMES = ['node', 'deno', 'chromium'] as const;
export type BenchRuntime = (typeof BENCH_RUNTIMES)[number];

/** The installed package's (or the checkout's) root: dist/node/ and src/node/ are two levels down. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUNDLE = join(PACKAGE_ROOT, 'dist-browser', 'webntk.js');
/** The export the runners call; a bundle without it predates `bench --runtime`. */
const ENTRY = 'benchGrams';

// ---------------------------------------------------------------------------------------------
// The browser build
// ---------------------------------------------------------------------------------------------

function newestMtime(dir: string, test: (name: string) => boolean): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p, test));
    else if (e.isFile() && test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** A checkout (not an installed package): the sources and the browser build's config are here. */
function isCheckout(): boolean {
  return existsSync(join(PACKAGE_ROOT, 'vite.lib.config.ts')) && existsSync(join(PACKAGE_ROOT, 'src', 'index.ts'));
}

/** The bundle's text and time, or null when it is missing (or vanishes under a concurrent rebuild). */
function readBundle(): { text: string; mtimeMs: number } | null {
  try {
    const mtimeMs = statSync(BUNDLE).mtimeMs;
    return { text: readFileSync(BUNDLE, 'utf8'), mtimeMs };
  } catch {
    return null;
  }
}

/** Why the checkout's browser build must be (re)built, or null when it is current. */
function staleReason(): string | null {
  const bundle = readBundle();
  if (!bundle) return 'is missing';
  if (!bundle.text.includes(ENTRY)) return `has no ${ENTRY}`;
  const built = bundle.mtimeMs;
  const sources = Math.max(
    newestMtime(join(PACKAGE_ROOT, 'src'), (n) => n.endsWith('.ts')),
    newestMtime(join(PACKAGE_ROOT, 'shaders'), (n) => n.endsWith('.wgsl')),
    statSync(join(PACKAGE_ROOT, 'vite.lib.config.ts')).mtimeMs,
  );
  return sources > built ? 'is older than src/' : null;
}

/** `npm run build:browser`, written to a temporary folder and moved into dist-browser/ when complete. */
async function buildBrowserBundle(): Promise<void> {
  const embed = await spawnCollect(process.execPath, [join(PACKAGE_ROOT, 'scripts', 'embed-shaders.mjs')], { cwd: PACKAGE_ROOT });
  if (embed.code !== 0) throw new Error(`scripts/embed-shaders.mjs failed: ${embed.stderr.trim()}`);
  const tmp = mkdtempSync(join(PACKAGE_ROOT, 'dist-browser.tmp-'));
  try {
    const { build } = await import('vite');
    await build({ configFile: join(PACKAGE_ROOT, 'vite.lib.config.ts'), build: { outDir: tmp, emptyOutDir: true } });
    mkdirSync(dirname(BUNDLE), { recursive: true });
    if (existsSync(join(tmp, 'webntk.js.map'))) renameSync(join(tmp, 'webntk.js.map'), `${BUNDLE}.map`);
    renameSync(join(tmp, 'webntk.js'), BUNDLE);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The text of dist-browser/webntk.js, read once (a concurrent rebuild cannot change it mid-run).
 * In a checkout it is built first when missing or stale (a note on stderr).
 */
export async function browserBundle(io: CliIO): Promise<string> {
  const name = relative(process.cwd(), BUNDLE) || BUNDLE;
  if (isCheckout()) {
    const why = staleReason();
    if (why) {
      io.err(`webntk bench: ${name} ${why}; building it (npm run build:browser) …\n`);
      try {
        await buildBrowserBundle();
      } catch (e) {
        throw new RuntimeUnavailable(`could not build ${name} (${(e as Error).message.split('\n')[0]}): run npm run build:browser first`);
      }
    }
  }
  const text = readBundle()?.text ?? null;
  if (text === null || !text.includes(ENTRY)) {
    throw new RuntimeUnavailable(
      `${name} ${text === null ? 'is missing' : `has no ${ENTRY} (an older build)`}: ` +
        (isCheckout() ? 'run npm run build:browser first' : 'reinstall webntk'),
    );
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Finding the runtimes
// ---------------------------------------------------------------------------------------------

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of process.platform === 'win32' ? ['.exe', '.cmd', ''] : ['']) {
      const p = join(dir, name + ext);
      if (isExecutable(p)) return p;
    }
  }
  return null;
}

/** Deno: $DENO, else `deno` on PATH, else the binary of the `deno` npm package when installed. */
export function findDeno(): string {
  const env = process.env.DENO;
  if (env) {
    if (!isExecutable(env)) throw new RuntimeUnavailable(`deno not found: DENO=${env} is not an executable file`);
    return env;
  }
  const found = onPath('deno');
  if (found) return found;
  const require = createRequire(import.meta.url);
  const exe = process.platform === 'win32' ? 'deno.exe' : 'deno';
  const packages = ['deno', `@deno/${process.platform}-${process.arch}${process.platform === 'linux' ? '-glibc' : ''}`];
  for (const pkg of packages) {
    try {
      const p = join(dirname(require.resolve(`${pkg}/package.json`)), exe);
      if (isExecutable(p)) return p;
    } catch {
      // not installed
    }
  }
  throw new RuntimeUnavailable('deno not found: install Deno (https://deno.com, or npm install deno) or set DENO=/path/to/deno');
}

/** Chromium: $CHROMIUM (or $WEBNTK_CHROMIUM, the tests' variable), else /usr/bin/chromium, else chromium, chromium-browser or google-chrome on PATH. */
export function findChromium(): string {
  const env = process.env.CHROMIUM ?? process.env.WEBNTK_CHROMIUM;
  if (env) {
    if (!isExecutable(env)) throw new RuntimeUnavailable(`chromium not found: CHROMIUM=${env} is not an executable file`);
    return env;
  }
  if (isExecutable('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    const p = onPath(name);
    if (p) return p;
  }
  throw new RuntimeUnavailable(
    'chromium not found: install Chromium (Debian: apt-get install chromium; chromium-headless-shell has no WebGPU) or set CHROMIUM=/path/to/chromium',
  );
}

type Playwright = typeof import('playwright-core');

/** playwright-core, an optional peer dependency (only `--runtime chromium` needs it). */
async function loadPlaywright(): Promise<Playwright> {
  try {
    return await import('playwright-core');
  } catch {
    throw new RuntimeUnavailable('playwright-core not found: npm install playwright-core (needed only for bench --runtime chromium; no browser download)');
  }
}

/** The checks that need no run: the runtime binaries and drivers exist. Throws RuntimeUnavailable. */
export async function checkRuntimes(runtimes: readonly BenchRuntime[]): Promise<void> {
  if (runtimes.includes('deno')) findDeno();
  if (runtimes.includes('chromium')) {
    findChromium();
    await loadPlaywright();
  }
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

export interface RuntimeBenchOptions {
  cpu: boolean;
}

function spawnCollect(
  bin: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new RuntimeUnavailable(`could not start ${bin}: ${err.message}`)));
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/** The runner's result, checked: an adapter, and one row per case. */
function checked(name: string, raw: unknown, cases: readonly BenchCase[]): BenchRuntimeResult {
  const r = raw as BenchRuntimeResult | null;
  if (!r || typeof r !== 'object' || !Array.isArray(r.rows)) throw new RuntimeUnavailable(`${name} returned no benchmark result`);
  if (r.adapter === null) throw new RuntimeUnavailable(`${r.runtime || name} found no WebGPU adapter: ${ADAPTER_HINT[name] ?? ''}`);
  if (r.rows.length !== cases.length) throw new RuntimeUnavailable(`${name} returned ${r.rows.length} rows for ${cases.length} cases`);
  return r;
}

const ADAPTER_HINT: Record<string, string> = {
  node: 'install a Vulkan driver (Debian 12: sudo bash scripts/setup-debian-webgpu.sh) and the optional `webgpu` package',
  deno: 'Deno needs a Vulkan loader and driver (Debian 12: libvulkan1, mesa-vulkan-drivers from bookworm-backports)',
  chromium: 'Chromium needs --enable-unsafe-webgpu (given) and a Vulkan driver (Debian\'s chromium ships SwiftShader); chromium-headless-shell has no WebGPU',
};

export function adapterHint(runtime: BenchRuntime): string {
  return ADAPTER_HINT[runtime]!;
}

/** Runs the cases in Deno with no permissions, no network and a private DENO_DIR. */
export async function benchInDeno(bundle: string, cases: readonly BenchCase[], opts: RuntimeBenchOptions): Promise<BenchRuntimeResult> {
  const bin = findDeno();
  const dir = mkdtempSync(join(tmpdir(), 'webntk-bench-deno-'));
  try {
    writeFileSync(join(dir, 'webntk.js'), bundle);
    const runner = join(dir, 'runner.mjs');
    writeFileSync(
      runner,
      [
        `import { ${ENTRY}, releaseGpu } from ${JSON.stringify(pathToFileURL(join(dir, 'webntk.js')).href)};`,
        `const result = await ${ENTRY}(${JSON.stringify(cases)}, { cpu: ${opts.cpu}, requireAdapter: true, fallbackRuntime: 'deno' });`,
        'result.runtime = `deno ${Deno.version.deno}`;',
        'await releaseGpu();',
        'console.log(JSON.stringify(result));',
        // A live GPUDevice must not keep the process around.
        'Deno.exit(0);',
        '',
      ].join('\n'),
    );
    const args = ['run', '--quiet', '--no-prompt', '--no-config', '--no-lock', '--no-remote', '--no-npm', '--cached-only', runner];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DENO_NO_UPDATE_CHECK: '1',
      DENO_NO_PROMPT: '1',
      DENO_DIR: join(dir, 'deno-dir'),
      NO_COLOR: '1',
      // wgpu silently falls back to OpenGL ES (fewer features) when Vulkan does not work; on Linux
      // insist on Vulkan unless told otherwise.
      ...(process.platform === 'linux' && !process.env.DENO_WEBGPU_BACKEND ? { DENO_WEBGPU_BACKEND: 'vulkan' } : {}),
    };
    const r = await spawnCollect(bin, args, { cwd: dir, env });
    if (r.code !== 0) {
      throw new RuntimeUnavailable(`deno failed (exit ${r.code ?? r.signal}; ${bin}): ${lastLine(r.stderr) || lastLine(r.stdout) || 'no output'}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(lastLine(r.stdout));
    } catch {
      throw new RuntimeUnavailable(`deno printed no JSON result (${bin}): ${lastLine(r.stderr) || lastLine(r.stdout)}`);
    }
    return checked('deno', raw, cases);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Chromium's switches (also the tests', test/runtimes/harness.ts): WebGPU on, headless, and no
 * network. Chromium starts requests of its own whatever the flags say, so no host name but
 * 127.0.0.1 resolves and anything else (a literal IP) goes to a dead proxy on loopback; loopback is
 * never proxied. `--no-sandbox`: the page is ours, from loopback, and the sandbox cannot start as
 * root or in most containers.
 */
export const BENCH_CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--headless=new',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  '--proxy-server=http://127.0.0.1:9',
];

function page(cases: readonly BenchCase[], opts: RuntimeBenchOptions): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>webntk bench</title></head>
<body><script type="module">
window.__webntkResult = import('./webntk.js')
  .then(async (m) => {
    const result = await m.${ENTRY}(${JSON.stringify(cases)}, { cpu: ${opts.cpu}, requireAdapter: true, fallbackRuntime: 'chromium' });
    await m.releaseGpu();
    return result;
  })
  .then(
    (value) => ({ ok: true, json: JSON.stringify(value) }),
    (e) => ({ ok: false, error: String((e && e.stack) || e) }),
  );
</script></body></html>
`;
}

/**
 * A static server on 127.0.0.1 (a free port) for a page and its files: `/` is `/index.html`, each
 * path maps to [content type, body], anything else is 404. Also the runtime tests' server.
 */
export function serveLoopback(files: Readonly<Record<string, readonly [string, () => string | Uint8Array]>>): Promise<Server> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0]!;
    const file = files[url === '/' ? '/index.html' : url];
    if (file) {
      res.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' });
      res.end(file[1]());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolvePromise(server));
  });
}

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';

/** Runs the cases in headless Chromium from a page on 127.0.0.1. */
export async function benchInChromium(bundle: string, cases: readonly BenchCase[], opts: RuntimeBenchOptions): Promise<BenchRuntimeResult> {
  const executablePath = findChromium();
  const { chromium } = await loadPlaywright();
  const html = page(cases, opts);
  const server = await serveLoopback({ '/index.html': [HTML, () => html], '/webntk.js': [JS, () => bundle] });
  const messages: string[] = [];
  let browser: Awaited<ReturnType<Playwright['chromium']['launch']>> | null = null;
  let stage = 'launching it';
  try {
    const { port } = server.address() as AddressInfo;
    browser = await chromium.launch({ executablePath, headless: true, args: BENCH_CHROMIUM_ARGS, timeout: 60_000 });
    const version = browser.version();
    stage = 'loading the page';
    const p = await browser.newPage();
    p.on('pageerror', (err) => messages.push(err.message));
    p.on('crash', () => messages.push('the page crashed'));
    await p.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'load', timeout: 60_000 });
    stage = 'running the cases';
    // A benchmark takes as long as it takes: no time limit.
    await p.waitForFunction(() => '__webntkResult' in window, undefined, { timeout: 0 });
    const outcome = await p.evaluate(
      () => (window as unknown as { __webntkResult: Promise<{ ok: boolean; json?: string; error?: string }> }).__webntkResult,
    );
    if (!outcome.ok || outcome.json === undefined) throw new Error(outcome.error ?? 'unknown error');
    const raw = JSON.parse(outcome.json) as BenchRuntimeResult | null;
    if (raw && typeof raw === 'object') raw.runtime = `chromium ${version}`;
    return checked('chromium', raw, cases);
  } catch (err) {
    if (err instanceof RuntimeUnavailable) throw err;
    const first = ((err as Error).message ?? String(err)).split('\n')[0];
    throw new RuntimeUnavailable(`chromium failed while ${stage} (${executablePath}): ${first}${messages.length ? `; ${messages[0]}` : ''}`);
  } finally {
    await browser?.close().catch(() => undefined);
    await new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  }
}
