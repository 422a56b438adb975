/**
 * Inputs and custom specs for the engine-against-reference tests (reference-interpreter.test.ts).
 *
 * Inputs: five rows in R⁴ with different norms (1.1 to 2.2, so the bias terms of the gap forms that
 * vanish for equal norms are live) and pairwise cosines between −0.71 and 0.87 (X×X and X×Z), so no
 * pair is a near-duplicate and the plain ρ form of the reference stays accurate.
 */
import type { Layer, Spec } from '../src/spec/types.js';

export const X: number[][] = [
  [0.9, -0.4, 0.3, 0.5],
  [0.2, 0.8, -0.6, 1.1],
  [-1.3, 0.1, 0.7, 0.4],
  [0.5, 0.6, 0.9, -0.2],
  [1.6, 0.9, 0.2, 1.2],
];
export const Z: number[][] = [
  [0.3, -0.9, 1.0, 0.1],
  [-0.4, 0.5, 0.2, 0.9],
  [1.1, 0.3, -0.5, 0.6],
];

const dense = (weightVar = 1, biasVar = 0, trainable = true): Layer => ({ type: 'dense', weightVar, biasVar, trainable });
const erf: Layer = { type: 'erf' };
const relu: Layer = { type: 'relu' };

/** The custom specs; each name says what it exercises. */
export const CUSTOM: Spec[] = [
  {
    name: 'biased erf ResNet',
    inputScale: 'dim',
    layers: [
      dense(1, 0.1),
      { type: 'repeat', count: 4, layers: [{ type: 'residual', alpha: 0.7, branch: [dense(1.5, 0.2), erf, dense(1.2, 0.3)] }] },
    ],
    readout: [dense(1, 0.05)],
  },
  {
    name: 'biased ReLU net',
    layers: [dense(1, 0.4), { type: 'repeat', count: 5, layers: [relu, dense(1.7, 0.4)] }],
  },
  {
    name: 'frozen layers',
    inputScale: 'dim',
    layers: [
      dense(1.2, 0.3, false),
      erf,
      dense(2, 0.1),
      { type: 'repeat', count: 3, layers: [relu, dense(1.5, 0.2, false), erf, dense(0.8, 0.5)] },
    ],
    readout: [dense(1, 0, false)],
  },
  {
    name: 'nested residual blocks, beta and alpha0/gamma',
    sweepStart: 2,
    layers: [
      dense(1, 0.2),
      {
        type: 'repeat',
        count: 3,
        layers: [
          {
            type: 'residual',
            alpha0: 1.3,
            gamma: 0.5,
            beta: 0.8,
            branch: [
              dense(2, 0.1),
              relu,
              dense(1, 0.3),
              { type: 'residual', alpha: 0.5, beta: 1.1, branch: [dense(1), erf, dense(1.5, 0.1)] },
              { type: 'residual', alpha0: 0.9, gamma: 1, branch: [{ type: 'repeat', count: 2, layers: [dense(1.1, 0.2), erf] }, dense(1)] },
            ],
          },
        ],
      },
    ],
    readout: [dense(1, 0.1)],
  },
  {
    name: 'DenseNet mean, biased erf',
    inputScale: 'dim',
    layers: [dense(1, 0.1), { type: 'denseBlock', depth: 5, concat: 'mean', activation: erf as { type: 'erf' }, weightVar: 1.8, biasVar: 0.2 }],
    readout: [dense(1, 0.1)],
  },
  {
    name: 'DenseNet sum, frozen, then a sweep repeat',
    layers: [
      dense(0.5, 0.2),
      { type: 'denseBlock', depth: 3, concat: 'sum', weightVar: 0.7, biasVar: 0.1, trainable: false },
      { type: 'repeat', count: 3, layers: [relu, dense(1.3, 0.2)] },
    ],
  },
  {
    name: 'DenseNet block inside a residual branch',
    inputScale: 'dim',
    layers: [
      dense(1, 0.1),
      {
        type: 'repeat',
        count: 2,
        layers: [{ type: 'residual', alpha: 0.6, beta: 0.9, branch: [{ type: 'denseBlock', depth: 3, concat: 'mean', biasVar: 0.3 }] }],
      },
    ],
  },
  {
    name: 'leakyRelu and abRelu',
    inputScale: 'dim',
    layers: [
      dense(1, 0.2),
      { type: 'leakyRelu', slope: 0.2 },
      dense(1.3, 0.1),
      { type: 'repeat', count: 3, layers: [{ type: 'abRelu', a: -0.4, b: 1.3 }, dense(1.1, 0.2)] },
    ],
  },
  {
    name: 'arccos orders 0 and 2',
    layers: [
      dense(1, 0.3),
      { type: 'arccos', order: 2 },
      dense(0.6, 0.1),
      { type: 'repeat', count: 3, layers: [{ type: 'arccos', order: 0 }, dense(1.2, 0.2), { type: 'arccos', order: 2 }, dense(0.9, 0.1)] },
    ],
  },
  {
    name: 'normalize diagonal, biased erf ResNet',
    normalize: 'diagonal',
    layers: [
      dense(1, 0.1),
      { type: 'repeat', count: 4, layers: [{ type: 'residual', gamma: 0.5, branch: [dense(1.5, 0.2), erf, dense(1.2, 0.3)] }] },
    ],
    readout: [dense(1, 0.05)],
  },
  {
    name: 'normalize diagonal, inputScale dim, frozen stem',
    normalize: 'diagonal',
    inputScale: 'dim',
    layers: [dense(1, 0, false), { type: 'repeat', count: 4, layers: [relu, dense(2, 0.2)] }],
  },
  {
    name: 'no sweep: a straight network with a top-level residual',
    layers: [dense(1.1, 0.2), erf, dense(1, 0.1), { type: 'residual', alpha: 1.2, beta: 0.7, branch: [dense(2), relu, dense(1, 0.2)] }],
    readout: [{ type: 'leakyRelu', slope: -0.3 }, dense(1, 0.1)],
  },
  {
    // A pair of one input with itself has ρ = 1 exactly; an erf that leaves 1 − ρ at 1e−17 instead of 0
    // shows as a 1e−9 error in the NTK diagonal after the relu (κ0 has slope ∞ at ρ = 1). Whether the
    // rounding leaves it nonzero depends on K(x,x): here it does for the last row of X. The cause (found
    // by this reference): the erf entry's gap form (src/activations/erf.ts) computes asin of w = √(uv) through the complement
    // (1 − uv)/(1 + w), which for u = v rounds differently from 1 − u, so AW ≠ AU and n1 ≈ 1e−17;
    // `const AW = kxx === kzz ? AU : asinComp(…)` makes every reference test pass.
    name: 'erf then relu: the diagonal keeps ρ = 1',
    inputScale: 'dim',
    layers: [dense(0.7, 0.05), erf, dense(2), relu, dense(1)],
  },
  {
    name: 'a plain repeat before the sweep loop',
    inputScale: 'dim',
    layers: [
      dense(1, 0.1),
      { type: 'repeat', count: 2, layers: [erf, dense(1.4, 0.2)] },
      { type: 'repeat', count: 3, layers: [{ type: 'residual', alpha: 0.4, branch: [relu, dense(2, 0.1)] }] },
    ],
  },
];

