/**
 * How many threads the float64 CPU backend uses for a request, and why fewer than asked: the
 * decision is part of the result (never a silent fallback).
 */
import { isBuiltinActivation } from '../activations/registry.js';
import { InputError } from '../errors.js';
import { jsValue } from '../jsvalue.js';
import { opsPerPair, programOps, type KernelProgram } from '../program/program.js';
import type { WorkerSpawner } from './pool.js';

export const MAX_THREADS = 256;
/**
 * Below this much work (pair-ops: pairs × (ops per pair + d/16 for the first layer)) the default is
 * one thread: a worker costs ~0.1–0.2 s to start (measured here), about what one thread does in
 * 2^24 pair-ops.
 */
export const SMALL_WORK = 2 ** 24;

export interface ThreadChoice {
  threads: number;
  /** Why the computation runs on fewer threads than asked for (or than the cores), in words. */
  note?: string;
}

/** Refuses a thread count that is not a whole number from 1 to MAX_THREADS. */
export function checkThreads(threads: unknown, what = 'threads'): void {
  if (threads === undefined) return;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new InputError(`${what} must be a whole number from 1 to ${MAX_THREADS} (1: no worker threads), got ${jsValue(threads)}`);
  }
}

/** Pair-ops of a request: what SMALL_WORK is compared with. */
export function pairOps(p: KernelProgram, pairs: number, d: number): number {
  return pairs * (opsPerPair(p) + d / 16);
}

/** The threads for an FC program's request of `work` pair-ops (the diagonal stays on one thread). */
export function planThreads(p: KernelProgram, requested: number | undefined, work: number, diagonal: boolean, spawner: WorkerSpawner | null): ThreadChoice {
  if (requested === 1) return { threads: 1 };
  if (diagonal) return { threads: 1, note: 'the diagonal (N pair runs) is computed on one thread' };
  if (!spawner) {
    return { threads: 1, note: 'this runtime offers no worker threads (in Node, call useNodeWorkers() from webntk/node): computed on one thread' };
  }
  const why = spawner.unavailable?.() ?? null;
  if (why) return { threads: 1, note: `${why}: computed on one thread` };
  const custom = programOps(p).find((o) => o.op === 'act' && !isBuiltinActivation(o.act.type));
  if (custom && custom.op === 'act') {
    return { threads: 1, note: `the activation "${custom.act.type}" was registered at run time, which worker threads do not see: computed on one thread` };
  }
  if (requested !== undefined) return { threads: requested };
  const notByDefault = spawner.notByDefault?.() ?? null;
  if (notByDefault) return { threads: 1, note: `${notByDefault}: computed on one thread` };
  const cores = spawner.cores();
  if (cores <= 1) return { threads: 1 };
  if (work < SMALL_WORK) return { threads: 1, note: 'too little work for worker threads to pay (they take ~0.1 s to start): computed on one thread (set threads to force them)' };
  return { threads: cores };
}
