/**
 * A .npy file written block by block as results arrive: the header first, then each block's values
 * at their offsets in the C-order array, into a temporary file beside the target that is renamed
 * into place only by `commit()`.
 *
 * A block of a Gram matrix covers a short piece of each of its rows, and the file holds whole rows:
 * written as they come, a 4096² matrix in 512-column blocks costs 32 768 writes of 2 KiB, whose
 * system-call overhead was most of the CLI's writing time. So the pieces are gathered in row
 * buffers of the output dtype (converted once, by TypedArray.set) and each row is written when it
 * is complete, runs of consecutive complete rows in one writev. The buffers held stay under a
 * budget: beyond it every held row writes the pieces it has and is dropped (its later pieces start
 * a new buffer), so memory stays bounded whatever the order of the blocks. Blocks of whole rows
 * (the diagonal, full-width blocks) are contiguous in the file and are written at once.
 */
import { npyHeader, type NpyDtype } from '../io/npy.js';
import { PlacedFile } from './placed-file.js';

/** Default bytes of row buffers held at once (a 4096² float32 X × X holds about 32 MiB). */
export const ROW_BUFFER_BUDGET = 256 * 2 ** 20;

/** A row being gathered: its buffer and the column spans filled since it was allocated. */
interface HeldRow {
  values: Float32Array | Float64Array;
  /** Sorted, disjoint [start, end) pairs. */
  spans: number[];
}

export interface NpyBlockWriterOptions {
  /** Bytes of row buffers held at once before they are written out piecewise (default ROW_BUFFER_BUDGET). */
  budget?: number;
}

export class NpyBlockWriter {
  private readonly file: PlacedFile;
  private readonly header: number;
  private readonly item: number;
  /** Elements per depth plane and per row of the array; rows per depth plane. */
  private readonly plane: number;
  private readonly rowLen: number;
  private readonly planeRows: number;
  private readonly budget: number;
  /** Held rows by index (tap · planeRows + row). */
  private readonly held = new Map<number, HeldRow>();
  /** Buffers of rows already written, for the next rows (stale values are never written: spans say what is filled). */
  private readonly spare: (Float32Array | Float64Array)[] = [];
  /** Elements written or held, per row: a row is complete at rowLen. */
  private readonly filled: Int32Array;

  /**
   * `shape` is [n1, n2] or [taps, n1, n2] for a Gram matrix, [n] or [taps, n] for a diagonal
   * (`diagonal` true).
   */
  constructor(
    readonly path: string,
    readonly shape: readonly number[],
    readonly dtype: NpyDtype,
    readonly diagonal = false,
    options: NpyBlockWriterOptions = {},
  ) {
    const head = npyHeader(shape, dtype);
    this.header = head.length;
    this.item = dtype === 'float64' ? 8 : 4;
    const total = shape.reduce((a, b) => a * b, 1);
    this.rowLen = diagonal ? 1 : shape[shape.length - 1]!;
    this.plane = diagonal ? shape[shape.length - 1]! : shape[shape.length - 2]! * this.rowLen;
    this.planeRows = this.plane / this.rowLen;
    this.budget = options.budget ?? ROW_BUFFER_BUDGET;
    this.filled = new Int32Array(diagonal ? 0 : total / this.rowLen);
    this.file = new PlacedFile(path, this.header + total * this.item);
    try {
      this.file.writeAt(head, 0);
    } catch (e) {
      this.file.abort();
      throw e;
    }
  }

  /**
   * Writes `values` ([taps, rows, cols] row-major) at rows [row0, row0+rows) and columns
   * [col0, col0+cols) of depth planes [tap0, tap0+taps). A 1-D-per-plane array (the diagonal) has
   * cols = 1 and col0 = 0.
   */
  writeBlock(values: Float64Array, tap0: number, taps: number, row0: number, col0: number, rows: number, cols: number): void {
    if (cols === this.rowLen) {
      // Whole rows: one contiguous run per depth plane.
      for (let t = 0; t < taps; t++) {
        const element = (tap0 + t) * this.plane + row0 * this.rowLen;
        this.file.writeValues(values, t * rows * cols, rows * cols, this.dtype, this.header + element * this.item);
        if (!this.diagonal) this.filled.fill(this.rowLen, (tap0 + t) * this.planeRows + row0, (tap0 + t) * this.planeRows + row0 + rows);
      }
      return;
    }
    const complete: number[] = [];
    for (let t = 0; t < taps; t++) {
      for (let i = 0; i < rows; i++) {
        const r = (tap0 + t) * this.planeRows + row0 + i;
        const h = this.held.get(r) ?? this.hold(r);
        const src = (t * rows + i) * cols;
        h.values.set(values.subarray(src, src + cols), col0);
        addSpan(h.spans, col0, col0 + cols);
        this.filled[r]! += cols;
        if (this.filled[r] === this.rowLen) complete.push(r);
      }
    }
    this.writeRows(complete);
  }

  /** A new buffer for row r, after writing out every held row if it would pass the budget. */
  private hold(r: number): HeldRow {
    const bytes = this.rowLen * this.item;
    if ((this.held.size + 1) * bytes > this.budget && this.held.size > 0) this.writeRows([...this.held.keys()]);
    const values = this.spare.pop() ?? (this.dtype === 'float64' ? new Float64Array(this.rowLen) : new Float32Array(this.rowLen));
    const h: HeldRow = { values, spans: [] };
    this.held.set(r, h);
    return h;
  }

  /** Writes the filled spans of held rows `list` and drops them; consecutive whole rows go in one writev. */
  private writeRows(list: number[]): void {
    list.sort((a, b) => a - b);
    const rowBytes = this.rowLen * this.item;
    let run: Uint8Array[] = [];
    let runStart = -1;
    const flushRun = () => {
      if (run.length) this.file.writevAt(run, this.header + runStart * rowBytes);
      run = [];
    };
    for (const r of list) {
      const h = this.held.get(r);
      if (!h) continue;
      const bytes = new Uint8Array(h.values.buffer);
      if (h.spans.length === 2 && h.spans[0] === 0 && h.spans[1] === this.rowLen) {
        // IOV_MAX is 1024 on Linux: runs stay below it.
        if (run.length === 0 || runStart + run.length !== r || run.length === 512) {
          flushRun();
          runStart = r;
        }
        run.push(bytes);
      } else {
        flushRun();
        for (let s = 0; s < h.spans.length; s += 2) {
          const [a, b] = [h.spans[s]!, h.spans[s + 1]!];
          this.file.writeAt(bytes.subarray(a * this.item, b * this.item), this.header + (r * this.rowLen + a) * this.item);
        }
      }
      this.held.delete(r);
      this.spare.push(h.values);
    }
    flushRun();
    // Spares within the budget too (what was held a moment ago).
    this.spare.length = Math.min(this.spare.length, Math.floor(this.budget / rowBytes));
  }

  /** Writes what is held, flushes and renames the temporary file into place. */
  commit(): void {
    this.writeRows([...this.held.keys()]);
    this.file.commit();
  }

  /** Removes the temporary file (after a failure); nothing appears at `path`. */
  abort(): void {
    this.held.clear();
    this.file.abort();
  }
}

/** Adds [a, b) to sorted disjoint spans, merging neighbours. */
function addSpan(spans: number[], a: number, b: number): void {
  let k = 0;
  while (k < spans.length && spans[k + 1]! < a) k += 2;
  let lo = a;
  let hi = b;
  let end = k;
  while (end < spans.length && spans[end]! <= hi) {
    lo = Math.min(lo, spans[end]!);
    hi = Math.max(hi, spans[end + 1]!);
    end += 2;
  }
  spans.splice(k, end - k, lo, hi);
}
