/**
 * A file written in place at known offsets as results arrive: a temporary file beside the target,
 * sized up front so that any part can land anywhere, renamed into place complete by `commit()` and
 * removed by `abort()` (nothing appears at the target; an older file there is left as it was). What
 * the .npy block writer and the shard writer share.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync, writevSync } from 'node:fs';
import { fsError } from '../errors.js';
import type { NpyDtype } from '../io/npy.js';
import { checkOutputPath, tempPathFor } from './files.js';
import { releaseTemp } from './signals.js';

export class PlacedFile {
  private readonly tmp: string;
  private fd: number | null = null;

  constructor(
    readonly path: string,
    size: number,
  ) {
    checkOutputPath(path);
    this.tmp = tempPathFor(path);
    try {
      this.fd = openSync(this.tmp, 'wx');
      ftruncateSync(this.fd, size);
    } catch (e) {
      this.abort();
      throw fsError(e, 'write', path);
    }
  }

  /** Writes all of `bytes` at byte `pos`. */
  writeAt(bytes: Uint8Array, pos: number): void {
    if (this.fd === null) throw new Error('internal error: write after commit/abort');
    let off = 0;
    try {
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off, pos + off);
    } catch (e) {
      throw fsError(e, 'write', this.path);
    }
  }

  /** Writes `parts` one after another from byte `pos` (one writev; a short write finishes piece by piece). */
  writevAt(parts: readonly Uint8Array[], pos: number): void {
    if (this.fd === null) throw new Error('internal error: write after commit/abort');
    let done: number;
    try {
      done = writevSync(this.fd, parts, pos);
    } catch (e) {
      throw fsError(e, 'write', this.path);
    }
    for (const part of parts) {
      if (done >= part.length) done -= part.length;
      else {
        this.writeAt(part.subarray(done), pos + done);
        done = 0;
      }
      pos += part.length;
    }
  }

  /** Writes values[src … src + count) as `dtype` (little-endian) at byte `pos`. */
  writeValues(values: Float64Array, src: number, count: number, dtype: NpyDtype, pos: number): void {
    const view = dtype === 'float64' ? new Float64Array(count) : new Float32Array(count);
    view.set(values.subarray(src, src + count));
    this.writeAt(new Uint8Array(view.buffer), pos);
  }

  /** Writes `head` at 0 (what is known only at the end), then flushes and renames into place. */
  commit(head?: Uint8Array): void {
    if (this.fd === null) return;
    try {
      if (head) this.writeAt(head, 0);
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = null;
      renameSync(this.tmp, this.path);
    } catch (e) {
      throw fsError(e, 'write', this.path);
    }
    releaseTemp(this.tmp);
  }

  /** Removes the temporary file (after a failure). */
  abort(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      // already gone
    }
    releaseTemp(this.tmp);
  }
}
