/**
 * Which worker threads the CPU executor may use: the spawner a runtime registered (Node:
 * useNodeWorkers() from webntk/node), else Web Workers where the runtime has them (browsers, Deno),
 * else none (then the CPU backend runs on one thread and its results say why).
 */
import type { WorkerSpawner } from './pool.js';
import { webWorkerSpawner } from './web-workers.js';

let registered: WorkerSpawner | null = null;

/** Registers (or, with null, forgets) the runtime's way to start workers. */
export function setWorkerSpawner(spawner: WorkerSpawner | null): void {
  registered = spawner;
}

export function workerSpawner(): WorkerSpawner | null {
  return registered ?? webWorkerSpawner();
}
