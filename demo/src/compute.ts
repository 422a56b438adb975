/**
 * The computations behind the plots, through the library (../../src): the Gram matrices streamed
 * block by block (progress, cancellation, and the page stays responsive between blocks), the
 * angular profile, the eigenvalue spectrum and the condition number against depth.
 */
import { conditioningVsDepth, kernelBlocks, kernelProfile, symmetricEigenvalues, type Arch, type Backend, type Matrix2D } from '../../src/index.js';

export interface GramOut {
  n: number;
  nngp: Float64Array;
  ntk: Float64Array;
  backend: Backend;
  ms: number;
}

/** Rows per CPU block: small enough that the page repaints (and Cancel works) between blocks. */
const CPU_BLOCK_ROWS = 48;

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
): Promise<GramOut> {
  const n = x.rows;
  const nngp = new Float64Array(n * n);
  const ntk = new Float64Array(n * n);
  const t0 = performance.now();
  let cells = 0;
  let used: Backend = backend;
  for await (const b of kernelBlocks(arch, x, null, { backend, signal, ...(backend === 'cpu' ? { blockRows: CPU_BLOCK_ROWS } : {}) })) {
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
  m: number;
  depths: number[];
  nngp: number[];
  ntk: number[];
  ms: number;
}

/** κ = λmax/λmin of the raw Grams at every depth of the sweep (conditioningVsDepth). */
export async function conditioning(arch: Arch, x: Matrix2D, backend: Backend): Promise<ConditioningOut> {
  const t0 = performance.now();
  const m = Math.min(x.rows, CONDITIONING_MAX_N);
  const sub: Matrix2D = { data: x.data.subarray(0, m * x.cols), rows: m, cols: x.cols };
  const [r] = await conditioningVsDepth([arch], sub, { backend });
  return { m, depths: r!.depths, nngp: r!.nngp!.condition, ntk: r!.ntk!.condition, ms: performance.now() - t0 };
}
