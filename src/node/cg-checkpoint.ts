/**
 * `predict --solver cg-matfree --cg-checkpoint FILE`: the CG state (solve/cg.ts CgState) saved after
 * every iteration, so that a solve of hours survives a kill, a preemption or a time limit, and a
 * rerun of the same command goes on from the last iteration (bit for bit: the preconditioner is
 * rebuilt deterministically and the products are the same).
 *
 * The file: the line "webntk-cg-checkpoint 1\n", a uint32 (little-endian) byte length, a JSON header
 * (the run's fingerprint, sizes, ridge, preconditioner, iteration, rᵀz, the active columns, the α/β
 * history, the residuals; JSON numbers round-trip float64 exactly), then x, r and p as float64
 * (little-endian, n·k each). Written atomically (a temporary file renamed over the last one), so a
 * kill at any moment leaves the previous iteration's file whole.
 *
 * The fingerprint is what must not change between the saving run and the resuming one: the
 * architecture, the kernel, the ridge as given, the preconditioner rank, the backend as given, the
 * class count, the input layout, and SHA-256 digests of the training inputs and targets. The test
 * inputs and --cg-tol / --cg-max-iter may change (the saved state of a finished solve predicts any
 * test set with no iterations). Bit-identity also needs the same webntk version and the same
 * device (--backend auto may resolve differently on another machine); neither is recorded, and the
 * state stays a valid CG state for the slightly different products of another device.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { InputError, fsError } from '../errors.js';
import type { CgState } from '../solve/cg.js';
import { writeFileAtomic } from './files.js';

const MAGIC = 'webntk-cg-checkpoint 1\n';

export type CheckpointFingerprint = Record<string, string | number | null>;

/** SHA-256 of a file, streamed (the training inputs may be hundreds of MB). */
export function fileDigest(path: string): string {
  const h = createHash('sha256');
  const buf = Buffer.alloc(8 * 2 ** 20);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fsError(e, 'read', path);
  }
  try {
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      h.update(buf.subarray(0, got));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

export function encodeCheckpoint(s: CgState, fingerprint: CheckpointFingerprint): Uint8Array[] {
  const header = JSON.stringify({
    fingerprint,
    n: s.n,
    k: s.k,
    ridge: s.ridge,
    preconditioner: s.preconditioner,
    iteration: s.iteration,
    rz: Array.from(s.rz),
    active: s.active,
    alphas: s.alphas,
    betas: s.betas,
    residuals: Array.from(s.residuals),
  });
  const head = Buffer.from(header, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length);
  const le = (a: Float64Array) => (endianness() === 'BE' ? Buffer.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).swap64() : new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return [Buffer.from(MAGIC, 'latin1'), len, head, le(s.x), le(s.r), le(s.p)];
}

export function saveCheckpoint(path: string, s: CgState, fingerprint: CheckpointFingerprint): void {
  writeFileAtomic(path, encodeCheckpoint(s, fingerprint));
}

/**
 * The state saved at `path` (null when there is no file), checked against this run's fingerprint:
 * a file from another run, or one that is not a checkpoint, is an InputError naming the difference.
 */
export function loadCheckpoint(path: string, fingerprint: CheckpointFingerprint, flag = '--cg-checkpoint'): CgState | null {
  if (!existsSync(path)) return null;
  const saved = readCheckpoint(path, flag);
  for (const key of new Set([...Object.keys(fingerprint), ...Object.keys(saved.fingerprint)])) {
    const was = saved.fingerprint[key];
    const now = fingerprint[key];
    if (was !== now) {
      throw new InputError(
        `${flag} ${path}: saved by a different run (${key}: ${JSON.stringify(was ?? null)} there, ${JSON.stringify(now ?? null)} here); ` +
          'delete it or give another path to start over',
      );
    }
  }
  return saved.state;
}

/** A checkpoint file as saved: the fingerprint of the run that wrote it, and its CG state. */
export function readCheckpoint(path: string, flag = '--cg-checkpoint'): { fingerprint: CheckpointFingerprint; state: CgState } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw fsError(e, 'read', path);
  }
  const bad = (why: string) => new InputError(`${flag} ${path}: ${why}`);
  if (bytes.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) throw bad('not a webntk CG checkpoint (delete it or give another path)');
  const at = MAGIC.length;
  if (bytes.length < at + 4) throw bad('truncated');
  const hl = bytes.readUInt32LE(at);
  let h: {
    fingerprint: CheckpointFingerprint;
    n: number;
    k: number;
    ridge: number;
    preconditioner: string;
    iteration: number;
    rz: number[];
    active: boolean[];
    alphas: number[];
    betas: number[];
    residuals: number[];
  };
  try {
    h = JSON.parse(bytes.subarray(at + 4, at + 4 + hl).toString('utf8'));
  } catch {
    throw bad('its header is not valid JSON (a damaged file: delete it to start over)');
  }
  const nums = (a: unknown, len?: number) => Array.isArray(a) && (len === undefined || a.length === len) && a.every((v) => typeof v === 'number');
  const count = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  if (
    !(h && typeof h === 'object' && count(h.n) && count(h.k) && h.n > 0 && h.k > 0 && typeof h.ridge === 'number' && typeof h.preconditioner === 'string' && count(h.iteration)) ||
    !(nums(h.rz, h.k) && nums(h.residuals, h.k) && nums(h.alphas) && nums(h.betas)) ||
    !(Array.isArray(h.active) && h.active.length === h.k && h.active.every((v) => typeof v === 'boolean'))
  ) {
    throw bad('its header lacks fields of a CG state (a damaged file: delete it to start over)');
  }
  const nk = h.n * h.k;
  const body = at + 4 + hl;
  if (!(Number.isInteger(nk) && nk > 0) || bytes.length !== body + 3 * 8 * nk) {
    throw bad(`${bytes.length} bytes, expected ${body + 3 * 8 * nk} for ${h.n} × ${h.k} (a damaged file: delete it to start over)`);
  }
  // Copied out: the file's bytes need not be 8-byte aligned. The file is little-endian.
  const arr = (i: number) => {
    const b = Buffer.from(bytes.subarray(body + i * 8 * nk, body + (i + 1) * 8 * nk));
    if (endianness() === 'BE') b.swap64();
    return new Float64Array(b.buffer, b.byteOffset, nk);
  };
  const state: CgState = {
    n: h.n,
    k: h.k,
    ridge: h.ridge,
    preconditioner: h.preconditioner,
    iteration: h.iteration,
    x: arr(0),
    r: arr(1),
    p: arr(2),
    rz: Float64Array.from(h.rz),
    active: h.active,
    alphas: h.alphas,
    betas: h.betas,
    residuals: Float64Array.from(h.residuals),
  };
  return { fingerprint: h.fingerprint ?? {}, state };
}
