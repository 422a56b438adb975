/**
 * The figures, drawn by Vega-Lite + Vega (bundled; nothing is fetched): line plots from the
 * library's own figure specs (src/plot/chart.ts), and the Gram heatmap as Vega-Lite `rect` marks
 * for up to HEATMAP_RECT_MAX_N points. Larger Grams are drawn pixel by pixel on a canvas with the
 * same colour scheme, every k-th row and column when n exceeds HEATMAP_CANVAS_MAX_N (the caption
 * says which).
 */
import { parse, scheme, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { figureSpec, type Figure } from '../../src/plot/chart.js';

const views = new Map<HTMLElement, View>();

async function show(el: HTMLElement, spec: TopLevelSpec, renderer: 'svg' | 'canvas'): Promise<void> {
  views.get(el)?.finalize();
  el.replaceChildren();
  const view = new View(parse(compile(spec).spec), { renderer, container: el, hover: false });
  views.set(el, view);
  await view.runAsync();
}

export async function linePlot(el: HTMLElement, f: Figure, opts: { integerX?: boolean } = {}): Promise<void> {
  const spec = figureSpec(f) as unknown as { layer?: { encoding?: { x?: Record<string, unknown> } }[] };
  if (opts.integerX) {
    // Depths are integers: no ticks at 2.5.
    for (const l of spec.layer ?? []) if (l.encoding?.x) l.encoding = { ...l.encoding, x: { ...l.encoding.x, axis: { tickMinStep: 1, format: 'd' } } };
  }
  await show(el, spec as unknown as TopLevelSpec, 'svg');
}

export const HEATMAP_RECT_MAX_N = 150;
export const HEATMAP_CANVAS_MAX_N = 400;

/** Heatmap of an n × n matrix; returns a caption that says how it was drawn. */
export async function heatmap(el: HTMLElement, G: Float64Array, n: number, title: string, size = 360): Promise<string> {
  if (n <= HEATMAP_RECT_MAX_N) {
    const values: { i: number; j: number; k: number }[] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) values.push({ i, j, k: G[i * n + j]! });
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      background: 'white',
      config: { font: 'sans-serif', view: { stroke: null } },
      title,
      width: size,
      height: size,
      data: { values },
      mark: { type: 'rect' },
      encoding: {
        x: { field: 'j', type: 'ordinal', title: 'column j', axis: { labels: false, ticks: false } },
        y: { field: 'i', type: 'ordinal', title: 'row i', axis: { labels: false, ticks: false } },
        color: { field: 'k', type: 'quantitative', title: 'K(xᵢ, xⱼ)', scale: { scheme: 'viridis' } },
      },
    };
    await show(el, spec as unknown as TopLevelSpec, 'canvas');
    return `${n} × ${n} entries, every one drawn (Vega-Lite rect marks).`;
  }
  views.get(el)?.finalize();
  views.delete(el);
  const stride = Math.ceil(n / HEATMAP_CANVAS_MAX_N);
  const m = Math.ceil(n / stride);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i += stride) {
    for (let j = 0; j < n; j += stride) {
      const v = G[i * n + j]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const canvas = document.createElement('canvas');
  canvas.width = m;
  canvas.height = m;
  canvas.style.width = `${size}px`;
  canvas.style.height = `${size}px`;
  canvas.style.imageRendering = 'pixelated';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', title);
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(m, m);
  const ramp = colorRamp();
  const span = hi > lo ? hi - lo : 1;
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) {
      const t = (G[a * stride * n + b * stride]! - lo) / span;
      const c = ramp[Math.max(0, Math.min(255, Math.round(t * 255)))]!;
      const o = 4 * (a * m + b);
      img.data[o] = c[0];
      img.data[o + 1] = c[1];
      img.data[o + 2] = c[2];
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  const head = document.createElement('div');
  head.className = 'plot-title';
  head.textContent = title;
  const legend = document.createElement('div');
  legend.className = 'legend';
  legend.innerHTML = `<span>${lo.toPrecision(4)}</span><span class="ramp"></span><span>${hi.toPrecision(4)}</span>`;
  el.replaceChildren(head, canvas, legend);
  return stride === 1
    ? `${n} × ${n} entries, one pixel each (canvas; too many for vector marks).`
    : `Subsampled: every ${stride}-th row and column (${m} × ${m} of ${n} × ${n}), one pixel each (canvas).`;
}

let rampCache: [number, number, number][] | null = null;
function colorRamp(): [number, number, number][] {
  if (rampCache) return rampCache;
  const f = scheme('viridis') as ((t: number) => string) | undefined;
  rampCache = Array.from({ length: 256 }, (_, i) => {
    const s = typeof f === 'function' ? f(i / 255) : `rgb(${i}, ${i}, ${i})`;
    const m = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(s) ?? /#(..)(..)(..)/.exec(s);
    if (!m) return [i, i, i];
    const parse = (v: string) => (s.startsWith('#') ? parseInt(v, 16) : Number(v));
    return [parse(m[1]!), parse(m[2]!), parse(m[3]!)];
  });
  return rampCache;
}
