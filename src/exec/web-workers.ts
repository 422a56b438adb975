/**
 * Worker threads where the runtime has Web Workers (browsers, Deno): each worker loads this very
 * module (its own URL; in the one-file browser build, the whole bundle) under a reserved name, and
 * the module, seeing that name, serves the CPU executor's tasks. Nothing else changes for a page or
 * a user's own worker that loads webntk: only a worker named WORKER_NAME serves.
 */
import { serveCpuWorker } from './cpu-worker.js';
import type { WorkerSpawner } from './pool.js';

const WORKER_NAME = 'webntk-cpu-worker';

interface WebWorker {
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message?: string; preventDefault?: () => void }) => void) | null;
  postMessage(message: unknown, transfer?: unknown[]): void;
  terminate(): void;
}

interface WebGlobals {
  Worker?: new (url: string | URL, options: { type: 'module'; name: string }) => WebWorker;
  navigator?: { hardwareConcurrency?: number };
  name?: unknown;
  postMessage?: (message: unknown, transfer?: unknown[]) => void;
  onmessage?: ((e: { data: unknown }) => void) | null;
  WorkerGlobalScope?: unknown;
  Deno?: { permissions?: { querySync?(d: { name: 'read'; path: URL }): { state: string } } };
}

const g = globalThis as unknown as WebGlobals;

/** Web Workers running this module, or null where the runtime has none (Node has no global Worker). */
export function webWorkerSpawner(): WorkerSpawner | null {
  const W = g.Worker;
  if (typeof W !== 'function') return null;
  const url = import.meta.url;
  return {
    kind: 'Web Workers',
    cores: () => Math.max(1, Math.floor(Number(g.navigator?.hardwareConcurrency)) || 1),
    notByDefault() {
      // A worker loads this module's URL. That is webntk alone for the browser build (webntk.js) and
      // for the unbundled modules; an application's bundler may instead have merged webntk into its
      // own code, which would then run in every worker: only where the caller asks (threads set).
      const path = url.split(/[?#]/)[0]!;
      if (/\/webntk\.js$|\/exec\/web-workers\.[jt]s$/.test(path)) return null;
      return `webntk runs from ${path}, a bundle it may share with other code that a worker would also run, so Web Workers are used only when threads is set`;
    },
    unavailable() {
      // Deno loads a worker's module from the file system only with read access to it.
      const query = g.Deno?.permissions?.querySync;
      if (!query || !url.startsWith('file:')) return null;
      const state = query.call(g.Deno!.permissions, { name: 'read', path: new URL(url) }).state;
      return state === 'granted' ? null : `Deno has no read access to ${url}, which each worker loads (--allow-read grants it)`;
    },
    spawn(onMessage, onError) {
      const w = new W(url, { type: 'module', name: WORKER_NAME });
      w.onmessage = (e) => onMessage(e.data);
      w.onerror = (e) => {
        e.preventDefault?.();
        onError(new Error(e.message ?? 'the worker could not start'));
      };
      return { post: (m, t) => w.postMessage(m, t ?? []), terminate: () => w.terminate() };
    },
  };
}

// Inside a worker this module started: serve.
if (g.WorkerGlobalScope !== undefined && g.name === WORKER_NAME && typeof g.postMessage === 'function') {
  const post = g.postMessage.bind(globalThis);
  serveCpuWorker({
    post: (m, t) => post(m, t ?? []),
    onMessage: (h) => {
      g.onmessage = (e) => h(e.data);
    },
  });
}
