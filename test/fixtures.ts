/** Custom specs shared by the tests: together they use every layer type and option. */
import { stax, type Spec } from '../src/index.js';

const { dense, relu, erf, leakyRelu, abRelu, arccos, residual, denseBlock, repeat, network } = stax;

export const CUSTOM: Record<string, Spec> = {
  /** erf with biases, input scaled by 1/d. */
  erfBias: network({ inputScale: 'dim' }, dense({ biasVar: 0.2 }), repeat(3, erf(), dense({ weightVar: 1.7, biasVar: 0.1 }))),
  /** LeakyReLU and ABReLU, frozen hidden and readout layers, raw inputs. */
  leakyFrozen: network(
    { inputScale: 'none', readout: [dense({ trainable: false })] },
    dense({ weightVar: 0.5 }),
    repeat(2, leakyRelu(0.2), dense({ weightVar: 1.9, trainable: false }), abRelu(-0.3, 1.1), dense({ weightVar: 1.2 })),
  ),
  /** Arc-cosine units of order 2, 1 and 0 (step). */
  arccos02: network(
    { inputScale: 'dim' },
    dense(),
    arccos(2),
    dense({ weightVar: 0.4 }),
    arccos(1),
    dense({ weightVar: 2 }),
    arccos(0),
    dense({ biasVar: 0.3 }),
  ),
  /** Residual blocks with α = alpha0·L^(−γ), skip gain β ≠ 1, and a branch with two nonlinearities. */
  residualBeta: network(
    { inputScale: 'dim', readout: [dense()] },
    dense(),
    repeat(3, residual([dense({ weightVar: 2 }), relu(), dense(), erf(), dense()], { gamma: 0.5, alpha0: 1.5, beta: 0.9 })),
  ),
  /** A residual inside a residual branch, then a DenseNet block with "sum" concatenation. */
  nested: network(
    { inputScale: 'dim', readout: [dense()] },
    dense(),
    repeat(2, residual([dense({ weightVar: 2 }), relu(), dense(), residual([dense(), erf(), dense()], { alpha: 0.5 })], { alpha: 0.8 })),
    denseBlock(2, { concat: 'sum', activation: leakyRelu(0.1), weightVar: 1.5, biasVar: 0.05 }),
  ),
  /** DenseNet with an ABReLU activation and a trained readout. */
  densenetAbRelu: network({ inputScale: 'dim', readout: [dense()] }, dense(), denseBlock(3, { activation: abRelu(0.2, 1.4), weightVar: 2 })),
  /** normalize: "diagonal" on a custom network with a frozen stem. */
  normalized: network(
    { inputScale: 'none', normalize: 'diagonal', readout: [dense({ trainable: false })] },
    dense({ trainable: false }),
    repeat(3, residual([dense({ weightVar: 2 }), relu(), dense()], { alpha: 0.7 })),
  ),
};
