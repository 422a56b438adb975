/**
 * The worker side of the threaded float64 CPU executor (exec/cpu-threads.ts), runtime-neutral:
 * a runtime's worker entry calls `serveCpuWorker` with its message port. The first message holds
 * the program, the inputs and the request; each later one a rectangle of the result to compute,
 * which goes back as transferred Float64Arrays. Every entry is computed by pairRows, the code the
 * single-threaded path runs, so the result does not depend on the thread that computed it.
 */
import { pairRows, type PairRows } from '../cpu/gram.js';
import type { Matrix2D } from '../matrix.js';
import type { KernelProgram } from '../program/program.js';
import type { GramRequest } from '../result.js';
import type { WorkerHandle } from './pool.js';

export interface CpuWorkerInit {
  kind: 'init';
  program: KernelProgram;
  x1: Matrix2D;
  x2: Matrix2D | null;
  req: GramRequest;
}

/** Rows [r0, r1) × columns [c0, c1) of the result. */
export interface CpuWorkerTask {
  kind: 'task';
  id: number;
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/** The message port of a worker, as its runtime exposes it. */
export interface WorkerPort {
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(handler: (message: unknown) => void): void;
}

export function serveCpuWorker(port: WorkerPort): void {
  let rows: PairRows | null = null;
  let req: GramRequest | null = null;
  port.onMessage((raw) => {
    const m = raw as CpuWorkerInit | CpuWorkerTask;
    if (m.kind === 'init') {
      req = m.req;
      rows = pairRows(m.program, m.x1, m.x2, m.req);
      return;
    }
    try {
      if (!rows || !req) throw new Error('task before init');
      const size = rows.taps * (m.r1 - m.r0) * (m.c1 - m.c0);
      const nngp = req.get.includes('nngp') ? new Float64Array(size) : undefined;
      const ntk = req.get.includes('ntk') ? new Float64Array(size) : undefined;
      rows.rows(m.r0, m.r1, m.c0, m.c1, nngp, ntk);
      const transfer: ArrayBuffer[] = [];
      for (const a of [nngp, ntk]) if (a) transfer.push(a.buffer);
      port.post({ kind: 'done', id: m.id, nngp, ntk }, transfer);
    } catch (e) {
      const err = e as Error;
      port.post({ kind: 'error', id: m.id, name: err?.name ?? 'Error', message: err?.message ?? String(e) });
    }
  });
}

/**
 * A worker on the calling thread: the same messages, each handled in its own macrotask (a stripe
 * at a time, so replies and cancellation get through between stripes). Terminating it drops what
 * has not started.
 */
export function localCpuWorker(onMessage: (message: unknown) => void): WorkerHandle {
  let handler: ((message: unknown) => void) | null = null;
  let alive = true;
  serveCpuWorker({
    post: (m) => {
      if (alive) onMessage(m);
    },
    onMessage: (h) => {
      handler = h;
    },
  });
  return {
    post: (m) => {
      setTimeout(() => {
        if (alive) handler!(m);
      }, 0);
    },
    terminate: () => {
      alive = false;
    },
  };
}
