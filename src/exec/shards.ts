/**
 * Which blocks of a Gram matrix each of N shards (array-job tasks) computes: a pure, deterministic
 * function of the sizes, the block size and N, so that every task and the merge agree on it without
 * talking to each other. X × X counts its upper triangle once (a block on the diagonal is computed
 * as X_b × X_b, an off-diagonal one as X_bi × X_bj and stands for its transpose too); X1 × X2 is
 * every block of the rectangle.
 */
import { InputError } from '../errors.js';

/** One block of the shard grid: rows [row0, row0 + rows) × cols [col0, col0 + cols). */
export interface ShardBlock {
  row0: number;
  col0: number;
  rows: number;
  cols: number;
  /** Kernel pairs it computes: rows·cols, or rows·(rows + 1)/2 for a diagonal block of X × X. */
  work: number;
}

/** The blocks of the whole matrix, in row-major block order (upper triangle only when symmetric). */
export function shardGrid(n1: number, n2: number, symmetric: boolean, blockRows: number): ShardBlock[] {
  if (!Number.isInteger(blockRows) || blockRows < 1) throw new InputError(`the block size must be a positive whole number, got ${blockRows}`);
  if (symmetric && n1 !== n2) throw new Error(`internal error: a symmetric grid of ${n1} × ${n2}`);
  const out: ShardBlock[] = [];
  for (let r0 = 0; r0 < n1; r0 += blockRows) {
    const rows = Math.min(blockRows, n1 - r0);
    for (let c0 = symmetric ? r0 : 0; c0 < n2; c0 += blockRows) {
      const cols = Math.min(blockRows, n2 - c0);
      out.push({ row0: r0, col0: c0, rows, cols, work: symmetric && c0 === r0 ? (rows * (rows + 1)) / 2 : rows * cols });
    }
  }
  return out;
}

/**
 * The blocks of each of `count` shards: longest-processing-time-first (blocks by decreasing work, ties
 * in grid order, each to the least-loaded shard, ties to the lowest index). The last block a shard
 * received went to it while it was the least loaded, so the most and least loaded shards differ by
 * at most one block's work. Each shard's blocks are returned in grid order.
 */
export function assignShards(blocks: readonly ShardBlock[], count: number): ShardBlock[][] {
  if (!Number.isInteger(count) || count < 1) throw new InputError(`the number of shards must be a positive whole number, got ${count}`);
  const order = blocks.map((_, i) => i).sort((a, b) => blocks[b]!.work - blocks[a]!.work || a - b);
  // A binary min-heap of [load, shard]: O(blocks · log count) for the 10^4–10^5 blocks of a large run.
  const load = new Float64Array(count);
  const heap = Array.from({ length: count }, (_, i) => i);
  const less = (a: number, b: number) => load[a]! < load[b]! || (load[a] === load[b] && a < b);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < count && less(heap[l]!, heap[m]!)) m = l;
      if (r < count && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  const picked: number[][] = Array.from({ length: count }, () => []);
  for (const b of order) {
    const s = heap[0]!;
    picked[s]!.push(b);
    load[s] = load[s]! + blocks[b]!.work;
    down(0);
  }
  return picked.map((list) => list.sort((a, b) => a - b).map((i) => blocks[i]!));
}

/** Shard `index` of `count`: its blocks of the grid, in grid order. */
export function shardBlocks(n1: number, n2: number, symmetric: boolean, blockRows: number, index: number, count: number): ShardBlock[] {
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new InputError(`shard ${index} of ${count} does not exist (shards are numbered 0 to ${count - 1})`);
  return assignShards(shardGrid(n1, n2, symmetric, blockRows), count)[index]!;
}
