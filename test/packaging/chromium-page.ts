/**
 * Loads a page in headless Chromium (Debian's /usr/bin/chromium through playwright-core, with the
 * launch flags of test/runtimes/harness.ts: no network but 127.0.0.1) that imports real files
 * from a folder, such as the browser build in dist-browser/, and returns the JSON its script
 * leaves in `window.__webntkResult` (a promise of `{ ok, json }` or `{ ok: false, error }`).
 *
 * Unlike `runInChromium`, which serves one bundle with a `run()` export, this serves the page
 * given and any file of `dir` by name, so the module under test is loaded exactly as shipped.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { CHROMIUM_ARGS, CHROMIUM_PATH, recordPageMessages } from '../runtimes/harness.js';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.html': 'text/html; charset=utf-8',
};

function serve(dir: string, html: string, requests: string[]): Promise<Server> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    requests.push(url);
    if (url === '/' || url === '/index.html') {
      res.writeHead(200, { 'content-type': TYPES['.html']!, 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    const file = resolve(join(root, url));
    if (file.startsWith(root + '/') && existsSync(file) && statSync(file).isFile()) {
      const ext = file.slice(file.lastIndexOf('.'));
      res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(readFileSync(file));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolvePromise(server));
  });
}

export interface PageRun {
  result: unknown;
  /** Paths the page requested from the server, in order. */
  requests: string[];
  /** Console errors/warnings, page errors and failed requests. */
  messages: string[];
}

/** Serves `html` at / and the files of `dir` by name, and waits for `window.__webntkResult`. */
export async function runPageInChromium(dir: string, html: string, timeoutMs = 60_000): Promise<PageRun> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: install Debian's \`chromium\` package or set WEBNTK_CHROMIUM.`);
  }
  const { chromium } = await import('playwright-core');
  const started = Date.now();
  const left = () => Math.max(1000, timeoutMs - (Date.now() - started));
  const requests: string[] = [];
  const messages: string[] = [];
  const server = await serve(dir, html, requests);
  let browser: Awaited<ReturnType<typeof chromium.launch>> | null = null;
  let stage = 'launching Chromium';
  try {
    const { port } = server.address() as AddressInfo;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: left() });
    stage = 'opening a page';
    const page = await browser.newPage();
    recordPageMessages(page, messages);
    stage = 'loading the page';
    await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'load', timeout: left() });
    stage = 'waiting for the result';
    await page.waitForFunction(() => '__webntkResult' in window, undefined, { timeout: left() });
    const outcome = await Promise.race([
      page.evaluate(() => (window as unknown as { __webntkResult: Promise<{ ok: boolean; json?: string; error?: string }> }).__webntkResult),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the page did not settle within ${timeoutMs} ms`)), left()).unref()),
    ]);
    if (!outcome.ok || outcome.json === undefined) throw new Error(`the page's script failed: ${outcome.error ?? 'unknown error'}`);
    return { result: JSON.parse(outcome.json) as unknown, requests, messages };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    e.message = `runPageInChromium failed while ${stage} (limit ${timeoutMs} ms; ${CHROMIUM_PATH}): ${e.message}`;
    if (messages.length) e.message += `\npage messages:\n${messages.join('\n')}`;
    throw e;
  } finally {
    await browser?.close().catch(() => undefined);
    await new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  }
}
