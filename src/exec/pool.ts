/**
 * A pool of worker threads, runtime-neutral: the runtime supplies a spawner (Node: worker_threads,
 * src/node/workers.ts; browsers and Deno: Web Workers, exec/web-workers.ts). The pool sends every
 * worker the same first message (the shared inputs), then hands out tasks first come, first served
 * and resolves each with its worker's reply. Closing it (or a failure) terminates every worker, so
 * nothing keeps the process alive.
 */
import { InputError } from '../errors.js';

/** One spawned worker, as the pool sees it. */
export interface WorkerHandle {
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  terminate(): void;
}

/** How a runtime starts workers that run `serveCpuWorker` (exec/cpu-worker.ts). */
export interface WorkerSpawner {
  /** What the workers are, in words ("worker_threads", "Web Workers"). */
  readonly kind: string;
  /** Logical cores: the default thread count. */
  cores(): number;
  /** Why workers cannot start here after all (a permission, say), in words; null when they can. */
  unavailable?(): string | null;
  /** Why workers are used only when asked for (`threads` set), in words; null when they are the default. */
  notByDefault?(): string | null;
  /**
   * Whether the calling thread computes too (threads = this one + threads − 1 workers): in Node, where
   * it is otherwise idle and saves a worker's start; not in a page, whose main thread must stay free.
   */
  readonly callerComputes?: boolean;
  spawn(onMessage: (message: unknown) => void, onError: (error: Error) => void): WorkerHandle;
}

/** A worker's reply to a task. */
export type Reply = { kind: 'done'; id: number; [key: string]: unknown } | { kind: 'error'; id: number; name: string; message: string };

interface Pending {
  id: number;
  message: Record<string, unknown>;
  resolve: (reply: Reply & { kind: 'done' }) => void;
  reject: (error: Error) => void;
}

/** Tasks queued at a spawned worker: the next one is there when it finishes one (no round trip idle). */
const WORKER_DEPTH = 2;

export class WorkerPool {
  private readonly workers: WorkerHandle[] = [];
  /** One entry per free task slot of a worker. */
  private readonly free: WorkerHandle[] = [];
  private readonly queue: Pending[] = [];
  /** Each worker's tasks, in the order it answers them. */
  private readonly running = new Map<WorkerHandle, Pending[]>();
  private nextId = 0;
  private failure: Error | null = null;

  /**
   * `size` workers from the spawner, plus `local` (a worker on this thread, which answers the same
   * messages) when given; every one first gets `init`.
   */
  constructor(spawner: WorkerSpawner, size: number, init: unknown, local?: (onMessage: (message: unknown) => void) => WorkerHandle) {
    const add = (handle: WorkerHandle) => {
      this.workers.push(handle);
      this.running.set(handle, []);
      // Structured clone: each worker gets its own copy of the inputs.
      handle.post(init);
    };
    if (local) {
      const handle: WorkerHandle = local((m) => this.onReply(handle, m as Reply));
      add(handle);
      this.free.push(handle); // one slot: this thread takes a task when it has finished the last
    }
    const spawned: WorkerHandle[] = [];
    for (let w = 0; w < size; w++) {
      const handle: WorkerHandle = spawner.spawn(
        (m) => this.onReply(handle, m as Reply),
        (e) => this.fail(new Error(`a ${spawner.kind} worker failed: ${e.message}`)),
      );
      add(handle);
      spawned.push(handle);
    }
    for (let k = 0; k < WORKER_DEPTH; k++) this.free.push(...spawned);
  }

  /** Runs a task on the next free worker (`message` gets an `id`); resolves with the reply. */
  run(message: Record<string, unknown>): Promise<Reply & { kind: 'done' }> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, message, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates every worker; tasks not finished reject with `reason`. */
  close(reason: Error = new Error('the worker pool was closed')): void {
    if (!this.failure) this.failure = reason;
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    this.free.length = 0;
    const pending = [...[...this.running.values()].flat(), ...this.queue];
    this.running.clear();
    this.queue.length = 0;
    for (const p of pending) p.reject(this.failure);
  }

  private dispatch(): void {
    while (this.free.length > 0 && this.queue.length > 0) {
      const w = this.free.shift()!;
      const p = this.queue.shift()!;
      this.running.get(w)!.push(p);
      w.post({ ...p.message, kind: 'task', id: p.id });
    }
  }

  private onReply(w: WorkerHandle, reply: Reply): void {
    const tasks = this.running.get(w);
    const p = tasks?.[0];
    if (!p || reply.id !== p.id) return; // a late reply after close()
    tasks.shift();
    this.free.push(w);
    if (reply.kind === 'error') {
      // An InputError in a worker (an overflow, say) is the caller's error, as on one thread.
      this.fail(reply.name === 'InputError' ? new InputError(reply.message) : new Error(`${reply.name}: ${reply.message}`));
      p.reject(this.failure!);
      return;
    }
    p.resolve(reply);
    this.dispatch();
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.close(e);
  }
}
