/**
 * The figures, drawn by Vega-Lite + Vega (bundled; nothing is fetched): line plots from the
 * library's own figure specs (src/plot/chart.ts), and the Gram heatmap as Vega-Lite `rect` marks
 * for up to HEATMAP_RECT_MAX_N points. Larger Grams are drawn pixel by pixel on a canvas with the
 * same colour scheme, every k-th row and column when n exceeds HEATMAP_CANVAS_MAX_N (the caption
 * says which).
 *
 * One title per plot: each figure's <h3> in the page is its title, so the Vega-Lite specs carry none
 * (a note such as "3 points not drawn" goes to the caption instead).
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

/** Empties a plot (and releases its Vega view). */
export function clearPlot(el: HTMLElement): void {
  views.get(el)?.finalize();
  views.delete(el);
  el.replaceChildren();
}

export interface LinePlotOptions {
  /** Integer x values (depths): no ticks at 2.5. */
  integerX?: boolean;
}

/**
 * A line plot from the library's figure spec (src/plot/chart.ts), without a title (the page's
 * heading is the title). Returns the library's note on points it could not draw (e.g. values ≤ 0
 * on a log axis), or ''.
 */
export async function linePlot(el: HTMLElement, f: Figure, opts: LinePlotOptions = {}): Promise<string> {
  const spec = figureSpec(f) as unknown as { title?: unknown; layer?: { encoding?: { x?: Record<string, unknown> } }[] };
  const t = spec.title as { subtitle?: string[] } | string | undefined;
  const note = typeof t === 'object' && t.subtitle && t.subtitle.length > 1 ? t.subtitle[t.subtitle.length - 1]! : '';
  delete spec.title;
  if (opts.integerX) {
    for (const l of spec.layer ?? []) if (l.encoding?.x) l.encoding = { ...l.encoding, x: { ...l.encoding.x, axis: { tickMinStep: 1, format: 'd' } } };
  }
  await show(el, spec as unknown as TopLevelSpec, 'svg');
  return note;
}

export const HEATMAP_RECT_MAX_N = 150;
export const HEATMAP_CANVAS_MAX_N = 400;

/**
 * Heatmap of an n × n matrix (no title: the page's heading is its title); returns a caption that
 * says how it was drawn. Test hooks on `el`: data-min / data-max of the drawn values, data-drawn (m
 * of an m × m picture).
 */
export async function heatmap(el: HTMLElement, G: Float64Array, n: number, label: string, colorTitle: string, size = 360): Promise<string> {
  let lo = Infinity;
  let hi = -Infinity;
  const stride = n <= HEATMAP_RECT_MAX_N ? 1 : Math.ceil(n / HEATMAP_CANVAS_MAX_N);
  for (let i = 0; i < n; i += stride) {
    for (let j = 0; j < n; j += stride) {
      const v = G[i * n + j]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  el.dataset.min = String(lo);
  el.dataset.max = String(hi);
  el.dataset.drawn = String(Math.ceil(n / stride));
  if (n <= HEATMAP_RECT_MAX_N) {
    const values: { i: number; j: number; k: number }[] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) values.push({ i, j, k: G[i * n + j]! });
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      background: 'white',
      config: { font: 'sans-serif', view: { stroke: null } },
      width: size,
      height: size,
      data: { values },
      mark: { type: 'rect' },
      encoding: {
        x: { field: 'j', type: 'ordinal', title: 'column j', axis: { labels: false, ticks: false } },
        y: { field: 'i', type: 'ordinal', title: 'row i', axis: { labels: false, ticks: false } },
        color: { field: 'k', type: 'quantitative', title: colorTitle, scale: { scheme: 'viridis' } },
      },
    };
    (spec as Record<string, unknown>).description = label;
    await show(el, spec as unknown as TopLevelSpec, 'canvas');
    return `${n} × ${n} entries, every one drawn (Vega-Lite rect marks).`;
  }
  views.get(el)?.finalize();
  views.delete(el);
  const m = Math.ceil(n / stride);
  const canvas = document.createElement('canvas');
  canvas.width = m;
  canvas.height = m;
  canvas.style.width = `${size}px`;
  canvas.style.height = `${size}px`;
  canvas.style.imageRendering = 'pixelated';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
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
  const legend = document.createElement('div');
  legend.className = 'legend';
  legend.innerHTML = `<span>${colorTitle}:</span><span>${lo.toPrecision(4)}</span><span class="ramp"></span><span>${hi.toPrecision(4)}</span>`;
  el.replaceChildren(canvas, legend);
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
