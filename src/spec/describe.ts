/**
 * A one-paragraph description of the model a spec denotes (for `webntk spec`).
 */
import { countResidualBlocks, residualAlpha } from '../program/compile.js';
import { PRESETS } from './presets.js';
import { isSpatialSpec } from './validate.js';
import { describeActivation } from '../activations/registry.js';
import type { Activation, ResolvedLayer, ResolvedSpec } from './types.js';

const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(6).replace(/\.?0+$/, ''));

function act(a: Activation): string {
  return describeActivation(a);
}

function layers(ls: ResolvedLayer[], L: number): string {
  return ls.map((l) => layer(l, L)).join(', ');
}

function layer(l: ResolvedLayer, L: number): string {
  switch (l.type) {
    case 'dense':
      return `dense(σw² = ${num(l.weightVar)}${l.biasVar ? `, σb² = ${num(l.biasVar)}` : ''}${l.trainable ? '' : ', frozen'})`;
    case 'residual': {
      const a = residualAlpha(l, L);
      const alpha = l.alpha !== undefined ? `α = ${num(a)}` : `α = ${num(l.alpha0 ?? 1)}·L^(−${num(l.gamma ?? 0)}) = ${num(a)}`;
      return `residual h ↦ ${l.beta === 1 ? '' : `${num(l.beta)}·`}h + α·[${layers(l.branch, L)}] (${alpha})`;
    }
    case 'denseBlock':
      return `a DenseNet block of ${l.depth} layers (${act(l.activation)} of every earlier output, ${l.concat === 'mean' ? 'averaged' : 'summed'} concatenation, dense σw² = ${num(l.weightVar)}${l.trainable ? '' : ', frozen'})`;
    case 'repeat':
      return `${l.count} × [${layers(l.layers, L)}]`;
    case 'conv': {
      const f = Array.isArray(l.filter) ? l.filter.join('×') : `${l.filter}`;
      const st = Array.isArray(l.stride) ? l.stride.join('×') : `${l.stride}`;
      return `conv(filter ${f}${st !== '1' ? `, stride ${st}` : ''}, ${l.padding} padding, σw² = ${num(l.weightVar)}${l.biasVar ? `, σb² = ${num(l.biasVar)}` : ''}${l.trainable ? '' : ', frozen'})`;
    }
    case 'avgPool':
      return `avgPool(window ${Array.isArray(l.window) ? l.window.join('×') : l.window}, stride ${Array.isArray(l.stride) ? l.stride.join('×') : l.stride})`;
    case 'eq':
    case 'flatten':
    case 'gap':
      return `${l.type === 'eq' ? `output pixel ${l.pixel ? `(${l.pixel.join(', ')})` : '0'}` : l.type === 'gap' ? 'global average pool' : 'flatten'} → dense(σw² = ${num(l.weightVar)}${l.biasVar ? `, σb² = ${num(l.biasVar)}` : ''}${l.trainable ? '' : ', frozen'})`;
    default:
      return act(l);
  }
}

/** The layer-0 kernel: per input pair, or per pixel pair (i, j) of two images with C channels. */
function inputKernel(spec: ResolvedSpec): string {
  if (isSpatialSpec(spec)) return `per pixel pair x_i·z_j${spec.inputScale === 'dim' ? '/C' : ''} (C channels)`;
  return spec.inputScale === 'dim' ? 'x·z/d' : 'x·z';
}

export function describeSpec(spec: ResolvedSpec): string {
  const L = countResidualBlocks([...spec.layers, ...spec.readout]);
  const preset = PRESETS.find((p) => p.name === spec.name);
  const parts: string[] = [];
  if (preset) parts.push(`${preset.title} — ${preset.citation} (arXiv:${preset.arxiv}). ${preset.model}`);
  parts.push(
    `As a network: input kernel ${inputKernel(spec)}, then ${layers(spec.layers, L)}` +
      (spec.readout.length ? `, readout ${layers(spec.readout, L)}` : '') +
      '.',
  );
  if (L > 0) parts.push(`It has L = ${L} residual blocks.`);
  parts.push(
    'The NTK sums the gradient terms of the trainable layers (infinite width, NTK parametrisation); ' +
      (spec.normalize === 'diagonal'
        ? 'both kernels are divided by their value for an input with K₀(x, x) = 1, at every depth.'
        : 'kernels are not normalised.'),
  );
  return parts.join(' ');
}
