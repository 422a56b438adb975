/**
 * The closed-form Gaussian expectations ("dual activations") in the plain ρ form. Every activation
 * is defined in src/activations/ (one entry each); this module keeps the names other modules use.
 */
export { correlation, kappa0, kappa1, kappa2 } from '../activations/rectifier-math.js';
export { dual } from '../activations/registry.js';
