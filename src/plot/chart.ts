/**
 * Figures of the analyses as SVG, drawn by Vega-Lite/Vega (axes, ticks, legends and log scales are
 * theirs, not ours). A figure is one or more panels, two per row; a panel is a set of named series
 * of (x, y) points drawn as lines and/or points, with optional horizontal reference lines.
 * Rendering runs headless (Vega's "none" renderer → SVG string) in Node, Deno and browsers.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { InputError } from '../errors.js';

export interface Series {
  name: string;
  x: readonly number[];
  y: readonly number[];
  /** "line" (default), "points" or "line+points". */
  mark?: 'line' | 'points' | 'line+points';
}

export interface Axis {
  title: string;
  /** "linear" (default) or "log" (points with a value ≤ 0 cannot be drawn and are left out, and the panel says how many). */
  scale?: 'linear' | 'log';
}

export interface Panel {
  title: string;
  x: Axis;
  y: Axis;
  series: readonly Series[];
  /** Horizontal reference lines, e.g. a limit value. */
  rules?: readonly { y: number; label: string }[];
}

export interface Figure {
  title: string;
  panels: readonly Panel[];
  /** Pixel size of each panel's plotting area (default 420 × 280). */
  width?: number;
  height?: number;
}

interface Row {
  series: string;
  x: number;
  y: number;
}

/** Points drawn per series at most: longer series are thinned (evenly on the x axis's scale); the data files keep every point. */
const MAX_DRAWN = 600;

/** Indices of at most MAX_DRAWN points of a series, evenly spaced in x (log-spaced on a log axis), first and last kept. */
function thinned(x: readonly number[], log: boolean): number[] {
  const n = x.length;
  if (n <= MAX_DRAWN) return Array.from({ length: n }, (_, i) => i);
  const t = (v: number) => (log ? Math.log(Math.max(v, Number.MIN_VALUE)) : v);
  const finite = x.map(t).filter(Number.isFinite);
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  if (!(hi > lo)) return Array.from({ length: MAX_DRAWN }, (_, k) => Math.round((k * (n - 1)) / (MAX_DRAWN - 1)));
  // One point per x bin (the first that falls into it), plus the ends.
  const seen = new Set<number>();
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = t(x[i]!);
    const bin = Number.isFinite(v) ? Math.floor(((v - lo) / (hi - lo)) * (MAX_DRAWN - 1)) : -1;
    if (i === 0 || i === n - 1 || !seen.has(bin)) {
      seen.add(bin);
      keep.push(i);
    }
  }
  return keep;
}

function panelSpec(p: Panel, width: number, height: number): Record<string, unknown> {
  const logX = p.x.scale === 'log';
  const logY = p.y.scale === 'log';
  const rows: Row[] = [];
  let dropped = 0;
  for (const s of p.series) {
    if (s.x.length !== s.y.length) throw new InputError(`figure "${p.title}": series "${s.name}" has ${s.x.length} x and ${s.y.length} y values`);
    s.x.forEach((x, i) => {
      const y = s.y[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y) || (logX && x <= 0) || (logY && y <= 0)) dropped++;
    });
    for (const i of thinned(s.x, logX)) {
      const x = s.x[i]!;
      const y = s.y[i]!;
      if (Number.isFinite(x) && Number.isFinite(y) && !(logX && x <= 0) && !(logY && y <= 0)) rows.push({ series: s.name, x, y });
    }
  }
  const marks = new Map(p.series.map((s) => [s.name, s.mark ?? 'line']));
  const names = p.series.map((s) => s.name);
  const enc = {
    x: { field: 'x', type: 'quantitative', title: p.x.title, scale: logX ? { type: 'log' } : { zero: false } },
    y: { field: 'y', type: 'quantitative', title: p.y.title, scale: logY ? { type: 'log' } : { zero: false } },
    color: { field: 'series', type: 'nominal', title: null, sort: names },
  };
  const pick = (want: (m: string) => boolean) => ({ filter: { field: 'series', oneOf: names.filter((n) => want(marks.get(n)!)) } });
  const layers: Record<string, unknown>[] = [];
  if (names.some((n) => marks.get(n) !== 'points')) layers.push({ transform: [pick((m) => m !== 'points')], mark: { type: 'line', clip: true }, encoding: enc });
  if (names.some((n) => marks.get(n) !== 'line')) layers.push({ transform: [pick((m) => m !== 'line')], mark: { type: 'point', filled: true, size: 36, clip: true }, encoding: enc });
  for (const r of p.rules ?? []) {
    if (!Number.isFinite(r.y) || (logY && r.y <= 0)) continue;
    layers.push({
      data: { values: [{ y: r.y, label: r.label }] },
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 4], color: '#666' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
        { mark: { type: 'text', align: 'right', dy: -6, color: '#444' }, encoding: { y: { field: 'y', type: 'quantitative' }, x: { value: width }, text: { field: 'label' } } },
      ],
    });
  }
  const subtitle = dropped > 0 ? `${dropped} point${dropped === 1 ? '' : 's'} with a non-positive or non-finite value not drawn` : undefined;
  return {
    title: subtitle ? { text: p.title, subtitle } : p.title,
    width,
    height,
    data: { values: rows },
    layer: layers,
  };
}

/** The Vega-Lite specification of a figure (for the browser, or to restyle it). */
export function figureSpec(f: Figure): TopLevelSpec {
  if (f.panels.length === 0) throw new InputError(`figure "${f.title}" has no panels`);
  const w = f.width ?? 420;
  const h = f.height ?? 280;
  const panels = f.panels.map((p) => panelSpec(p, w, h));
  const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: 'white', config: { font: 'sans-serif', legend: { orient: 'bottom', direction: 'vertical', labelLimit: 0 } } };
  // One panel: the figure's title on top, the panel's title (and its "not drawn" note) as subtitle.
  const single = (p: Record<string, unknown>) => {
    const t = p.title as string | { text: string; subtitle: string };
    const sub = typeof t === 'string' ? [t] : [t.text, t.subtitle];
    return { ...base, ...p, title: { text: f.title, subtitle: sub } };
  };
  const spec = panels.length === 1 ? single(panels[0]!) : { ...base, title: f.title, concat: panels, columns: 2, resolve: { scale: { color: 'independent' } } };
  return spec as unknown as TopLevelSpec;
}

/** The figure as a standalone SVG document. */
export async function renderSvg(f: Figure): Promise<string> {
  const view = new vega.View(vega.parse(compile(figureSpec(f)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
