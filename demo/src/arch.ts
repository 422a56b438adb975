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
