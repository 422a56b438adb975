/**
 * The shard file (`K.npy.shard-I-of-N`), format 1: a JSON manifest, then the raw blocks.
 *
 *   bytes 0–7    magic "\x93WNTKSHD"
 *   bytes 8–11   format version, uint32 little-endian (1)
 *   bytes 12–15  H: manifest length in bytes, uint32 little-endian
 *   bytes 16…    the manifest: UTF-8 JSON padded with spaces so that 16 + H is a multiple of 64
 *   then         every block of manifest.blocks at its `offset`: the values of the block as a C-order
 *                [taps, rows, cols] array of manifest.dtype ('<f8' or '<f4'), little-endian
 *
 * Why not an .npy per block or an archive: one header that `head -c` shows and that any language
 * parses in a few lines (Python: json.loads(b[16:16 + int.from_bytes(b[12:16], 'little')]), then
 * np.frombuffer at each block's offset), no dependency, and payloads that are written in place as
 * blocks arrive (the file is sized up front; a block lands at its offset). The file is written to a
 * temporary name beside the target and renamed into place complete, as every webntk output.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { fsError, InputError } from '../errors.js';
import type { NpyDtype } from '../io/npy.js';
import type { KernelKind } from '../result.js';
import { PlacedFile } from './placed-file.js';

const MAGIC = new Uint8Array([0x93, 0x57, 0x4e, 0x54, 0x4b, 0x53, 0x48, 0x44]); // \x93WNTKSHD
export const SHARD_FORMAT = 1;
/** Room left in the header for what is known only at the end (the backend and the adapter). */
const HEADER_SLACK = 320;

export interface ShardInputHash {
  /** The path as given on the command line. */
  file: string;
  sha256: string;
  bytes: number;
}

/** Everything a merge checks, and what a person needs to know where a shard came from. */
export interface ShardManifest {
  format: 'webntk-shard';
  formatVersion: number;
  webntk: string;
  /** The merged file's name (as given to --out, {kernel} replaced). */
  output: string;
  kernel: KernelKind;
  /** --get as resolved: the kernels the run computed (each into its own shard file). */
  get: KernelKind[];
  shard: { index: number; count: number };
  /** --arch as given, and the resolved spec (null for a depth=inf reference, which has none). */
  spec: string;
  resolvedSpec: unknown;
  inputs: { x1: ShardInputHash; x2?: ShardInputHash };
  layout: string | null;
  /** --depths as given, and the depth label of each plane of the output. */
  depths: string;
  depthLabels: (number | string)[];
  /** The merged array: [n1, n2] or [taps, n1, n2]. */
  shape: number[];
  taps: number;
  dtype: NpyDtype;
  /** X × X: the blocks are the upper triangle's, each off-diagonal one standing for its transpose. */
  symmetric: boolean;
  blockRows: number;
  /** What computed the blocks (null: no block, so nothing was computed). */
  backend: string | null;
  adapter: string | null;
  blocks: { row0: number; col0: number; rows: number; cols: number; offset: number }[];
}

function itemSize(dtype: NpyDtype): number {
  return dtype === 'float64' ? 8 : 4;
}

function headerBytes(m: ShardManifest, length: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(m));
  if (json.length > length) throw new Error(`internal error: shard manifest of ${json.length} bytes in ${length}`);
  const out = new Uint8Array(16 + length).fill(0x20);
  out.set(MAGIC, 0);
  const v = new DataView(out.buffer);
  v.setUint32(8, SHARD_FORMAT, true);
  v.setUint32(12, length, true);
  out.set(json, 16);
  return out;
}

/**
 * Writes one shard file: `manifest.blocks` get their offsets here; `write` puts a sub-block of block
 * b where it belongs; `commit` writes the final manifest (with the backend) and renames the file
 * into place.
 */
export class ShardWriter {
  private readonly file: PlacedFile;
  private readonly length: number;
  private readonly item: number;

  constructor(
    readonly path: string,
    private readonly manifest: ShardManifest,
  ) {
    this.item = itemSize(manifest.dtype);
    const probe = JSON.stringify({ ...manifest, blocks: manifest.blocks.map((b) => ({ ...b, offset: Number.MAX_SAFE_INTEGER })) });
    this.length = Math.ceil((16 + new TextEncoder().encode(probe).length + HEADER_SLACK) / 64) * 64 - 16;
    let offset = 16 + this.length;
    for (const b of manifest.blocks) {
      b.offset = offset;
      offset += manifest.taps * b.rows * b.cols * this.item;
    }
    this.file = new PlacedFile(path, offset);
  }

  /** Values [taps, rows, cols] of rows [r0, r0 + rows) × cols [c0, c0 + cols) of block `b` (block-local). */
  write(b: number, values: Float64Array, r0: number, c0: number, rows: number, cols: number): void {
    const blk = this.manifest.blocks[b]!;
    for (let t = 0; t < this.manifest.taps; t++) {
      for (let i = 0; i < rows; i++) {
        const pos = blk.offset + ((t * blk.rows + r0 + i) * blk.cols + c0) * this.item;
        this.file.writeValues(values, (t * rows + i) * cols, cols, this.manifest.dtype, pos);
      }
    }
  }

  /** The final manifest (backend, adapter), then flush and rename into place. */
  commit(backend: string | null, adapter: string | null): void {
    this.manifest.backend = backend;
    // Printable ASCII without quotes or backslashes: its JSON is as long as it is, within the slack.
    this.manifest.adapter = adapter === null ? null : adapter.replace(/[^\x20-\x7e]|["\\]/g, '?').slice(0, 200);
    this.file.commit(headerBytes(this.manifest, this.length));
  }

  /** Removes the temporary file; nothing appears at `path` (an older file there is left as it was). */
  abort(): void {
    this.file.abort();
  }
}

/** An open shard file: its manifest, and its blocks one at a time. */
export class ShardReader {
  readonly manifest: ShardManifest;
  private fd: number | null;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw fsError(e, 'read', path);
    }
    try {
      if (fstatSync(this.fd).size < 16) throw new InputError(`${path} is not a webntk shard file (shorter than its 16-byte preamble)`);
      const head = this.read(0, 16);
      if (!MAGIC.every((b, i) => head[i] === b)) throw new InputError(`${path} is not a webntk shard file (no "\\x93WNTKSHD" at its start)`);
      const v = new DataView(head.buffer, head.byteOffset, 16);
      const version = v.getUint32(8, true);
      if (version !== SHARD_FORMAT) throw new InputError(`${path}: shard format ${version}; this webntk reads format ${SHARD_FORMAT}`);
      const length = v.getUint32(12, true);
      let m: ShardManifest;
      try {
        m = JSON.parse(new TextDecoder().decode(this.read(16, length))) as ShardManifest;
      } catch {
        throw new InputError(`${path}: the shard manifest is not valid JSON (a damaged file?)`);
      }
      const valid = typeof m === 'object' && m !== null && Array.isArray(m.blocks) && Array.isArray(m.shape) && Number.isInteger(m.taps) && (m.dtype === 'float64' || m.dtype === 'float32');
      if (!valid || m.format !== 'webntk-shard') throw new InputError(`${path}: not a webntk shard manifest (a damaged file?)`);
      const last = m.blocks.length ? m.blocks[m.blocks.length - 1]! : null;
      const size = last ? last.offset + m.taps * last.rows * last.cols * itemSize(m.dtype) : 16 + length;
      const actual = fstatSync(this.fd!).size;
      if (actual !== size) throw new InputError(`${path}: ${actual} bytes where its manifest says ${size} (a damaged or truncated file)`);
      this.manifest = m;
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private read(pos: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    try {
      while (off < n) {
        const got = readSync(this.fd!, out, off, n - off, pos + off);
        if (got === 0) throw new InputError(`${this.path}: ends early (a truncated shard file)`);
        off += got;
      }
    } catch (e) {
      throw fsError(e, 'read', this.path);
    }
    return out;
  }

  /** Block `b` as float64 values [taps, rows, cols]. */
  block(b: number): Float64Array {
    const m = this.manifest;
    const blk = m.blocks[b]!;
    const n = m.taps * blk.rows * blk.cols;
    const bytes = this.read(blk.offset, n * itemSize(m.dtype));
    return m.dtype === 'float64' ? new Float64Array(bytes.buffer, 0, n) : Float64Array.from(new Float32Array(bytes.buffer, 0, n));
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
