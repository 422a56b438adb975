/**
 * The WebGPU form of a smooth activation known through φ and φ' (WGSL functions `NAME_phi`,
 * `NAME_dphi`): an instance of shaders/smooth_quadrature.wgsl, the f32 twin of quadrature.ts.
 */
import { SMOOTH_ACTIVATIONS_WGSL, SMOOTH_QUADRATURE_WGSL } from '../gpu/shaders.generated.js';
import type { WgslCall, WgslPointwise } from './entry.js';

/** The quadrature template's functions for the activation `name` (a WGSL identifier). */
export function smoothQuadratureWgsl(name: string): string {
  return SMOOTH_QUADRATURE_WGSL.replaceAll('ACTNAME', name);
}

/** The call `op_NAME(cur)` of a built-in of shaders/smooth_activations.wgsl (tanh, sigmoid, softplus). */
export function builtinSmoothCall(name: 'tanh' | 'sigmoid' | 'softplus'): WgslCall {
  return { fn: `op_${name}`, params: [], source: [SMOOTH_ACTIVATIONS_WGSL, smoothQuadratureWgsl(name)] };
}

/** φ and φ' of a built-in of shaders/smooth_activations.wgsl, for sampled networks on WebGPU. */
export function builtinSmoothPointwise(name: 'tanh' | 'sigmoid' | 'softplus'): WgslPointwise {
  return { phi: `${name}_phi(u)`, dphi: `${name}_dphi(u)`, source: [SMOOTH_ACTIVATIONS_WGSL] };
}
