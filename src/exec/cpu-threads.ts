/**
 * The float64 CPU executor on several threads: the same blocks as the one-thread executor
 * (exec/blocks.ts rowBlocks: X × X by the blocks of its upper triangle, each off-diagonal one also
 * transposed; X1 × X2 by plain blocks), each cut into stripes of rows that a pool of workers
 * computes (exec/cpu-worker.ts). The decomposition is fixed and every entry is computed by the
 * same code (cpu/gram.ts pairRows) in the same order, so the result is identical to the last bit
 * whatever the thread count, and identical to the one-thread executor's.
 *
 * Host memory: the block being consumed plus at most AHEAD blocks in flight, so that the workers
 * compute the next block while the caller writes this one.
 */
import { checkResultSize, mirrorUpper, resultShape } from '../cpu/gram.js';
import type { Matrix2D } from '../matrix.js';
import type { KernelProgram } from '../program/program.js';
import { checkRequest, transposeBlock, type GramBlock, type GramRequest, type GramResult } from '../result.js';
import { CPU_BLOCK_ROWS, programDepths } from './blocks.js';
import { cpuExecutor } from './cpu.js';
import { localCpuWorker, type CpuWorkerInit } from './cpu-worker.js';
import { throwIfAborted, type ExecOptions, type Executor } from './executor.js';
import { WorkerPool, type WorkerSpawner } from './pool.js';
import { InputError } from '../errors.js';

/** Rows per task: small enough to balance the last block over the threads, large enough that a message is cheap. */
const STRIPE_ROWS = 32;
/** Blocks computed ahead of the one the caller consumes. */
const AHEAD = 2;

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('cancelled', 'AbortError');
}

interface Rect {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/** One rectangle of the result from stripes computed by the pool, laid out [taps, rows, cols]. */
async function rectangle(pool: WorkerPool, rect: Rect, taps: number, req: GramRequest, onStripe?: () => void): Promise<Pick<GramBlock, 'nngp' | 'ntk'>> {
  const rows = rect.r1 - rect.r0;
  const cols = rect.c1 - rect.c0;
  const out: Pick<GramBlock, 'nngp' | 'ntk'> = {};
  for (const k of req.get) out[k] = new Float64Array(taps * rows * cols);
  const stripes: Promise<void>[] = [];
  for (let s0 = rect.r0; s0 < rect.r1; s0 += STRIPE_ROWS) {
    const s1 = Math.min(rect.r1, s0 + STRIPE_ROWS);
    stripes.push(
      pool.run({ r0: s0, r1: s1, c0: rect.c0, c1: rect.c1 }).then((reply) => {
        const n = (s1 - s0) * cols;
        for (const k of req.get) {
          const part = reply[k] as Float64Array;
          for (let t = 0; t < taps; t++) out[k]!.set(part.subarray(t * n, (t + 1) * n), t * rows * cols + (s0 - rect.r0) * cols);
        }
        onStripe?.();
      }),
    );
  }
  await Promise.all(stripes);
  return out;
}

/** The multi-threaded executor of an FC program (X1 × X2 and X × X; the O(N) diagonal stays on this thread). */
export function threadedCpuExecutor(p: KernelProgram, spawner: WorkerSpawner, threads: number): Executor<Matrix2D> {
  if (!Number.isInteger(threads) || threads < 1) throw new InputError(`threads must be a positive integer, got ${threads}`);
  const single = cpuExecutor(p);
  const poolFor = (x1: Matrix2D, x2: Matrix2D | null, req: GramRequest, signal: AbortSignal | undefined) => {
    const init: CpuWorkerInit = { kind: 'init', program: p, x1, x2, req };
    const pool = spawner.callerComputes ? new WorkerPool(spawner, threads - 1, init, localCpuWorker) : new WorkerPool(spawner, threads, init);
    const abort = () => pool.close(abortReason(signal!));
    signal?.addEventListener('abort', abort, { once: true });
    return {
      pool,
      close: () => {
        signal?.removeEventListener('abort', abort);
        pool.close();
      },
    };
  };

  return {
    backend: 'cpu',
    depths: (req) => programDepths(p, req),
    check: checkRequest,

    async gram(x1, x2, req, options: ExecOptions = {}): Promise<GramResult> {
      checkRequest(x1, x2, req);
      throwIfAborted(options.signal);
      if (req.diagonal) return single.gram(x1, x2, req, options);
      checkResultSize(p, x1, x2, req);
      const taps = programDepths(p, req).length;
      const n1 = x1.rows;
      const n2 = (x2 ?? x1).rows;
      const { pool, close } = poolFor(x1, x2, req, options.signal);
      try {
        const stripes = Math.ceil(n1 / STRIPE_ROWS);
        let done = 0;
        const r = await rectangle(pool, { r0: 0, r1: n1, c0: 0, c1: n2 }, taps, req, () => {
          done++;
          options.onProgress?.({ blocksDone: done, blocks: stripes });
        });
        throwIfAborted(options.signal);
        if (!x2) for (const k of req.get) mirrorUpper(r[k]!, taps, n1);
        return { ...r, ...resultShape(p, n1, n2, req, !x2) };
      } finally {
        close();
      }
    },

    async *blocks(x1, x2, req, options: ExecOptions = {}): AsyncGenerator<GramBlock> {
      checkRequest(x1, x2, req);
      if (req.diagonal) {
        yield* single.blocks(x1, x2, req, options);
        return;
      }
      throwIfAborted(options.signal);
      const B = options.blockRows ?? CPU_BLOCK_ROWS;
      if (!Number.isInteger(B) || B < 1) throw new InputError(`blockRows must be a positive integer, got ${B}`);
      const taps = programDepths(p, req).length;
      const symmetric = !x2;
      const n1 = x1.rows;
      const n2 = (x2 ?? x1).rows;
      const nb1 = Math.ceil(n1 / B);
      const nb2 = Math.ceil(n2 / B);
      // The one-thread executor's blocks, in its order.
      const jobs: Rect[] = [];
      for (let i = 0; i < nb1; i++) {
        for (let j = symmetric ? i : 0; j < nb2; j++) jobs.push({ r0: i * B, r1: Math.min(n1, (i + 1) * B), c0: j * B, c1: Math.min(n2, (j + 1) * B) });
      }
      const { pool, close } = poolFor(x1, x2, req, options.signal);
      const started: Promise<Pick<GramBlock, 'nngp' | 'ntk'>>[] = [];
      const start = (k: number) => {
        const p = rectangle(pool, jobs[k]!, taps, req);
        p.catch(() => undefined); // awaited below in order; a block never awaited (cancelled) must not be an unhandled rejection
        started[k] = p;
      };
      try {
        for (let k = 0; k < Math.min(AHEAD + 1, jobs.length); k++) start(k);
        for (let k = 0; k < jobs.length; k++) {
          const job = jobs[k]!;
          const values = await started[k]!;
          throwIfAborted(options.signal);
          if (k + AHEAD + 1 < jobs.length) start(k + AHEAD + 1);
          const rows = job.r1 - job.r0;
          const cols = job.c1 - job.c0;
          const diagonalBlock = symmetric && job.r0 === job.c0;
          if (diagonalBlock) for (const kind of req.get) mirrorUpper(values[kind]!, taps, rows);
          const block: GramBlock = { row0: job.r0, col0: job.c0, rows, cols, ...values };
          yield block;
          if (symmetric && !diagonalBlock) yield transposeBlock(block, taps);
          options.onProgress?.({ blocksDone: k + 1, blocks: jobs.length });
        }
      } finally {
        close();
      }
    },
  };
}
