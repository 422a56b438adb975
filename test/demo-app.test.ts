/**
 * The browser app (demo/, issue #7) end to end: type-checks demo/, builds the static site with vite,
 * serves demo/dist on 127.0.0.1, and drives it in Debian's headless Chromium (playwright-core, the
 * WebGPU flags of test/runtimes/harness.ts; the page gets SwiftShader's WebGPU adapter). Every value
 * the page shows is compared with the float64 CPU reference (kernelCpu) computed here in Node.
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
import { kernelCpu, symmetricEigenvalues } from '../src/index.js';
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
  dataset: string;
  n: number;
  d: number;
  backend: string;
  nngp: number[] | null;
  ntk: number[] | null;
  profile: { angles: number[]; nngp: number[]; ntk: number[] };
  lambdaMax: { nngp: number; ntk: number };
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
    expect(r.arch).toBe('mlp:depth=3');
    const X = circle(64);
    const ref = kernelCpu('mlp:depth=3', X);
    expect(relErr(r.ntk!, ref.ntk!)).toBeLessThan(TOL);
    expect(relErr(r.nngp!, ref.nngp!)).toBeLessThan(TOL);
    console.log(`demo: adapter "${adapter}"; ${await page.getByTestId('timings').textContent()}`);
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

  it('an invalid JSON spec is reported with its path and does not recompute', async () => {
    const k = await computations();
    const spec = page.getByTestId('spec');
    const text = await spec.inputValue();
    await spec.fill(text.replace('"count": 7', '"count": -1'));
    await expect.poll(async () => page.getByTestId('spec-error').textContent(), { timeout: 5000 }).toMatch(/count/);
    expect(await computations()).toBe(k);
    await page.getByTestId('depth').fill('7'); // back to the preset (sliders win)
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
      const cpu = kernelCpu('mlp:depth=3', circle(64));
      expect(relErr(r.ntk!, cpu.ntk!)).toBeLessThan(1e-12);
      expect(relErr(r.nngp!, cpu.nngp!)).toBeLessThan(1e-12);
    } finally {
      await context.close();
    }
    expect(msgs.filter((m) => /pageerror|crash/.test(m)), msgs.join('\n')).toEqual([]);
  });
});
