/**
 * The browser app (demo/, issue #7) end to end: type-checks demo/, builds the static site with vite,
 * serves demo/dist on 127.0.0.1, and drives it in Debian's headless Chromium (playwright-core, the
 * WebGPU flags of test/runtimes/harness.ts; the page gets SwiftShader's WebGPU adapter). Every value
 * the page shows is compared with the float64 CPU reference (kernelCpu) computed here in Node.
 *
 * Also: `npm run demo` prints its URL and serves the page; sliders edit a custom spec in place; the
 * depth slider reaches 10⁴; κ against depth has ≥ 10 depths; one title per plot; the unit-diagonal
 * heatmap; progress per block; an upload above the stream threshold is streamed block by block to a
 * downloaded .npy (checked against kernelCpu), with progress and Cancel.
 *
 * Artifacts: test-artifacts/demo-app.png; with WEBNTK_UPDATE_SCREENSHOT=1 also docs/demo-screenshot.png (the README's).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelCpu, symmetricEigenvalues, type Spec } from '../src/index.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, recordPageMessages } from './runtimes/harness.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const DIST = join(ROOT, 'demo', 'dist');
const ARTIFACTS = join(ROOT, 'test-artifacts');

/**
 * Tolerance for page (WebGPU, float32) against float64: the GPU kernels carry ~1e−6 relative error
 * per entry at these depths (the library's own tests hold them to 1e−5 up to depth 1000); displayed
 * numbers have 7 significant digits (5e−7). 2e−5, relative to the largest entry, leaves room for both.
 */
const TOL = 2e-5;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.npy': 'application/octet-stream',
  '.svg': 'image/svg+xml',
};

function serveDir(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const file = normalize(join(dir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok(server));
  });
}

/** `tsc -p demo/tsconfig.json` (the demo is outside the main tsconfig's include). */
function typeCheckDemo(): Promise<{ code: number | null; out: string }> {
  return new Promise((ok) => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const child = spawn(process.execPath, [tsc, '-p', join(ROOT, 'demo', 'tsconfig.json'), '--noEmit'], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => ok({ code, out }));
  });
}

const circle = (n: number) => Array.from({ length: n }, (_, i) => [Math.cos((2 * Math.PI * i) / n), Math.sin((2 * Math.PI * i) / n)]);

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** max |got − want| / max |want|. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i]! - want[i]!));
  return m / maxAbs(want);
}

interface PageResult {
  computation: number;
  arch: string | null;
  spec: Spec | null;
  dataset: string;
  n: number;
  d: number;
  gramRows: number;
  large: boolean;
  backend: string;
  nngp: number[] | null;
  ntk: number[] | null;
  profile: { angles: number[]; nngp: number[]; ntk: number[] };
  lambdaMax: { nngp: number; ntk: number };
  conditioning: { depths: number[]; nngp: string[]; ntk: string[]; m: number } | null;
}

/** The demo's κ depths (demo/src/arch.ts sweepDepths), written out independently. */
function expectedSweep(L: number): number[] {
  if (L <= 20) return Array.from({ length: L }, (_, i) => i + 1);
  return [...new Set([...Array.from({ length: 20 }, (_, k) => Math.round(L ** (k / 19))), L])].sort((a, b) => a - b);
}

/** K_ij/√(K_ii K_jj). */
function unitDiagonal(G: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = G[i * n + j]! / Math.sqrt(G[i * n + i]! * G[j * n + j]!);
  return out;
}

/** A deterministic data set with rows of very different norms (row i scaled by 1 + i mod 7). */
function varied(n: number, d: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => (1 + (i % 7)) * (Math.sin(1.3 * i + 0.7 * j + 0.2) + 0.1 * j)));
}

/** Records every value written to <progress> elements (window.__progress[testid]). */
function spyOnProgress(): void {
  const w = window as unknown as { __progress: Record<string, number[]> };
  w.__progress = {};
  const d = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, 'value')!;
  Object.defineProperty(HTMLProgressElement.prototype, 'value', {
    configurable: true,
    get(this: HTMLProgressElement) {
      return d.get!.call(this) as number;
    },
    set(this: HTMLProgressElement, v: number) {
      (w.__progress[this.dataset.testid ?? this.id] ??= []).push(v);
      d.set!.call(this, v);
    },
  });
}

/** `npm run demo -- <args>`: resolves with the URL it prints; the child runs in its own process group. */
function startDemoServer(port: number): Promise<{ url: string; output: () => string; stop: () => void }> {
  return new Promise((ok, fail) => {
    const child = spawn('npm', ['run', 'demo', '--', '--port', String(port), '--strictPort'], { cwd: ROOT, detached: true, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    let out = '';
    const stop = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      stop();
      fail(new Error(`npm run demo printed no URL in 60 s:\n${out}`));
    }, 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      // eslint-disable-next-line no-control-regex
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out.replace(/\x1b\[[0-9;]*m/g, ''));
      if (m) {
        clearTimeout(timer);
        ok({ url: m[1]!, output: () => out, stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`npm run demo exited (${String(code)}) before printing a URL:\n${out}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => ok(port));
    });
  });
}

describe('demo app in headless Chromium (WebGPU on SwiftShader)', () => {
  let server: Server;
  let browser: Browser | null = null;
  let page: Page;
  let base = '';
  const messages: string[] = [];
  const offsite: string[] = [];
  let typeCheck: Promise<{ code: number | null; out: string }>;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM_PATH)) throw new Error(`No Chromium at ${CHROMIUM_PATH}: apt-get install chromium (or set WEBNTK_CHROMIUM)`);
    typeCheck = typeCheckDemo(); // in parallel with the build
    const { build } = await import('vite');
    await build({ configFile: join(ROOT, 'demo', 'vite.config.ts'), logLevel: 'warn', mode: 'production' });
    expect(existsSync(join(DIST, 'index.html'))).toBe(true);
    server = await serveDir(DIST);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    page = await context.newPage();
    recordPageMessages(page, messages);
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (!['127.0.0.1', ''].includes(u.hostname) && !['data:', 'blob:'].includes(u.protocol)) offsite.push(r.url());
    });
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await new Promise<void>((r) => {
      if (!server) return r();
      server.closeAllConnections();
      server.close(() => r());
    });
  });

  const result = async (): Promise<PageResult> => JSON.parse(await page.getByTestId('result-json').evaluate((e) => (e as HTMLOutputElement).value)) as PageResult;
  const computations = async () => Number(await page.evaluate(() => document.body.dataset.computations ?? '0'));
  const waitForComputation = async (after: number) => {
    await page.waitForFunction((k) => Number(document.body.dataset.computations ?? '0') > k && document.body.dataset.busy === undefined, after, { timeout: 30_000 });
  };
  const shown = async (id: string) => Number(await page.getByTestId(id).textContent());
  /** Waits until the page is idle with a result for this preset reference. */
  const waitForArch = async (arch: string) => {
    await expect
      .poll(async () => {
        const idle = await page.evaluate(() => document.body.dataset.busy === undefined);
        return idle ? (await result()).arch : null;
      }, { timeout: 60_000, interval: 150 })
      .toBe(arch);
  };

  it('type-checks, builds, loads offline-clean and computes on WebGPU', async () => {
    const tc = await typeCheck;
    expect(tc.out, 'tsc -p demo/tsconfig.json').toBe('');
    expect(tc.code).toBe(0);
    await page.goto(base, { waitUntil: 'load' });
    await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 30_000 }).catch((e: unknown) => {
      throw new Error(`the page never became ready: ${String(e)}\n${messages.join('\n')}`);
    });
    const adapter = (await page.getByTestId('adapter').textContent())?.trim() ?? '';
    expect(adapter.length).toBeGreaterThan(0);
    expect(adapter).not.toMatch(/none|looking|failed/i);
    expect(await page.getByTestId('no-webgpu').isHidden()).toBe(true);
    const r = await result();
    expect(r.backend).toBe('webgpu');
    expect(r.arch).toBe('mlp:depth=10');
    const X = circle(64);
    const ref = kernelCpu('mlp:depth=10', X);
    expect(relErr(r.ntk!, ref.ntk!)).toBeLessThan(TOL);
    expect(relErr(r.nngp!, ref.nngp!)).toBeLessThan(TOL);
    // κ against depth: every depth 1…10, each the depth-D network, equal to the CPU's κ where it is well resolved.
    expect(r.conditioning!.depths).toEqual(expectedSweep(10));
    for (const D of [1, 2, 5]) {
      const k = Number(r.conditioning!.nngp[r.conditioning!.depths.indexOf(D)]);
      const c = kernelCpu(`mlp:depth=${D}`, X);
      const ev = symmetricEigenvalues(c.nngp!, 64);
      const want = ev[0]! / ev[63]!;
      if (want < 1e3) expect(Math.abs(k - want) / want).toBeLessThan(1e-3);
    }
    console.log(`demo: adapter "${adapter}"; ${await page.getByTestId('timings').textContent()}`);
  });

  it('one title per plot, every control labelled, the depth slider keyboard-operable up to 10^4', async () => {
    // Each figure: one heading; the Vega-Lite plots carry no title of their own (Vega draws titles as .role-title).
    const figs = await page.locator('figure').evaluateAll((fs) =>
      fs.map((f) => ({
        headings: f.querySelectorAll('h1, h2, h3, h4').length,
        heading: f.querySelector('h3')?.textContent ?? '',
        vegaTitles: f.querySelectorAll('.role-title').length,
        text: f.querySelector('.plot')?.textContent ?? '',
      })),
    );
    expect(figs.length).toBe(4);
    for (const f of figs) {
      expect(f.headings, f.heading).toBe(1);
      expect(f.vegaTitles, f.heading).toBe(0);
      expect(f.text.includes(f.heading), f.heading).toBe(false);
    }
    // Every visible control has a label (or aria-label/labelledby); buttons have text.
    const unlabelled = await page.locator('input, select, textarea, button').evaluateAll((els) =>
      els
        .filter((e) => (e as HTMLInputElement).type !== 'hidden')
        .filter((e) => {
          const c = e as HTMLInputElement;
          const named = (c.labels?.length ?? 0) > 0 || c.getAttribute('aria-label') || c.getAttribute('aria-labelledby') || (c.tagName === 'BUTTON' && c.textContent!.trim() !== '');
          return !named;
        })
        .map((e) => e.outerHTML.slice(0, 120)),
    );
    expect(unlabelled).toEqual([]);
    // Keyboard: the slider steps through depths; End reaches 10 000.
    const slider = page.getByTestId('depth-slider');
    expect(await slider.getAttribute('type')).toBe('range');
    await slider.focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByTestId('depth-value').textContent()).toBe('11');
    expect(await slider.getAttribute('aria-valuetext')).toBe('depth 11');
    // A small set for depth 10⁴ on SwiftShader: 16 points (the change fires when the field loses focus to the slider).
    await page.getByTestId('circle-n').fill('16');
    await slider.focus();
    await page.keyboard.press('End');
    expect(await page.getByTestId('depth-value').textContent()).toBe('10000');
    expect(await page.getByTestId('depth').inputValue()).toBe('10000');
    await waitForArch('mlp:depth=10000');
    const r = await result();
    expect(r.arch).toBe('mlp:depth=10000');
    expect(r.n).toBe(16);
    const cpu = kernelCpu('mlp:depth=10000', circle(16));
    expect(relErr(r.ntk!, cpu.ntk!)).toBeLessThan(TOL);
    // κ against depth: log-spaced depths from 1 to 10⁴ (≥ 10 points), on a log axis.
    expect(r.conditioning!.depths).toEqual(expectedSweep(10000));
    expect(r.conditioning!.depths.length).toBeGreaterThanOrEqual(10);
    expect(await page.getByTestId('conditioning-caption').textContent()).toMatch(/log-spaced depths t from 1 to L = 10000 of the network.s depth sweep/);
    console.log(`demo depth 10⁴ (16 points): ${await page.getByTestId('timings').textContent()}`);
    // Back to 64 points, depth 10 (typed into the exact-depth field); one computation for both.
    await page.getByTestId('circle-n').fill('64');
    await page.getByTestId('depth').fill('10');
    await page.getByTestId('circle-n').blur();
    await waitForArch('mlp:depth=10');
    expect((await result()).n).toBe(64);
    expect((await result()).arch).toBe('mlp:depth=10');
  });

  it('changing the preset and the depth recomputes, and the displayed values match the CPU reference', async () => {
    let k = await computations();
    await page.getByTestId('preset').selectOption('huang2020');
    await waitForComputation(k);
    k = await computations();
    await page.getByTestId('depth').fill('7');
    await waitForComputation(k);
    const r = await result();
    const ref = 'huang2020:depth=7,gamma=0.5';
    expect(r.arch).toBe(ref);
    expect(await page.getByTestId('depth-value').textContent()).toBe('7');
    const X = circle(64);
    const cpu = kernelCpu(ref, X);
    // Full Grams (hidden output) and the displayed entries.
    expect(relErr(r.ntk!, cpu.ntk!)).toBeLessThan(TOL);
    expect(relErr(r.nngp!, cpu.nngp!)).toBeLessThan(TOL);
    const scaleT = maxAbs(cpu.ntk!);
    const scaleK = maxAbs(cpu.nngp!);
    expect(Math.abs((await shown('ntk-00')) - cpu.ntk![0]!) / scaleT).toBeLessThan(TOL);
    expect(Math.abs((await shown('ntk-01')) - cpu.ntk![1]!) / scaleT).toBeLessThan(TOL);
    expect(Math.abs((await shown('nngp-00')) - cpu.nngp![0]!) / scaleK).toBeLessThan(TOL);
    expect(Math.abs((await shown('nngp-01')) - cpu.nngp![1]!) / scaleK).toBeLessThan(TOL);
    // Largest eigenvalue: well conditioned (a perturbation of the Gram moves it by at most its norm).
    const lmax = symmetricEigenvalues(cpu.ntk!, 64)[0]!;
    expect(Math.abs((await shown('ntk-lmax')) - lmax) / lmax).toBeLessThan(TOL);
    // The normalised profile against the CPU profile at the same angles.
    const unit = [[1, 0]];
    const Z = r.profile.angles.map((t) => [Math.cos(t), Math.sin(t)]);
    const pc = kernelCpu(ref, unit, Z);
    const k0 = kernelCpu(ref, unit);
    const wantT = Array.from(pc.ntk!, (v) => v / k0.ntk![0]!);
    const wantK = Array.from(pc.nngp!, (v) => v / k0.nngp![0]!);
    expect(relErr(r.profile.ntk, wantT)).toBeLessThan(TOL);
    expect(relErr(r.profile.nngp, wantK)).toBeLessThan(TOL);
    // No NaN anywhere on the page.
    expect(await page.locator('body').innerText()).not.toMatch(/NaN/);
  });

  it('an invalid JSON spec is reported with its path, does not recompute, and a slider does not overwrite it', async () => {
    const k = await computations();
    const spec = page.getByTestId('spec');
    const text = await spec.inputValue();
    const bad = text.replace('"count": 7', '"count": -1');
    await spec.fill(bad);
    await expect.poll(async () => page.getByTestId('spec-error').textContent(), { timeout: 5000 }).toMatch(/count/);
    expect(await computations()).toBe(k);
    // Moving a slider keeps the (invalid) edit and says why nothing changed.
    await page.getByTestId('depth').fill('9');
    await expect.poll(async () => page.getByTestId('spec-error').textContent(), { timeout: 5000 }).toMatch(/not applied/);
    expect(await spec.inputValue()).toBe(bad);
    await page.waitForTimeout(400);
    expect(await computations()).toBe(k);
    // Choosing the preset replaces it.
    await page.getByTestId('depth').fill('7');
    await page.getByTestId('preset').selectOption('mlp');
    await waitForComputation(k);
    const k2 = await computations();
    await page.getByTestId('preset').selectOption('huang2020');
    await waitForComputation(k2);
    expect((await result()).arch).toBe('huang2020:depth=7,gamma=0.5');
    expect(await page.getByTestId('spec-error').textContent()).toBe('');
  });

  it('sliders edit a custom JSON spec in place: depth sets its loop count, α its residual layers, the rest of the edit stays', async () => {
    let k = await computations();
    const spec = page.getByTestId('spec');
    const edited = JSON.parse(await spec.inputValue()) as Spec & { layers: { type: string; count?: number; layers?: unknown[] }[]; readout: { weightVar?: number; biasVar?: number }[] };
    edited.name = 'edited';
    edited.readout[0]!.biasVar = 0.3; // the edit that must survive the sliders
    await spec.fill(JSON.stringify(edited, null, 2));
    await waitForComputation(k);
    let r = await result();
    expect(r.arch).toBeNull();
    expect(r.spec!.name).toBe('edited');
    expect(await page.getByTestId('preset').inputValue()).toBe('custom');
    const note = page.getByTestId('custom-note');
    expect(await note.isVisible()).toBe(true);
    expect(await note.textContent()).toMatch(/Custom spec active: the sliders edit it in place — depth L sets the count of its depth loop \(layers\[1\], a repeat\)/);
    // Depth: the arrow key moves the slider one stop (7 → 8); the loop count follows, the edit stays.
    k = await computations();
    await page.getByTestId('depth-slider').focus();
    await page.keyboard.press('ArrowRight');
    await waitForComputation(k);
    let now = JSON.parse(await spec.inputValue()) as typeof edited;
    expect(now.name).toBe('edited');
    expect(now.readout[0]!.biasVar).toBe(0.3);
    expect(now.layers[1]!.count).toBe(8);
    r = await result();
    expect(r.spec!.name).toBe('edited');
    const X = circle(64);
    let cpu = kernelCpu(now, X);
    expect(relErr(r.ntk!, cpu.ntk!)).toBeLessThan(TOL);
    expect(r.conditioning!.depths).toEqual(expectedSweep(8));
    // κ at entry 3 of the depth sweep: the edited spec cut to 3 blocks, α kept at its depth-8 value 8^(−γ).
    const at3 = JSON.parse(JSON.stringify(now)) as typeof edited;
    at3.layers[1]!.count = 3;
    const blk = (at3.layers[1]!.layers as Record<string, unknown>[])[0]!;
    expect([blk.type, blk.alpha0, blk.gamma]).toEqual(['residual', 1, 0.5]);
    delete blk.alpha0;
    delete blk.gamma;
    blk.alpha = 8 ** -0.5;
    const ev = symmetricEigenvalues(kernelCpu(at3, X).nngp!, 64);
    const k3 = Number(r.conditioning!.nngp[2]);
    if (ev[0]! / ev[63]! < 1e3) expect(Math.abs(k3 - ev[0]! / ev[63]!) / (ev[0]! / ev[63]!)).toBeLessThan(1e-3);
    // α: constant α = 0.3 in the residual layer (γ removed), the edit still there (the radio
    // enables the α slider at once; both changes make one computation).
    await page.locator('#mode-alpha').check();
    await page.getByTestId('alpha').fill('0.3');
    await expect
      .poll(async () => {
        const idle = await page.evaluate(() => document.body.dataset.busy === undefined);
        const sp = (await result()).spec as unknown as typeof edited | null;
        return idle ? (sp?.layers[1]?.layers as { alpha?: number }[] | undefined)?.[0]?.alpha : null;
      }, { timeout: 60_000, interval: 150 })
      .toBe(0.3);
    now = JSON.parse(await spec.inputValue()) as typeof edited;
    const res = (now.layers[1]!.layers as { type: string; alpha?: number; gamma?: number }[])[0]!;
    expect([res.type, res.alpha, res.gamma]).toEqual(['residual', 0.3, undefined]);
    expect(now.readout[0]!.biasVar).toBe(0.3);
    expect(now.layers[1]!.count).toBe(8);
    expect(await note.textContent()).toMatch(/α sets its residual layer/);
    r = await result();
    cpu = kernelCpu(now, X);
    expect(relErr(r.ntk!, cpu.ntk!)).toBeLessThan(TOL);
    // Back to the preset (the menu replaces the spec); the sliders act on the preset again.
    await page.locator('#mode-gamma').check();
    await page.getByTestId('depth').fill('7');
    await page.getByTestId('preset').selectOption('huang2020');
    await waitForArch('huang2020:depth=7,gamma=0.5');
    expect(await note.isHidden()).toBe(true);
  });

  it('the Gram of an upload advances per block, and the heatmap can be normalised to unit diagonal', async () => {
    await page.evaluate(spyOnProgress);
    const k = await computations();
    const n = 300;
    const d = 3;
    const X = varied(n, d);
    await page.getByTestId('upload').setInputFiles({ name: 'varied.npy', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeNpy(X.flat(), [n, d], 'float64')) });
    await waitForComputation(k);
    const r = await result();
    expect([r.dataset, r.n, r.gramRows, r.large, r.backend]).toEqual(['upload', n, n, false, 'webgpu']);
    // 300 rows in blocks of 128: 3 bands, 9 blocks (the upper triangle's 6, three of them also transposed).
    const seen = await page.evaluate(() => (window as unknown as { __progress: Record<string, number[]> }).__progress.progress ?? []);
    const between = [...new Set(seen.filter((v) => v > 0 && v < 1))];
    expect(between.length, `progress values: ${seen.join(', ')}`).toBeGreaterThanOrEqual(3);
    expect(seen[seen.length - 1]).toBe(1);
    // Raw heatmap: its range is the raw NTK's; normalised: diagonal 1, entries K_ij/√(K_ii K_jj).
    const cpu = kernelCpu(r.arch!, X);
    const heat = page.getByTestId('plot-heatmap');
    const range = async () => [Number(await heat.getAttribute('data-min')), Number(await heat.getAttribute('data-max'))];
    let [lo, hi] = await range();
    const rawMax = maxAbs(cpu.ntk!);
    expect(Math.abs(hi! - rawMax) / rawMax).toBeLessThan(TOL);
    expect(await heat.getAttribute('data-normalized')).toBe('false');
    await page.getByTestId('heat-normalize').check();
    await expect.poll(async () => heat.getAttribute('data-normalized')).toBe('true');
    [lo, hi] = await range();
    const u = unitDiagonal(cpu.ntk!, n);
    let uMin = Infinity;
    for (const v of u) uMin = Math.min(uMin, v);
    expect(Math.abs(hi! - 1)).toBeLessThan(1e-12);
    expect(Math.abs(lo! - uMin)).toBeLessThan(1e-4);
    expect(await page.getByTestId('heatmap-title').textContent()).toBe('NTK Gram matrix, normalised to unit diagonal');
    expect(await page.getByTestId('heatmap-caption').textContent()).toMatch(/divided by √\(K\(xᵢ, xᵢ\)K\(xⱼ, xⱼ\)\)/);
    await page.getByTestId('heat-normalize').uncheck();
    await expect.poll(async () => heat.getAttribute('data-normalized')).toBe('false');
    expect(await page.getByTestId('heatmap-title').textContent()).toBe('NTK Gram matrix');
  });

  it('uploads a .npy, computes its Gram and downloads it as .npy', async () => {
    const k = await computations();
    const n = 12;
    const d = 3;
    const X = Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => Math.sin(1.3 * i + 0.7 * j + 0.2) + 0.1 * j));
    const bytes = encodeNpy(X.flat(), [n, d], 'float64');
    await page.getByTestId('upload').setInputFiles({ name: 'small.npy', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
    await waitForComputation(k);
    const r = await result();
    expect(r.dataset).toBe('upload');
    expect([r.n, r.d]).toEqual([n, d]);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-ntk').click()]);
    expect(download.suggestedFilename()).toBe(`webntk-ntk-${n}x${n}.npy`);
    const path = await download.path();
    const got = parseNpy(readFileSync(path));
    expect(got.shape).toEqual([n, n]);
    const cpu = kernelCpu(r.arch!, X);
    expect(relErr(got.data, cpu.ntk!)).toBeLessThan(TOL);
  });

  it('the benchmark panel runs GPU and CPU and reports a small disagreement', async () => {
    await page.getByTestId('bench-n').fill('64');
    await page.getByTestId('bench-d').fill('8');
    await page.getByTestId('bench-depth').fill('5');
    await page.getByTestId('bench-run').click();
    await page.waitForFunction(() => document.body.dataset.benchRuns === '1', undefined, { timeout: 30_000 });
    const maxrel = Number(await page.getByTestId('bench-maxrel').getAttribute('data-value'));
    expect(Number.isFinite(maxrel)).toBe(true);
    expect(maxrel).toBeLessThan(TOL);
    const gpuRate = await page.getByTestId('bench-gpu-rate').textContent();
    const cpuRate = await page.getByTestId('bench-cpu-rate').textContent();
    expect(gpuRate).toMatch(/^\d/);
    expect(cpuRate).toMatch(/^\d/);
    console.log(`demo bench (n=64, d=8, depth 5): GPU ${gpuRate}/s, CPU ${cpuRate}/s, ratio ${await page.getByTestId('bench-ratio').textContent()}, max rel diff ${maxrel.toExponential(2)}`);
  });

  it('a long CPU computation shows progress and can be cancelled, keeping the previous result', async () => {
    let k = await computations();
    await page.getByTestId('depth').fill('60');
    await waitForComputation(k);
    k = await computations();
    await page.getByTestId('backend').selectOption('cpu');
    await waitForComputation(k);
    const before = await result();
    expect(before.backend).toBe('cpu');
    expect(before.n).toBe(12);
    k = await computations();
    // 400 × 400 inputs × 60 layers on the CPU take seconds: cancel after the first blocks.
    await page.getByTestId('circle-n').fill('400');
    await page.getByTestId('circle-n').blur();
    await page.waitForFunction(() => {
      const p = document.querySelector<HTMLProgressElement>('[data-testid=progress]')!;
      return document.body.dataset.busy === 'true' && p.value > 0;
    }, undefined, { timeout: 20_000 });
    const progress = Number(await page.getByTestId('progress').evaluate((e) => (e as HTMLProgressElement).value));
    expect(progress).toBeGreaterThan(0);
    expect(progress).toBeLessThan(1);
    await page.getByTestId('cancel').click();
    await expect.poll(async () => page.getByTestId('status').textContent(), { timeout: 10_000 }).toMatch(/^Cancelled/);
    expect(await computations()).toBe(k);
    expect((await result()).n).toBe(12);
    // Back to WebGPU and depth 7 (400 points on the circle: the canvas heatmap).
    await page.getByTestId('backend').selectOption('webgpu');
    await waitForComputation(k);
    k = await computations();
    await page.getByTestId('depth').fill('7');
    await waitForComputation(k);
    const r = await result();
    expect([r.backend, r.n, r.arch]).toEqual(['webgpu', 400, 'huang2020:depth=7,gamma=0.5']);
    expect(await page.getByTestId('heatmap-caption').textContent()).toMatch(/canvas/);
    expect(r.lambdaMax.ntk).toBeGreaterThan(0);
  });

  it('works offline once loaded (Fashion-MNIST slice), saves a screenshot (test-artifacts/), nothing left 127.0.0.1', async () => {
    // Offline from here on: the Fashion-MNIST slice was fetched with the page and is computed without the network.
    await page.context().setOffline(true);
    let k = await computations();
    await page.getByTestId('dataset').selectOption('fashion');
    await waitForComputation(k);
    const f = await result();
    expect([f.dataset, f.n, f.d, f.backend]).toEqual(['fashion', 100, 784, 'webgpu']);
    // The same slice here: the first 10 test images of each class, class by class, pixels / 255.
    const images = parseNpy(readFileSync(join(ROOT, 'data', 'fashion-test-images.npy')));
    const labels = parseNpy(readFileSync(join(ROOT, 'data', 'fashion-test-labels.npy')));
    const rows: number[][] = [];
    for (let c = 0; c < 10; c++) {
      let taken = 0;
      for (let i = 0; i < labels.data.length && taken < 10; i++) {
        if (labels.data[i] === c) {
          rows.push(Array.from(images.data.subarray(i * 784, (i + 1) * 784), (v) => v / 255));
          taken++;
        }
      }
    }
    const fc = kernelCpu(f.arch!, rows);
    expect(relErr(f.ntk!, fc.ntk!)).toBeLessThan(TOL);
    // The picture: 64 points on the circle (a circulant Gram).
    k = await computations();
    await page.getByTestId('circle-n').fill('64');
    await page.getByTestId('circle-n').blur();
    await waitForComputation(k);
    expect((await result()).n).toBe(64);
    mkdirSync(ARTIFACTS, { recursive: true });
    let png: Buffer;
    try {
      png = await page.screenshot({ fullPage: true, animations: 'disabled', caret: 'hide', timeout: 15_000 });
    } catch (e) {
      // Fallback: the DevTools protocol directly (no waiting for fonts).
      const cdp = await page.context().newCDPSession(page);
      const shot = (await cdp.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true })) as { data: string };
      png = Buffer.from(shot.data, 'base64');
      console.warn(`page.screenshot failed (${String(e)}); used CDP Page.captureScreenshot`);
    }
    expect(png.length).toBeGreaterThan(10_000);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    writeFileSync(join(ARTIFACTS, 'demo-app.png'), png);
    // The README's screenshot is refreshed on request only, so that a test run leaves the checkout clean.
    if (process.env.WEBNTK_UPDATE_SCREENSHOT === '1') writeFileSync(join(ROOT, 'docs', 'demo-screenshot.png'), png);
    expect(offsite, 'requests that left 127.0.0.1').toEqual([]);
    expect(messages.filter((m) => /pageerror|crash|request failed/.test(m)), messages.join('\n')).toEqual([]);
  });

  it('without WebGPU: a visible banner, and the CPU path (float64, equal to kernelCpu)', async () => {
    const context = await browser!.newContext({ viewport: { width: 1200, height: 900 } });
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    });
    const p = await context.newPage();
    const msgs: string[] = [];
    recordPageMessages(p, msgs);
    try {
      await p.goto(base, { waitUntil: 'load' });
      await p.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 30_000 });
      expect(await p.getByTestId('no-webgpu').isVisible()).toBe(true);
      expect(await p.getByTestId('adapter').textContent()).toMatch(/none/);
      expect(await p.locator('[data-testid=backend] option[value=webgpu]').isDisabled()).toBe(true);
      const r = JSON.parse(await p.getByTestId('result-json').evaluate((e) => (e as HTMLOutputElement).value)) as PageResult;
      expect(r.backend).toBe('cpu');
      const cpu = kernelCpu('mlp:depth=10', circle(64));
      expect(relErr(r.ntk!, cpu.ntk!)).toBeLessThan(1e-12);
      expect(relErr(r.nngp!, cpu.nngp!)).toBeLessThan(1e-12);
    } finally {
      await context.close();
    }
    expect(msgs.filter((m) => /pageerror|crash/.test(m)), msgs.join('\n')).toEqual([]);
  });
  it('an upload above the stream threshold: the full Gram is streamed block by block to a downloaded .npy, with progress and Cancel', async () => {
    // By default 2100 rows above a threshold lowered to 2048 (the URL's stream-threshold) keep the
    // test near 10 s on SwiftShader; WEBNTK_DEMO_STREAM_ROWS=4100 WEBNTK_DEMO_STREAM_THRESHOLD=
    // (empty: the page's default, 4096) runs the full-size case (about 25 s for the file).
    const rows = Number(process.env.WEBNTK_DEMO_STREAM_ROWS || 2100);
    const threshold = process.env.WEBNTK_DEMO_STREAM_THRESHOLD ?? '2048';
    const context = await browser!.newContext({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
    const p = await context.newPage();
    const msgs: string[] = [];
    recordPageMessages(p, msgs);
    try {
      await p.goto(threshold ? `${base}?stream-threshold=${threshold}` : base, { waitUntil: 'load' });
      await p.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 30_000 });
      // The page says which threshold it uses (4096 unless the URL lowers it).
      expect(await p.locator('.stream-threshold').first().textContent()).toBe(threshold || '4096');
      await p.evaluate(spyOnProgress);
      // A shallow network; 4 columns.
      await p.getByTestId('depth').fill('2');
      await p.waitForFunction(() => document.body.dataset.computations === '2' && document.body.dataset.busy === undefined, undefined, { timeout: 30_000 });
      const d = 4;
      const X = Array.from({ length: rows }, (_, i) => Array.from({ length: d }, (_, j) => Math.cos(0.37 * i * (j + 1) + j) * (1 + (i % 5) / 4)));
      await p.getByTestId('upload').setInputFiles({ name: 'large.npy', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeNpy(X.flat(), [rows, d], 'float64')) });
      await p.waitForFunction(() => document.body.dataset.computations === '3' && document.body.dataset.busy === undefined, undefined, { timeout: 60_000 });
      const r = JSON.parse(await p.getByTestId('result-json').evaluate((e) => (e as HTMLOutputElement).value)) as PageResult;
      expect([r.dataset, r.n, r.large, r.gramRows, r.arch]).toEqual(['upload', rows, true, 400, 'mlp:depth=2']);
      expect(await p.getByTestId('stream-panel').isVisible()).toBe(true);
      expect(await p.getByTestId('download-ntk').isDisabled()).toBe(true);
      expect(await p.getByTestId('stream-info').textContent()).toMatch(new RegExp(`full ${rows} × ${rows} Gram is computed here block by block on WebGPU, never held or plotted`));
      // Cancel: once the first blocks are in, no file.
      await p.getByTestId('stream-run').click();
      await p.waitForFunction(() => (document.querySelector<HTMLProgressElement>('[data-testid=stream-progress]')!.value > 0), undefined, { timeout: 60_000 });
      await p.getByTestId('stream-cancel').click();
      await expect.poll(async () => p.getByTestId('stream-status').textContent(), { timeout: 30_000 }).toBe('Cancelled: no file was written.');
      // Bounded memory: record the largest Float64Array the page creates while streaming.
      await p.evaluate(() => {
        const w = window as unknown as { __maxF64: number; Float64Array: Float64ArrayConstructor };
        w.__maxF64 = 0;
        w.Float64Array = new Proxy(Float64Array, {
          construct(target, args, newTarget) {
            const a = Reflect.construct(target, args, newTarget) as Float64Array;
            w.__maxF64 = Math.max(w.__maxF64, a.length);
            return a;
          },
        });
      });
      // The NNGP, in full.
      await p.getByTestId('stream-kind').selectOption('nngp');
      await p.evaluate(() => ((window as unknown as { __progress: Record<string, number[]> }).__progress['stream-progress'] = []));
      const t0 = Date.now();
      const [download] = await Promise.all([p.waitForEvent('download', { timeout: 300_000 }), p.getByTestId('stream-run').click()]);
      const ms = Date.now() - t0;
      expect(download.suggestedFilename()).toBe(`webntk-nngp-${rows}x${rows}.npy`);
      const bytes = readFileSync(await download.path());
      expect(bytes.length).toBeGreaterThan(rows * rows * 8);
      const got = parseNpy(bytes);
      expect(got.shape).toEqual([rows, rows]);
      // Progress moved block by block.
      const seen = await p.evaluate(() => (window as unknown as { __progress: Record<string, number[]> }).__progress['stream-progress'] ?? []);
      expect([...new Set(seen.filter((v) => v > 0 && v < 1))].length, seen.join(', ')).toBeGreaterThanOrEqual(4);
      const status = (await p.getByTestId('stream-status').textContent()) ?? '';
      expect(status).toMatch(/^Done: webntk-nngp-/);
      // At most one band of B rows × n (B from the status line), far below the n × n Gram.
      const bandRows = Number(/bands of (\d+) rows/.exec(status)?.[1]);
      const maxF64 = await p.evaluate(() => (window as unknown as { __maxF64: number }).__maxF64);
      expect(maxF64).toBeGreaterThan(0);
      expect(maxF64).toBeLessThanOrEqual(bandRows * rows);
      expect(maxF64).toBeLessThan((rows * rows) / 2);
      // Entries against kernelCpu on a few rows and columns (the first, band edges, the last).
      const pick = [...new Set([0, 1, 63, 64, 959, 960, 1023, 1024, Math.floor(rows / 2), rows - 2, rows - 1].filter((i) => i >= 0 && i < rows))];
      const cpu = kernelCpu('mlp:depth=2', pick.map((i) => X[i]!), X);
      let err = 0;
      let scale = 0;
      pick.forEach((i, a) => {
        for (let j = 0; j < rows; j++) {
          const want = cpu.nngp![a * rows + j]!;
          err = Math.max(err, Math.abs(got.data[i * rows + j]! - want));
          scale = Math.max(scale, Math.abs(want));
        }
      });
      expect(err / scale).toBeLessThan(TOL);
      // Symmetric, as a Gram must be (both sides were computed).
      for (const i of pick) for (const j of pick) expect(Math.abs(got.data[i * rows + j]! - got.data[j * rows + i]!) / scale).toBeLessThan(TOL);
      console.log(`demo stream: ${rows} × ${rows} NNGP (${(bytes.length / 2 ** 20).toFixed(1)} MiB) in ${ms} ms, largest Float64Array ${maxF64} values; ${status}`);
    } finally {
      await context.close();
    }
    expect(msgs.filter((m) => /pageerror|crash/.test(m)), msgs.join('\n')).toEqual([]);
  }, 400_000);

  it('npm run demo prints its URL and serves the page there', async () => {
    const server = await startDemoServer(await freePort());
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/<title>webntk kernel explorer<\/title>/);
    } finally {
      server.stop();
    }
  }, 90_000);
});
