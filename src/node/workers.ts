/**
 * Worker threads for the CPU backend in Node (worker_threads): registered by useNodeWorkers(),
 * which the CLI calls; library users call it once (otherwise the CPU backend runs on one thread
 * and its results say so).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { WorkerSpawner } from '../exec/pool.js';
import { setWorkerSpawner } from '../exec/spawner.js';

// Run from the TypeScript sources (the tests), the entry is .ts and needs tsx's loader in the worker.
const fromSource = import.meta.url.endsWith('.ts');
const ENTRY = new URL(fromSource ? './cpu-worker-entry.ts' : './cpu-worker-entry.js', import.meta.url);

export function nodeWorkerSpawner(): WorkerSpawner {
  return {
    kind: 'worker_threads',
    cores: () => availableParallelism(),
    spawn(onMessage, onError) {
      const w = new Worker(ENTRY, fromSource ? { execArgv: ['--import', 'tsx'] } : {});
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
