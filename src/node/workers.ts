/**
 * Worker threads for the CPU backend in Node (worker_threads): registered by useNodeWorkers(),
 * which the CLI calls; library users call it once (otherwise the CPU backend runs on one thread
 * and its results say so).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { WorkerSpawner } from '../exec/pool.js';
import { setWorkerSpawner } from '../exec/spawner.js';

// Run from the TypeScript sources (the tests), the entry is .ts: the worker first registers tsx's
// loader (a worker does not take --import from execArgv), then imports it.
const fromSource = import.meta.url.endsWith('.ts');
const ENTRY = new URL(fromSource ? './cpu-worker-entry.ts' : './cpu-worker-entry.js', import.meta.url);
const SOURCE_TRAMPOLINE = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(ENTRY.href)}); });`;

export function nodeWorkerSpawner(): WorkerSpawner {
  return {
    kind: 'worker_threads',
    cores: () => availableParallelism(),
    callerComputes: true,
    spawn(onMessage, onError) {
      const w = fromSource ? new Worker(SOURCE_TRAMPOLINE, { eval: true }) : new Worker(ENTRY);
      let terminated = false;
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', (code) => {
        if (!terminated) onError(new Error(`it exited with code ${code}`));
      });
      return {
        post: (m, t) => w.postMessage(m, t),
        terminate: () => {
          terminated = true;
          void w.terminate();
        },
      };
    },
  };
}

/** Lets kernel() and kernelBlocks() run the float64 CPU backend on worker threads. */
export function useNodeWorkers(): void {
  setWorkerSpawner(nodeWorkerSpawner());
}
