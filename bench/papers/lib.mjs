// Shared by the paper scripts: where results and figures go, and how they are written.
// Numbers: bench/papers/results/<paper>.json; figures: docs/figures/<paper>-<name>.svg.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSvg } from '../../dist/plot/chart.js';

const here = dirname(fileURLToPath(import.meta.url));
export const RESULTS = join(here, 'results');
export const FIGURES = join(here, '..', '..', 'docs', 'figures');

/** The backend from WEBNTK_BACKEND (cpu by default; webgpu needs the Node WebGPU package). */
export async function backend() {
  const b = process.env.WEBNTK_BACKEND ?? 'cpu';
  if (b !== 'cpu') {
    const { useNodeWebGPU } = await import('../../dist/node/webgpu.js');
    useNodeWebGPU();
  }
  return b;
}

export async function release() {
  const { releaseNodeWebGPU } = await import('../../dist/node/webgpu.js');
  await releaseNodeWebGPU();
}

const B = process.env.WEBNTK_BACKEND ?? 'cpu';
// The committed figures and numbers are the float64 CPU ones; other backends write beside them.
const suffix = B === 'cpu' ? '' : `.${B}`;

export async function saveFigure(paper, name, figure) {
  const dir = B === 'cpu' ? FIGURES : join(RESULTS, B);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${paper}-${name}.svg`);
  writeFileSync(path, (await renderSvg(figure)) + '\n');
  console.log(`  wrote ${path}`);
}

export function saveResults(paper, results) {
  mkdirSync(RESULTS, { recursive: true });
  const path = join(RESULTS, `${paper}${suffix}.json`);
  const replacer = (_, v) => (v instanceof Float64Array || v instanceof Float32Array ? Array.from(v) : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
  writeFileSync(path, JSON.stringify({ paper, date: new Date().toISOString().slice(0, 10), ...results }, replacer, 1) + '\n');
  console.log(`  wrote ${path}`);
}

/**
 * A claim, what was measured, whether it holds, and the verdict of docs/reproductions.md:
 * "reproduced", "partly" or "not reproduced" (default: from `holds`; give it when the setting differs
 * from the paper's or only part of the claim holds).
 */
export function check(claims, claim, measured, holds, verdict = holds ? 'reproduced' : 'not reproduced') {
  claims.push({ claim, measured, holds, verdict });
  console.log(`  [${verdict}] ${claim}: ${measured}`);
}

export const fmt = (v, d = 6) => (Number.isFinite(v) ? Number(v.toPrecision(d)).toString() : String(v));

/** Least-squares slope of ln y against x (an exponential rate), over the points with y > 0. */
export function semilogSlope(xs, ys) {
  const pts = xs.map((x, i) => [x, Math.log(ys[i])]).filter(([, y]) => Number.isFinite(y));
  const ax = pts.reduce((a, p) => a + p[0], 0) / pts.length;
  const ay = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  return pts.reduce((a, p) => a + (p[0] - ax) * (p[1] - ay), 0) / pts.reduce((a, p) => a + (p[0] - ax) ** 2, 0);
}
