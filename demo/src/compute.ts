/**
 * The computations behind the plots, through the library (../../src): the Gram matrices streamed
 * block by block (progress, cancellation, and the page stays responsive between blocks), the
 * angular profile, the eigenvalue spectrum and the condition number against depth.
 */
import { conditionFromEigenvalues, kernelBlocks, kernelProfile, symmetricEigenvalues, type Arch, type Backend, type KernelKind, type Matrix2D } from '../../src/index.js';
import { npyHeader } from '../../src/io/npy.js';

export interface GramOut {
  n: number;
  nngp: Float64Array;
  ntk: Float64Array;
  backend: Backend;
  ms: number;
}

/** Rows per CPU block: small enough that the page repaints (and Cancel works) between blocks. */
const CPU_BLOCK_ROWS = 48;

/** WebGPU blocks are multiples of 64 rows. */
const GPU_TILE = 64;

/**
 * Rows per block: on the CPU CPU_BLOCK_ROWS; on WebGPU about a quarter of the rows (a multiple of
 * 64, so that there are several blocks — and progress steps — once n > 64; the library lowers it
 * further where the device limits require).
 */
export function blockRowsFor(n: number, backend: Backend): number {
  if (backend === 'cpu') return CPU_BLOCK_ROWS;
  return Math.max(GPU_TILE, Math.ceil(n / 4 / GPU_TILE) * GPU_TILE);
}

const yieldToPage = () => new Promise<void>((r) => setTimeout(r, 0));

function aborted(signal: AbortSignal): never {
  throw signal.reason instanceof Error ? signal.reason : new DOMException('cancelled', 'AbortError');
}

/** Both Gram matrices of X's rows, assembled from streamed blocks. */
export async function gram(
  arch: Arch,
  x: Matrix2D,
  backend: Backend,
  signal: AbortSignal,
  onProgress: (fraction: number) => void,
  /** Rows per block; null: the library's choice. */
  blockRows: number | null = blockRowsFor(x.rows, backend),
): Promise<GramOut> {
  const n = x.rows;
  const nngp = new Float64Array(n * n);
  const ntk = new Float64Array(n * n);
  const t0 = performance.now();
  let cells = 0;
  let used: Backend = backend;
  for await (const b of kernelBlocks(arch, x, null, { backend, signal, ...(blockRows !== null ? { blockRows } : {}) })) {
    used = b.backend;
    for (let i = 0; i < b.rows; i++) {
      const o = (b.row0 + i) * n + b.col0;
      nngp.set(b.nngp!.subarray(i * b.cols, (i + 1) * b.cols), o);
      ntk.set(b.ntk!.subarray(i * b.cols, (i + 1) * b.cols), o);
    }
    cells += b.rows * b.cols;
    onProgress(cells / (n * n));
    await yieldToPage();
    if (signal.aborted) aborted(signal);
  }
  return { n, nngp, ntk, backend: used, ms: performance.now() - t0 };
}

export interface ProfileOut {
  angles: number[];
  nngp: number[];
  ntk: number[];
  ms: number;
}

/** The normalised NNGP and NTK against the angle between two unit inputs (kernelProfile). */
export async function profile(arch: Arch, backend: Backend, points = 91): Promise<ProfileOut> {
  const t0 = performance.now();
  const a = await kernelProfile(arch, { kind: 'nngp', backend, points });
  const b = await kernelProfile(arch, { kind: 'ntk', backend, points });
  return { angles: a.angles, nngp: a.normalized, ntk: b.normalized, ms: performance.now() - t0 };
}

/** Largest n whose full spectrum the page computes (dense float64 eigen-solver, ∝ n³, on the main thread). */
export const SPECTRUM_MAX_N = 600;

export interface SpectrumOut {
  /** Points used (the first m rows when n is larger than SPECTRUM_MAX_N). */
  m: number;
  nngp: Float64Array;
  ntk: Float64Array;
  ms: number;
}

function leading(G: Float64Array, n: number, m: number): Float64Array {
  if (m === n) return G;
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) out.set(G.subarray(i * n, i * n + m), i * m);
  return out;
}

/** Every eigenvalue (descending) of both Grams, or of their leading m × m blocks. */
export function spectrum(g: GramOut): SpectrumOut {
  const t0 = performance.now();
  const m = Math.min(g.n, SPECTRUM_MAX_N);
  return {
    m,
    nngp: symmetricEigenvalues(leading(g.nngp, g.n, m), m),
    ntk: symmetricEigenvalues(leading(g.ntk, g.n, m), m),
    ms: performance.now() - t0,
  };
}

/** Points used for the condition number against depth (the first rows of the data set). */
export const CONDITIONING_MAX_N = 100;

export interface ConditioningOut {
  /** Points used (the first m rows). */
  m: number;
  depths: number[];
  nngp: number[];
  ntk: number[];
  /** Whether λmin was above the eigen-solver's (and the Gram's) noise level, per depth. */
  resolvedNngp: boolean[];
  resolvedNtk: boolean[];
  backend: Backend;
  ms: number;
}

/**
 * κ = λmax/λmin of the raw Grams of the first CONDITIONING_MAX_N rows at each of `depths` of the
 * network's depth sweep (`archAt(t)`: sweep entry t as a network of its own, the spec cut to t).
 * One Gram per depth, streamed like the main one (cancellable; the page repaints between blocks),
 * so memory stays one m × m Gram whatever the depth — unlike conditioningVsDepth's one tapped
 * pass, whose blocks hold every depth (m² × (L + 1) values: gigabytes at L = 10⁴).
 */
export async function conditioning(
  archAt: (depth: number) => Arch,
  depths: readonly number[],
  x: Matrix2D,
  backend: Backend,
  signal: AbortSignal,
  onDepth: (done: number, total: number) => void,
): Promise<ConditioningOut> {
  const t0 = performance.now();
  const m = Math.min(x.rows, CONDITIONING_MAX_N);
  const sub: Matrix2D = { data: x.data.subarray(0, m * x.cols), rows: m, cols: x.cols };
  const out: ConditioningOut = { m, depths: [...depths], nngp: [], ntk: [], resolvedNngp: [], resolvedNtk: [], backend, ms: 0 };
  for (let k = 0; k < depths.length; k++) {
    onDepth(k, depths.length);
    // One block per Gram on WebGPU (the planner's size); small CPU blocks keep the page responsive.
    const g = await gram(archAt(depths[k]!), sub, backend, signal, () => undefined, backend === 'cpu' ? CPU_BLOCK_ROWS : null);
    out.backend = g.backend;
    const eps = g.backend === 'webgpu' ? 2 ** -23 : 2 ** -52;
    for (const kind of ['nngp', 'ntk'] as const) {
      const ev = symmetricEigenvalues(g[kind], m);
      const s = conditionFromEigenvalues(ev, m * eps * Math.abs(ev[0]!));
      out[kind].push(s.condition);
      (kind === 'nngp' ? out.resolvedNngp : out.resolvedNtk).push(s.resolved);
    }
  }
  onDepth(depths.length, depths.length);
  out.ms = performance.now() - t0;
  return out;
}

/** K_ij / √(K_ii K_jj) (a copy); pairs with a zero or negative diagonal entry give 0, counted in `zeroDiagonal`. */
export function unitDiagonal(G: Float64Array, n: number): { G: Float64Array; zeroDiagonal: number } {
  const s = new Float64Array(n);
  let zeroDiagonal = 0;
  for (let i = 0; i < n; i++) {
    const d = G[i * n + i]!;
    if (d > 0) s[i] = 1 / Math.sqrt(d);
    else zeroDiagonal++;
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = G[i * n + j]! * s[i]! * s[j]!;
  for (let i = 0; i < n; i++) if (s[i]! > 0) out[i * n + i] = 1;
  return { G: out, zeroDiagonal };
}

// ---- large uploads: the Gram streamed to a .npy file ----

/** Uploads with more rows than this are not held in memory: their Gram is streamed to a file. */
export const STREAM_THRESHOLD_ROWS = 4096;

/** Rows per band of the streamed Gram: one band of rows × n float64 (about 32 MiB) is held at a time. */
export function bandRowsFor(n: number, backend: Backend): number {
  const rows = Math.floor(2 ** 22 / n);
  if (backend === 'cpu') return Math.min(n, Math.max(8, Math.min(256, rows)));
  return Math.min(Math.ceil(n / GPU_TILE) * GPU_TILE, Math.max(GPU_TILE, Math.min(1024, Math.floor(rows / GPU_TILE) * GPU_TILE)));
}

export interface StreamOut {
  file: Blob;
  n: number;
  kind: KernelKind;
  backend: Backend;
  bandRows: number;
  ms: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * One Gram (NNGP or NTK) of X's rows as a float64 .npy file, computed band by band: for each band
 * of `bandRows` rows, kernelBlocks(band, X) yields its blocks (bandRows × bandRows tiles, left to
 * right), which fill one band buffer of bandRows × n; the finished band becomes a part of the file's
 * Blob (the header, with the known shape, is the first part) and the buffer is dropped. Memory: one
 * band plus one block; the browser keeps Blob parts in its blob store (on disk beyond its memory
 * limit). Each block counts to the progress; the signal cancels between blocks. Off-diagonal
 * blocks are computed on both sides of the diagonal (twice the work of X × X), which is what keeps
 * memory at one band: the row-major file needs row band i complete before band i + 1.
 */
export async function streamGramNpy(
  arch: Arch,
  x: Matrix2D,
  kind: KernelKind,
  backend: Backend,
  signal: AbortSignal,
  onProgress: (fraction: number, band: { index: number; bands: number; row0: number; rows: number }) => void,
): Promise<StreamOut> {
  if (!LITTLE_ENDIAN) throw new Error('this browser is big-endian: the streamed .npy writer needs little-endian float64');
  const n = x.rows;
  const t0 = performance.now();
  const B = bandRowsFor(n, backend);
  const bands = Math.ceil(n / B);
  const parts: BlobPart[] = [npyHeader([n, n], 'float64') as BlobPart];
  let used: Backend = backend;
  let cells = 0;
  for (let bi = 0; bi < bands; bi++) {
    const row0 = bi * B;
    const rows = Math.min(B, n - row0);
    const rowsX: Matrix2D = { data: x.data.subarray(row0 * x.cols, (row0 + rows) * x.cols), rows, cols: x.cols };
    const band = new Float64Array(rows * n);
    onProgress(cells / (n * n), { index: bi, bands, row0, rows });
    for await (const b of kernelBlocks(arch, rowsX, x, { get: kind, backend, signal, blockRows: B })) {
      used = b.backend;
      const src = b[kind]!;
      for (let i = 0; i < b.rows; i++) band.set(src.subarray(i * b.cols, (i + 1) * b.cols), (b.row0 + i) * n + b.col0);
      cells += b.rows * b.cols;
      onProgress(cells / (n * n), { index: bi, bands, row0, rows });
      await yieldToPage();
      if (signal.aborted) aborted(signal);
    }
    parts.push(new Blob([band.buffer as ArrayBuffer]));
  }
  return { file: new Blob(parts, { type: 'application/octet-stream' }), n, kind, backend: used, bandRows: B, ms: performance.now() - t0 };
}
