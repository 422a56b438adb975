/**
 * A .npy file written block by block as results arrive: the header first, then each block's rows
 * at their offsets in the C-order array, into a temporary file beside the target that is renamed
 * into place only by `commit()`. Memory beyond the blocks themselves: one row buffer.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { fsError } from '../errors.js';
import { npyHeader, type NpyDtype } from '../io/npy.js';
import { checkOutputPath, tempPathFor } from './files.js';
import { releaseTemp } from './signals.js';

export class NpyBlockWriter {
  private readonly tmp: string;
  private fd: number | null;
  private readonly header: number;
  private readonly item: number;
  /** Elements per depth plane and per row of the array. */
  private readonly plane: number;
  private readonly rowLen: number;

  /**
   * `shape` is [n1, n2] or [taps, n1, n2] for a Gram matrix, [n] or [taps, n] for a diagonal
   * (`diagonal` true).
   */
  constructor(
    readonly path: string,
    readonly shape: readonly number[],
    readonly dtype: NpyDtype,
    readonly diagonal = false,
  ) {
    checkOutputPath(path);
    this.tmp = tempPathFor(path);
    const head = npyHeader(shape, dtype);
    this.header = head.length;
    this.item = dtype === 'float64' ? 8 : 4;
    this.fd = null;
    try {
      this.fd = openSync(this.tmp, 'wx');
      writeSync(this.fd, head, 0, head.length, 0);
      const total = shape.reduce((a, b) => a * b, 1);
      // Size the file up front, so that blocks can land anywhere in it.
      ftruncateSync(this.fd, this.header + total * this.item);
    } catch (e) {
      this.abort();
      throw fsError(e, 'write', path);
    }
    this.rowLen = diagonal ? 1 : shape[shape.length - 1]!;
    this.plane = diagonal ? shape[shape.length - 1]! : shape[shape.length - 2]! * this.rowLen;
  }

  /**
   * Writes `values` ([taps, rows, cols] row-major) at rows [row0, row0+rows) and columns
   * [col0, col0+cols) of depth planes [tap0, tap0+taps). A 1-D-per-plane array (the diagonal) has
   * cols = 1 and col0 = 0.
   */
  writeBlock(values: Float64Array, tap0: number, taps: number, row0: number, col0: number, rows: number, cols: number): void {
    if (this.fd === null) throw new Error('internal error: write after commit/abort');
    const buf = new ArrayBuffer(cols * this.item);
    const view = this.dtype === 'float64' ? new Float64Array(buf) : new Float32Array(buf);
    const bytes = new Uint8Array(buf);
    for (let t = 0; t < taps; t++) {
      for (let i = 0; i < rows; i++) {
        const src = (t * rows + i) * cols;
        for (let j = 0; j < cols; j++) view[j] = values[src + j]!;
        const element = (tap0 + t) * this.plane + (row0 + i) * this.rowLen + col0;
        let off = 0;
        try {
          while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off, this.header + element * this.item + off);
        } catch (e) {
          throw fsError(e, 'write', this.path);
        }
      }
    }
  }

  /** Flushes and renames the temporary file into place. */
  commit(): void {
    if (this.fd === null) return;
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = null;
      renameSync(this.tmp, this.path);
    } catch (e) {
      throw fsError(e, 'write', this.path);
    }
    releaseTemp(this.tmp);
  }

  /** Removes the temporary file (after a failure); nothing appears at `path`. */
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
