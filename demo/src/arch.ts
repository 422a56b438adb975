/**
 * What to compute: a preset with the slider parameters (depth, α or γ), or a spec edited as JSON.
 * Everything is checked with the library's own validation, so errors name the offending path.
 */
import { PRESETS, presetSpec, program, resolveSpec, SpecError, type Arch, type Preset, type ResolvedSpec } from '../../src/index.js';

export type AlphaMode = 'alpha' | 'gamma';

export interface Controls {
  preset: string;
  depth: number;
  alpha: number;
  gamma: number;
  alphaMode: AlphaMode;
}

export interface PresetCaps {
  preset: Preset;
  /** The preset has an α parameter. */
  alpha: boolean;
  /** The preset has a γ parameter (α = alpha0·L^(−γ)). */
  gamma: boolean;
  /** α and γ are alternatives (give exactly one). */
  either: boolean;
}

export function presetCaps(name: string): PresetCaps {
  const preset = PRESETS.find((p) => p.name === name);
  if (!preset) throw new Error(`unknown preset "${name}"`);
  const alpha = 'alpha' in preset.params;
  const gamma = 'gamma' in preset.params;
  const either = alpha && gamma && Boolean(preset.params.alpha?.optional) && Boolean(preset.params.gamma?.optional);
  return { preset, alpha, gamma, either };
}

/** The preset reference the controls describe, e.g. "huang2020:depth=7,gamma=0.5". */
export function presetRef(c: Controls): string {
  const caps = presetCaps(c.preset);
  const parts = [`depth=${c.depth}`];
  if (caps.either) parts.push(c.alphaMode === 'alpha' ? `alpha=${c.alpha}` : `gamma=${c.gamma}`);
  else {
    if (caps.alpha) parts.push(`alpha=${c.alpha}`);
    if (caps.gamma) parts.push(`gamma=${c.gamma}`);
  }
  return `${c.preset}:${parts.join(',')}`;
}

/** The spec (as JSON text) that a preset reference stands for. */
export function presetJson(c: Controls): string {
  const ref = presetRef(c);
  const [name, rest] = ref.split(':') as [string, string];
  const params: Record<string, unknown> = {};
  for (const kv of rest.split(',')) {
    const [k, v] = kv.split('=') as [string, string];
    params[k] = Number(v);
  }
  return JSON.stringify(presetSpec(name, params), null, 2);
}

export type SpecCheck = { ok: true; spec: ResolvedSpec } | { ok: false; path: string; message: string };

/** Parses and validates JSON spec text; an error names the JSON path (or the parse position). */
export function checkSpecText(text: string): SpecCheck {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, path: '(JSON syntax)', message: e instanceof Error ? e.message : String(e) };
  }
  try {
    const spec = resolveSpec(value);
    program(spec); // compiles: catches what only the compiler sees
    return { ok: true, spec };
  } catch (e) {
    if (e instanceof SpecError) return { ok: false, path: e.path || '(spec)', message: e.problem };
    return { ok: false, path: '(spec)', message: e instanceof Error ? e.message : String(e) };
  }
}

/** A short label of an arch for reports. */
export function archLabel(arch: Arch): string {
  return typeof arch === 'string' ? arch : `custom spec${'name' in arch && arch.name ? ` "${String(arch.name)}"` : ''}`;
}

/** Layers of the network, for entries × layers per second: the last entry of its depth sweep (≥ 1). */
export function layersOf(arch: Arch): number {
  const d = program(arch).depths;
  return Math.max(1, d[d.length - 1] ?? 1);
}

// ---- depth on a logarithmic slider ----

/** Largest depth the controls offer. */
export const MAX_DEPTH = 10_000;

/**
 * The depths the slider steps through: every integer up to 16, then about 40 per decade up to
 * MAX_DEPTH, so that each arrow-key press changes the depth and the whole range fits one slider.
 */
export const DEPTH_STOPS: readonly number[] = (() => {
  const s = new Set<number>();
  for (let d = 1; d <= 16; d++) s.add(d);
  const steps = 160;
  for (let k = 0; k <= steps; k++) s.add(Math.round(10 ** ((Math.log10(MAX_DEPTH) * k) / steps)));
  return [...s].filter((d) => d >= 1 && d <= MAX_DEPTH).sort((a, b) => a - b);
})();

/** Slider position of a depth: the stop nearest to it on a log scale. */
export function depthToStop(depth: number): number {
  let best = 0;
  for (let i = 1; i < DEPTH_STOPS.length; i++) {
    if (Math.abs(Math.log(DEPTH_STOPS[i]!) - Math.log(depth)) < Math.abs(Math.log(DEPTH_STOPS[best]!) - Math.log(depth))) best = i;
  }
  return best;
}

/**
 * Depths at which κ is drawn: every depth from `first` to L when there are at most `points` of
 * them, else `points` log-spaced ones (rounded, distinct; `first` and L included).
 */
export function sweepDepths(L: number, first = 1, points = 20): number[] {
  const lo = Math.min(first, L);
  if (L - lo + 1 <= points) return Array.from({ length: L - lo + 1 }, (_, i) => lo + i);
  const a = Math.max(lo, 1);
  const s = new Set<number>([lo]);
  for (let k = 0; k < points; k++) s.add(Math.round(a * (L / a) ** (k / (points - 1))));
  s.add(L);
  return [...s].sort((x, y) => x - y);
}

// ---- the sliders applied to a custom spec ----

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where the sliders act in a spec (JSON as written, before defaults). */
export interface SpecKnobs {
  /** The depth loop (the last top-level repeat or DenseNet block, as the compiler defines it), or null. */
  loop: { index: number; type: 'repeat' | 'denseBlock' } | null;
  /** Depth L = the last entry of the spec's depth sweep: sweepStart + count (repeat) or + depth (denseBlock). */
  depth: number | null;
  /** The smallest depth the loop can be set to: sweepStart (a repeat may run 0 times), sweepStart + 1 (a DenseNet block). */
  minDepth: number;
  /** Residual layers anywhere in layers/readout (inside repeats and branches too). */
  residuals: number;
  /** The first residual layer's scale: constant α or α = alpha0·L^(−γ). */
  alphaMode: AlphaMode | null;
  alpha: number | null;
  gamma: number | null;
}

function residualLayers(layers: unknown, out: Json[] = []): Json[] {
  if (!Array.isArray(layers)) return out;
  for (const l of layers) {
    if (!isObj(l)) continue;
    if (l.type === 'residual') {
      out.push(l);
      residualLayers(l.branch, out);
    } else if (l.type === 'repeat') residualLayers(l.layers, out);
  }
  return out;
}

/** What the depth, α and γ sliders control in a spec. */
export function specKnobs(spec: unknown): SpecKnobs {
  const s = isObj(spec) ? spec : {};
  const layers = Array.isArray(s.layers) ? s.layers : [];
  let loop: SpecKnobs['loop'] = null;
  layers.forEach((l, index) => {
    if (isObj(l) && (l.type === 'repeat' || l.type === 'denseBlock')) loop = { index, type: l.type };
  });
  const start = typeof s.sweepStart === 'number' ? s.sweepStart : 0;
  let depth: number | null = null;
  if (loop) {
    const l = layers[(loop as { index: number }).index] as Json;
    const c = (loop as { type: string }).type === 'repeat' ? l.count : l.depth;
    if (typeof c === 'number') depth = start + c;
  }
  const res = [...residualLayers(s.layers), ...residualLayers(s.readout)];
  const first = res[0];
  const alphaMode: AlphaMode | null = !first ? null : typeof first.alpha === 'number' ? 'alpha' : 'gamma';
  return {
    loop,
    depth,
    minDepth: start + ((loop as { type: string } | null)?.type === 'denseBlock' ? 1 : 0),
    residuals: res.length,
    alphaMode,
    alpha: first && typeof first.alpha === 'number' ? first.alpha : null,
    gamma: first && typeof first.gamma === 'number' ? first.gamma : null,
  };
}

/** A slider change, applied to a spec. */
export type Knob = { depth: number } | { alpha: number } | { gamma: number };

/**
 * The spec with one slider's value applied, everything else unchanged (a deep copy):
 * depth L sets the depth loop's count (repeat) or depth (DenseNet block) so that the last sweep
 * entry is L, i.e. count = L − sweepStart (at least 0, or 1 for a DenseNet block); α sets every
 * residual layer to the constant α; γ sets every residual layer to α = alpha0·L^(−γ) (alpha0 kept
 * where given). A spec without a depth loop (or without residual layers) is returned unchanged.
 */
export function applyKnob(spec: unknown, knob: Knob): unknown {
  const out = structuredClone(spec) as Json;
  if (!isObj(out)) return out;
  if ('depth' in knob) {
    const k = specKnobs(out);
    if (!k.loop) return out;
    const start = typeof out.sweepStart === 'number' ? out.sweepStart : 0;
    const l = (out.layers as Json[])[k.loop.index]!;
    if (k.loop.type === 'repeat') l.count = Math.max(0, knob.depth - start);
    else l.depth = Math.max(1, knob.depth - start);
    return out;
  }
  const rewrite = (layers: unknown): void => {
    if (!Array.isArray(layers)) return;
    layers.forEach((l, i) => {
      if (!isObj(l)) return;
      if (l.type === 'residual') {
        const { type, alpha: _a, alpha0, gamma: _g, ...rest } = l;
        layers[i] = 'alpha' in knob
          ? { type, alpha: knob.alpha, ...rest }
          : { type, ...(alpha0 !== undefined ? { alpha0 } : {}), gamma: knob.gamma, ...rest };
        rewrite((layers[i] as Json).branch);
      } else if (l.type === 'repeat') rewrite(l.layers);
    });
  };
  rewrite(out.layers);
  rewrite(out.readout);
  return out;
}

/**
 * The spec with every residual scale α = alpha0·L^(−γ) replaced by its value for this network
 * (L = its number of residual blocks): truncating the depth loop then keeps α, so the truncated
 * spec with t blocks is entry t of the full network's depth sweep.
 */
export function fixResidualScale(spec: unknown, residualBlocks: number): unknown {
  const out = structuredClone(spec);
  const fix = (layers: unknown): void => {
    if (!Array.isArray(layers)) return;
    layers.forEach((l, i) => {
      if (!isObj(l)) return;
      if (l.type === 'residual') {
        if (typeof l.gamma === 'number') {
          const { type, alpha0, gamma, alpha: _a, ...rest } = l;
          const a0 = typeof alpha0 === 'number' ? alpha0 : 1;
          layers[i] = { type, alpha: a0 * Math.max(1, residualBlocks) ** -gamma, ...rest };
        }
        fix((layers[i] as Json).branch);
      } else if (l.type === 'repeat') fix(l.layers);
    });
  };
  if (isObj(out)) {
    fix(out.layers);
    fix(out.readout);
  }
  return out;
}
