/**
 * A .npy file written block by block as results arrive: the header first, then each block's rows
 * at their offsets in the C-order array, into a temporary file beside the target that is renamed
 * into place only by `commit()`. Memory beyond the blocks themselves: one row buffer.
 */
import { npyHeader, type NpyDtype } from '../io/npy.js';
import { PlacedFile } from './placed-file.js';

export class NpyBlockWriter {
  private readonly file: PlacedFile;
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
    const head = npyHeader(shape, dtype);
    this.header = head.length;
    this.item = dtype === 'float64' ? 8 : 4;
    const total = shape.reduce((a, b) => a * b, 1);
    this.file = new PlacedFile(path, this.header + total * this.item);
    try {
      this.file.writeAt(head, 0);
    } catch (e) {
      this.file.abort();
      throw e;
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
    for (let t = 0; t < taps; t++) {
      for (let i = 0; i < rows; i++) {
        const element = (tap0 + t) * this.plane + (row0 + i) * this.rowLen + col0;
        this.file.writeValues(values, (t * rows + i) * cols, cols, this.dtype, this.header + element * this.item);
      }
    }
  }

  /** Flushes and renames the temporary file into place. */
  commit(): void {
    this.file.commit();
  }

  /** Removes the temporary file (after a failure); nothing appears at `path`. */
  abort(): void {
    this.file.abort();
  }
}
