/** The script of a Node worker thread of the CPU backend (src/node/workers.ts starts it). */
import { parentPort } from 'node:worker_threads';
import { serveCpuWorker } from '../exec/cpu-worker.js';

const port = parentPort;
if (!port) throw new Error('cpu-worker-entry.js runs only as a worker thread');
serveCpuWorker({
  post: (m, t) => port.postMessage(m, t),
  onMessage: (h) => port.on('message', h),
});
