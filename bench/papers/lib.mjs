// Shared by the paper scripts: where results and figures go, and how they are written.
// Numbers: bench/papers/results/<paper>.json; figures: docs/figures/<paper>-<name>.svg.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fitLine } from '../../dist/analysis/depth.js';
import { reportJsonReplacer } from '../../dist/analysis/report.js';
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
  writeFileSync(path, JSON.stringify({ paper, date: new Date().toISOString().slice(0, 10), ...results }, reportJsonReplacer, 1) + '\n');
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
  return fitLine(pts.map((p) => p[0]), pts.map((p) => p[1])).slope;
}
