/**
 * `--shard I/N`, `--shard auto` and `--shards N`: which shard of an array job this process computes.
 * Shards are numbered 0 to N − 1 (the file of shard I is `K.npy.shard-I-of-N`). `auto` reads the
 * scheduler's environment:
 * - Slurm job arrays: I = (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP (step 1
 *   when unset) and N = SLURM_ARRAY_TASK_COUNT, so `--array=1-8` and `--array=0-7` both give shards
 *   0 … 7. The task ids must be one evenly stepped range (MIN + (N − 1)·STEP = MAX): a list such as
 *   `--array=1,4,9` has no shard numbering and is refused.
 * - Kubernetes Indexed Jobs: I = JOB_COMPLETION_INDEX (0 … completions − 1) and N = `--shards N` (the
 *   Job's `completions`; Kubernetes does not put it in the environment).
 * A missing, malformed or inconsistent index is an InputError (exit 2), never a guess.
 */
import { InputError } from '../errors.js';

export interface ShardChoice {
  index: number;
  count: number;
  /** Where I and N came from, in words (for the summary line). */
  source: string;
}

function whole(v: string, what: string): number {
  if (!/^\s*\d+\s*$/.test(v)) throw new InputError(`${what} must be a whole number ≥ 0, got "${v}"`);
  return Number(v);
}

/** The shard this process computes, or null when neither --shard nor --shards is given. */
export function parseShard(shard: string | undefined, shards: string | undefined, env: Readonly<Record<string, string | undefined>>): ShardChoice | null {
  if (shard === undefined) {
    if (shards !== undefined) throw new InputError('--shards N goes with --shard auto (Kubernetes Indexed Jobs: the index comes from JOB_COMPLETION_INDEX)');
    return null;
  }
  const count = shards === undefined ? undefined : whole(shards, '--shards');
  if (count === 0) throw new InputError('--shards must be at least 1');
  const checked = (c: ShardChoice): ShardChoice => {
    if (c.count < 1) throw new InputError(`${c.source}: the number of shards must be at least 1`);
    if (c.index >= c.count) throw new InputError(`${c.source}: shard ${c.index} does not exist among ${c.count} (shards are numbered 0 to ${c.count - 1})`);
    if (count !== undefined && count !== c.count) throw new InputError(`--shards ${count} disagrees with ${c.source}, which gives ${c.count} shards`);
    return c;
  };
  if (shard.trim() !== 'auto') {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(shard);
    if (!m) throw new InputError(`--shard must be I/N (shard I of N, numbered from 0, e.g. 0/4) or auto, got "${shard}"`);
    return checked({ index: Number(m[1]), count: Number(m[2]), source: `--shard ${shard.trim()}` });
  }
  const slurm = env.SLURM_ARRAY_TASK_ID;
  const k8s = env.JOB_COMPLETION_INDEX;
  if (slurm !== undefined && k8s !== undefined) {
    throw new InputError('--shard auto: both SLURM_ARRAY_TASK_ID (Slurm) and JOB_COMPLETION_INDEX (Kubernetes) are set; give --shard I/N');
  }
  if (slurm !== undefined) {
    const id = whole(slurm, 'SLURM_ARRAY_TASK_ID');
    const need = (name: string) => {
      const v = env[name];
      if (v === undefined) throw new InputError(`--shard auto: SLURM_ARRAY_TASK_ID is set but ${name} is not (run inside an sbatch --array job)`);
      return whole(v, name);
    };
    const n = need('SLURM_ARRAY_TASK_COUNT');
    const min = need('SLURM_ARRAY_TASK_MIN');
    const step = env.SLURM_ARRAY_TASK_STEP === undefined ? 1 : whole(env.SLURM_ARRAY_TASK_STEP, 'SLURM_ARRAY_TASK_STEP');
    const max = env.SLURM_ARRAY_TASK_MAX === undefined ? undefined : whole(env.SLURM_ARRAY_TASK_MAX, 'SLURM_ARRAY_TASK_MAX');
    const where = `Slurm (task ${id}, min ${min}, step ${step}, count ${n})`;
    if (step < 1) throw new InputError(`--shard auto: SLURM_ARRAY_TASK_STEP is ${step}; it must be at least 1`);
    if (id < min || (id - min) % step !== 0) throw new InputError(`--shard auto: ${where}: the task id is not min + k·step`);
    if (max !== undefined && min + (n - 1) * step !== max) {
      throw new InputError(`--shard auto: ${where}: the task ids are not one evenly stepped range ending at ${max} (use --array=0-${n - 1} or a step); give --shard I/N instead`);
    }
    return checked({ index: (id - min) / step, count: n, source: where });
  }
  if (k8s !== undefined) {
    const index = whole(k8s, 'JOB_COMPLETION_INDEX');
    if (count === undefined) throw new InputError("--shard auto with JOB_COMPLETION_INDEX (Kubernetes) needs --shards N, the Job's completions");
    return checked({ index, count, source: `Kubernetes (JOB_COMPLETION_INDEX ${index}, --shards ${count})` });
  }
  throw new InputError('--shard auto: no array-job index in the environment (SLURM_ARRAY_TASK_ID for Slurm, JOB_COMPLETION_INDEX with --shards N for Kubernetes); give --shard I/N');
}

/** The pinned name of shard `index` of `count` of the output `path`. */
export function shardPath(path: string, index: number, count: number): string {
  return `${path}.shard-${index}-of-${count}`;
}
