/**
 * The papers' models as ordinary specs. Each preset's kernel recursion is pinned (see README and
 * test/presets.test.ts, which checks every preset against its formula written out by hand).
 *
 * A preset reference is `name` or `name:key=value,key=value`, e.g. `huang2020:depth=50,gamma=0.75`.
 */
import { InputError, SpecError } from '../errors.js';
import { jsValue } from '../jsvalue.js';
import type { Layer, Spec } from './types.js';
import { MAX_COUNT } from './validate.js';

type ParamKind = 'depth' | 'number' | 'positive' | 'nonNegative' | 'boolean' | 'choice';

interface ParamDef {
  kind: ParamKind;
  /** Default value; absent means required (unless `optional`). */
  default?: number | boolean | string;
  /** May be left out (e.g. one of alpha | gamma). */
  optional?: boolean;
  choices?: readonly string[];
  /** Smallest allowed depth (default 1). */
  min?: number;
  doc: string;
}

export type PresetParams = Record<string, number | boolean | string>;

export interface Preset {
  name: string;
  title: string;
  citation: string;
  /** arXiv identifier(s); where the citation names several papers, each id says whose it is. */
  arxiv: string;
  /** The model and its parametrisation, in words, including which parameters only enter as a product. */
  model: string;
  params: Record<string, ParamDef>;
  build(p: PresetParams): Spec;
}

const dense = (weightVar: number, biasVar = 0, trainable = true): Layer => ({
  type: 'dense',
  weightVar,
  biasVar,
  trainable,
});
const relu: Layer = { type: 'relu' };
/** A bias-free trained conv layer. */
const conv = (weightVar: number, filter: number, padding: 'zero' | 'circular'): Layer => ({
  type: 'conv',
  filter,
  padding,
  weightVar,
  biasVar: 0,
  trainable: true,
});
/** The readout (eq, flatten or gap) fused with its trained dense layer. */
const spatialReadout = (type: string, weightVar: number): Layer => ({ type: type as 'eq' | 'flatten' | 'gap', weightVar, biasVar: 0, trainable: true });
const readoutParam = (def: string): ParamDef => ({
  kind: 'choice',
  default: def,
  choices: def === 'gap' ? ['gap', 'flatten', 'eq'] : ['eq', 'gap', 'flatten'],
  doc: 'readout: gap (global average pooling), flatten (mean over pixels of the diagonal) or eq (pixel 0)',
});
const padParam = (def: 'zero' | 'circular'): ParamDef => ({
  kind: 'choice',
  default: def,
  choices: def === 'zero' ? ['zero', 'circular'] : ['circular', 'zero'],
  doc: 'conv padding: zero (out-of-image pixels read 0) or circular (indices wrap around)',
});
const filterParam: ParamDef = { kind: 'positive', default: 3, doc: 'odd filter width q per spatial axis' };

/** α as a residual-block field: a constant, or alpha0·L^(−gamma). */
function alphaOf(p: PresetParams, where: string): { alpha: number } | { alpha0: number; gamma: number } {
  const hasAlpha = p.alpha !== undefined;
  const hasGamma = p.gamma !== undefined;
  if (hasAlpha === hasGamma) {
    throw new SpecError(where, 'give exactly one of alpha=<constant> or gamma=<exponent> (α = alpha0·L^(−gamma))');
  }
  if (hasAlpha) {
    if (p.alpha0 !== undefined) throw new SpecError(where, 'alpha0 goes with gamma, not with alpha');
    return { alpha: p.alpha as number };
  }
  return { alpha0: (p.alpha0 as number | undefined) ?? 1, gamma: p.gamma as number };
}

const depth = (doc = 'number of hidden layers / blocks L'): ParamDef => ({ kind: 'depth', doc });
const alpha0Param: ParamDef = { kind: 'number', optional: true, doc: 'prefactor of α = alpha0·L^(−gamma) (default 1)' };
const alphaParams: Record<string, ParamDef> = {
  alpha: { kind: 'number', optional: true, doc: 'constant residual scale α' },
  gamma: { kind: 'number', optional: true, doc: 'α = alpha0·L^(−gamma) (give alpha or gamma)' },
};

function huangSpec(p: PresetParams, name: string, normalize: boolean): Spec {
  const L = p.depth as number;
  return {
    name,
    inputScale: 'none',
    layers: [
      dense(1, 0, false),
      {
        type: 'repeat',
        count: L,
        layers: [{ type: 'residual', ...alphaOf(p, name), branch: [dense(2), relu, dense(1)] }],
      },
    ],
    readout: [dense(1, 0, false)],
    ...(normalize ? { normalize: 'diagonal' as const } : {}),
  };
}

/** The fully connected presets. */
export const FC_PRESETS: readonly Preset[] = [
  {
    name: 'arora2019',
    title: 'Fully connected ReLU NTK',
    citation: 'Arora, Du, Hu, Li, Salakhutdinov, Wang. On Exact Computation with an Infinitely Wide Neural Net. NeurIPS 2019',
    arxiv: '1904.11955',
    model:
      'L ReLU hidden layers, c_σ = 2, no biases, all layers trained, raw inputs: Σ0 = x·z, Θ0 = Σ0; ' +
      'Σh = √(Σxx Σzz)·κ1(ρ), Θh = Θ(h−1)·κ0(ρ) + Σh. NNGP = ΣL, NTK = ΘL; unit inputs give NTK(x,x) = L+1. ' +
      'Spec: dense(1) then L × [relu, dense(2)]. Depth sweep entry t is the network with t hidden layers.',
    params: { depth: depth() },
    build: (p) => ({
      name: 'arora2019',
      inputScale: 'none',
      layers: [dense(1), { type: 'repeat', count: p.depth as number, layers: [relu, dense(2)] }],
    }),
  },
  {
    name: 'jacot2018',
    title: 'NTK of a ReLU MLP with σ_w = 1 and bias β',
    citation: 'Jacot, Gabriel, Hongler. Neural Tangent Kernel: Convergence and Generalization in Neural Networks. NeurIPS 2018',
    arxiv: '1806.07572',
    model:
      'Σ1 = x·z/d + β², Θ1 = Σ1; for l = 1..L: Σ(l+1) = ½√(..)·κ1 + β², Θ(l+1) = Θl·½κ0 + Σ(l+1). ' +
      'NNGP = Σ(L+1), NTK = Θ(L+1). All layers trained, weight variance 1. ' +
      'Spec: input/d, dense(1, β²) then L × [relu, dense(1, β²)].',
    params: {
      depth: depth('number of hidden ReLU layers L'),
      beta: { kind: 'nonNegative', default: 0.1, doc: 'bias standard deviation β' },
    },
    build: (p) => {
      const b2 = (p.beta as number) ** 2;
      return {
        name: 'jacot2018',
        inputScale: 'dim',
        layers: [dense(1, b2), { type: 'repeat', count: p.depth as number, layers: [relu, dense(1, b2)] }],
      };
    },
  },
  {
    name: 'hayou2019',
    title: 'ReLU MLP with (σ_w², σ_b²), edge of chaos at (2, 0)',
    citation: 'Hayou, Doucet, Rousseau. Exact Convergence Rates of the Neural Tangent Kernel in the Large Depth Limit. 2019',
    arxiv: '1905.13654',
    model:
      'L layers: q1 = σw²·x·z/d + σb², K1 = q1; for l = 2..L: q_l = σb² + σw²·½√(..)·κ1, ' +
      'K_l = K(l−1)·σw²·½κ0 + q_l. NNGP = qL, NTK = KL. Without bias σw² is a global factor (σw²/2)^L. ' +
      'Spec: input/d, dense(σw², σb²) then (L−1) × [relu, dense(σw², σb²)]; sweep entry t has t+1 layers.',
    params: {
      depth: { kind: 'depth', doc: 'number of layers L ≥ 1' },
      sigmaW2: { kind: 'positive', default: 2, doc: 'weight variance σ_w²' },
      sigmaB2: { kind: 'nonNegative', default: 0, doc: 'bias variance σ_b²' },
    },
    build: (p) => {
      const w = p.sigmaW2 as number;
      const b = p.sigmaB2 as number;
      return {
        name: 'hayou2019',
        inputScale: 'dim',
        sweepStart: 1,
        layers: [dense(w, b), { type: 'repeat', count: (p.depth as number) - 1, layers: [relu, dense(w, b)] }],
      };
    },
  },
  {
    name: 'huang2020',
    title: 'ResNet NTK with α = L^(−γ), stem and readout frozen',
    citation:
      'Huang, Wang, Tao, Zhao. Why Do Deep Residual Networks Generalize Better than Deep Feedforward Networks? A Neural Tangent Kernel Perspective. NeurIPS 2020',
    arxiv: '2002.06262',
    model:
      'x0 = A·x (A fixed), x_l = x(l−1) + α·√(1/m)·V_l·relu(√(2/m)·W_l·x(l−1)), f = v·x_L (v fixed). With a = α²: ' +
      'K0 = x·z, Θ0 = 0; K_l = K(l−1) + a·√(..)·κ1, Θ_l = Θ(l−1)·(1 + a·κ0) + a·(√(..)·κ1 + K(l−1)·κ0). ' +
      'NNGP = KL, NTK = ΘL; unit inputs give Θ_L(x,x) = 2La(1+a)^(L−1). α = alpha0·L^(−γ) when gamma is given (alpha0 = 1 by default). ' +
      'depth=inf (gamma ≥ ½): the limit L → ∞ (exec/limit.ts); for gamma > ½ only the NNGP (x·z) has one.',
    params: { depth: depth('number of residual blocks L, or inf for the limit L → ∞ (gamma ≥ ½)'), ...alphaParams, alpha0: alpha0Param },
    build: (p) => huangSpec(p, 'huang2020', false),
  },
  {
    name: 'belfer2021',
    title: 'Huang et al.’s ResNTK normalised to 1 on the unit sphere',
    citation: 'Belfer, Geifman, Galun, Basri. Spectral Analysis of the Neural Tangent Kernel for Deep Residual Networks. JMLR 2024',
    arxiv: '2104.03093',
    model:
      'huang2020 with normalize = diagonal: NNGP = K_L/(1+a)^L, NTK = Θ_L/(2La(1+a)^(L−1)), the values of the ' +
      'unnormalised kernels for a unit input paired with itself. depth=inf: gamma > ½ gives NNGP x·z and the two-layer ' +
      'NTK ½|x||z|(κ1(ρ) + ρκ0(ρ)); gamma = ½ the solution of an ODE in depth-time (exec/limit.ts).',
    params: { depth: depth('number of residual blocks L, or inf for the limit L → ∞ (gamma ≥ ½)'), ...alphaParams, alpha0: alpha0Param },
    build: (p) => huangSpec(p, 'belfer2021', true),
  },
  {
    name: 'tirer2021',
    title: 'ResNet with all layers trained (Tirer, Bruna, Giryes)',
    citation: 'Tirer, Bruna, Giryes. Kernel-Based Smoothness Analysis of Residual Networks. MSML 2021',
    arxiv: '2009.10008',
    model:
      'h1 = W0·x/√d, L blocks h ← h + α·V·relu(W·h) with σw² = σv² = 1, trained readout. With a = α²/2: ' +
      'K1 = x·z/d, Θ1 = K1; K ← K + a·√(..)·κ1, Θ ← Θ·(1 + a·κ0) + a·(√(..)·κ1 + K_old·κ0); NNGP = K, NTK = Θ + K.',
    params: {
      depth: { kind: 'depth', default: 5, doc: 'number of residual blocks L' },
      alpha: { kind: 'number', default: 0.1, doc: 'residual scale α' },
    },
    build: (p) => ({
      name: 'tirer2021',
      inputScale: 'dim',
      layers: [
        dense(1),
        {
          type: 'repeat',
          count: p.depth as number,
          layers: [{ type: 'residual', alpha: p.alpha as number, branch: [dense(1), relu, dense(1)] }],
        },
      ],
      readout: [dense(1)],
    }),
  },
  {
    name: 'resnet',
    title: 'General fully connected ResNet (the form behind huang2020, belfer2021, tirer2021)',
    citation: 'Littwin, Wolf. Residual Tangent Kernels. 2020; Barzilai, Geifman, Galun, Basri. A Kernel Perspective of Skip Connections in Convolutional Networks. ICLR 2023',
    arxiv: '2001.10460 (Littwin & Wolf), 2211.14810 (Barzilai et al.)',
    model:
      'h0 = √(1/d)·A·x, h_l = h(l−1) + α·√(cv2/n)·V_l·relu(√(cw2/n)·W_l·h(l−1)), f = v·h_L/√n. ' +
      'Only the product α²·cv2·cw2 enters the kernel (a = α²·cv2·cw2/2 in the recursion).',
    params: {
      depth: depth('number of residual blocks L'),
      ...alphaParams,
      alpha0: alpha0Param,
      cw2: { kind: 'positive', default: 2, doc: 'inner weight variance c_w²' },
      cv2: { kind: 'positive', default: 1, doc: 'outer weight variance c_v²' },
      trainStem: { kind: 'boolean', default: true, doc: 'train the stem A' },
      trainReadout: { kind: 'boolean', default: true, doc: 'train the readout v' },
    },
    build: (p) => ({
      name: 'resnet',
      inputScale: 'dim',
      layers: [
        dense(1, 0, p.trainStem as boolean),
        {
          type: 'repeat',
          count: p.depth as number,
          layers: [
            {
              type: 'residual',
              ...alphaOf(p, 'resnet'),
              branch: [dense(p.cw2 as number), relu, dense(p.cv2 as number)],
            },
          ],
        },
      ],
      readout: [dense(1, 0, p.trainReadout as boolean)],
    }),
  },
  {
    name: 'densenet',
    title: 'DenseNet (Littwin & Wolf’s setting), all layers trained',
    citation: 'Littwin, Wolf. Residual Tangent Kernels (On Random Kernels of Residual Architectures). 2020',
    arxiv: '2001.10460',
    model:
      'h0 = √(1/d)·A·x, h_l = √(cw2/(l·n))·W_l·[relu(h0); …; relu(h(l−1))] ("mean"; "sum" drops the 1/l), ' +
      'f = v·h_L/√n. K_l = (1/l)·Σ(k<l) cw2·S_k, Θ_l = (1/l)·Σ(k<l) (cw2·S_k + cw2·Ṡ_k·Θ_k), Θ0 = K0 = x·z/d; ' +
      'NNGP = K_L, NTK = K_L + Θ_L. Unit-scaled inputs: NTK(x,x) = 2 + H_L.',
    params: {
      depth: depth('number of DenseNet layers L'),
      cw2: { kind: 'positive', default: 2, doc: 'weight variance c_w²' },
      concat: { kind: 'choice', default: 'mean', choices: ['mean', 'sum'], doc: 'normalise the concatenation by the number of blocks (mean) or not (sum)' },
    },
    build: (p) => ({
      name: 'densenet',
      inputScale: 'dim',
      layers: [
        dense(1),
        {
          type: 'denseBlock',
          depth: p.depth as number,
          concat: p.concat as 'mean' | 'sum',
          activation: { type: 'relu' },
          weightVar: p.cw2 as number,
        },
      ],
      readout: [dense(1)],
    }),
  },
  {
    name: 'mlp',
    title: 'ReLU MLP in the NTK parametrisation, all layers trained',
    citation: 'Jacot, Gabriel, Hongler 2018; Lee, Bahri, Novak, Schoenholz, Pennington, Sohl-Dickstein. Deep Neural Networks as Gaussian Processes. ICLR 2018',
    arxiv: '1711.00165',
    model:
      'h0 = √(1/d)·A·x + √cb2·b ("dim"; "none" drops the 1/d), h_l = √(cw2/n)·W_l·relu(h(l−1)) + √cb2·b_l, f = h_L. ' +
      'Without bias cw2 is a global factor (cw2/2)^L.',
    params: {
      depth: depth('number of hidden ReLU layers L'),
      cw2: { kind: 'positive', default: 2, doc: 'weight variance c_w²' },
      cb2: { kind: 'nonNegative', default: 0, doc: 'bias variance c_b²' },
      inputScale: { kind: 'choice', default: 'dim', choices: ['dim', 'none'], doc: 'divide the input Gram by d or not' },
    },
    build: (p) => {
      const w = p.cw2 as number;
      const b = p.cb2 as number;
      return {
        name: 'mlp',
        inputScale: p.inputScale as 'dim' | 'none',
        layers: [dense(1, b), { type: 'repeat', count: p.depth as number, layers: [relu, dense(w, b)] }],
      };
    },
  },
];

/**
 * The convolutional presets (spatial specs: their input is images [N, C, H, W] or signals
 * [N, C, P]). Every conv uses the NTK parametrisation h = √(σ²/(C_in·q^D))·W∗g, and the input
 * covariance is K0[i, j] = x[:, i]·z[:, j]/C per pixel pair (inputScale "dim").
 */
export const CONV_PRESETS: readonly Preset[] = [
  {
    name: 'cntk',
    title: 'Convolutional NTK (CNTK) of a vanilla ReLU CNN, all layers trained',
    citation: 'Arora, Du, Hu, Li, Salakhutdinov, Wang. On Exact Computation with an Infinitely Wide Neural Net. NeurIPS 2019',
    arxiv: '1904.11955',
    model:
      'h1 = conv_{σ²=1}(x), h_l = conv_{σ²=2}(relu(h(l−1))) for l = 2..L (q^D filter, no bias, trained), ' +
      'f = readout_{σ²=2}(relu(h_L)), trained; readout gap: R(K) = mean over all pixel pairs, flatten: mean of the diagonal, eq: pixel 0. ' +
      'Per pixel pair: K0 = x_i·z_j/C, Θ0 = 0; conv K ← σ²·S(K), Θ ← σ²·S(Θ) + K (S the mean over the q^D filter shifts); ' +
      'relu K ← √(kx kz)·κ1(ρ)/2, Θ ← Θ·κ0(ρ)/2; NNGP = 2·R(K), NTK = 2·R(Θ) + NNGP. Without bias the weight variances only ' +
      'enter as their product with the ReLU factors ½ (here 1·2^(L−1)·2·2^(−L) = 1: He scaling), so the diagonal stays at the input scale. ' +
      'Relation to Arora et al.’s released code (github.com/ruosongwang/CNTK), with the same layers trained: its GAP value is C × ours and ' +
      'its "vanilla" value C·P × ours (C channels, P pixels), because it omits the 1/C of the input covariance and sums the diagonal ' +
      'instead of averaging it. Depth sweep entry t is the network with t conv layers.',
    params: {
      depth: depth('number of conv layers L'),
      readout: readoutParam('gap'),
      pad: padParam('zero'),
      filter: filterParam,
    },
    build: (p) => {
      const q = p.filter as number;
      const pad = p.pad as 'zero' | 'circular';
      return {
        name: 'cntk',
        inputScale: 'dim',
        sweepStart: 1,
        layers: [conv(1, q, pad), relu, { type: 'repeat', count: (p.depth as number) - 1, layers: [conv(2, q, pad), relu] }],
        readout: [spatialReadout(p.readout as string, 2)],
      };
    },
  },
  {
    name: 'rescnn',
    title: 'Convolutional ResNet kernel (ResCNTK): stem conv, L residual conv blocks, trained readout',
    citation: 'Barzilai, Geifman, Galun, Basri. A Kernel Perspective of Skip Connections in Convolutional Networks. ICLR 2023',
    arxiv: '2211.14810',
    model:
      'h0 = conv_{σ²=1}(x) (stem, trained), L blocks h ← β·h + α·conv_{σ²=1}(relu(conv_{σ²=2}(h))) (no bias, trained), ' +
      'f = readout_{σ²=1}(h_L), trained (eq: pixel 0; gap; flatten). Per pixel pair: K ← β²K + α²K_B, Θ ← β²Θ + α²Θ_B, the branch ' +
      'kernels from the conv and ReLU maps of cntk. α = alpha0·L^(−gamma) when gamma is given. Only products enter: a block adds ' +
      'α²·(1·2/2)·√(kx kz)κ1 = α²·√(kx kz)κ1 (the inner σ² = 2 cancels the ReLU ½), so α² and the branch variances act as one factor; ' +
      'the kernels grow like (β² + α²)^L. The paper’s own constants could not be read; this is the conv analogue of Belfer et al.’s ' +
      'block (docs: wave2.md §1.1). Depth sweep entry t is the network with t blocks.',
    params: {
      depth: depth('number of residual blocks L'),
      ...alphaParams,
      alpha0: alpha0Param,
      beta: { kind: 'number', default: 1, doc: 'skip gain β' },
      readout: readoutParam('eq'),
      pad: padParam('circular'),
      filter: filterParam,
    },
    build: (p) => {
      const q = p.filter as number;
      const pad = p.pad as 'zero' | 'circular';
      return {
        name: 'rescnn',
        inputScale: 'dim',
        layers: [
          conv(1, q, pad),
          {
            type: 'repeat',
            count: p.depth as number,
            layers: [
              {
                type: 'residual',
                ...alphaOf(p, 'rescnn'),
                beta: p.beta as number,
                branch: [conv(2, q, pad), relu, conv(1, q, pad)],
              },
            ],
          },
        ],
        readout: [spatialReadout(p.readout as string, 1)],
      };
    },
  },
];

/** Every preset: the fully connected ones, then the convolutional ones. */
export const PRESETS: readonly Preset[] = [...FC_PRESETS, ...CONV_PRESETS];

export function findPreset(name: string): Preset {
  const p = PRESETS.find((q) => q.name === name);
  if (!p) {
    throw new InputError(`unknown preset ${quote(name)} (known: ${PRESETS.map((q) => q.name).join(', ')})`);
  }
  return p;
}

/** Checks and completes preset parameters (defaults filled in). */
export function presetParams(preset: Preset, given: Record<string, unknown>): PresetParams {
  const out: PresetParams = {};
  for (const key of Object.keys(given)) {
    // Own keys only: "constructor" or "toString" are not parameters of any preset.
    if (!Object.hasOwn(preset.params, key)) {
      throw new InputError(
        `${preset.name}: unknown parameter ${quote(key)} (known: ${Object.keys(preset.params).join(', ')})`,
      );
    }
  }
  for (const [key, def] of Object.entries(preset.params)) {
    const v = given[key];
    if (v === undefined) {
      if (def.default !== undefined) out[key] = def.default;
      else if (!def.optional) throw new InputError(`${preset.name}: missing parameter "${key}" (${def.doc})`);
      continue;
    }
    out[key] = checkParam(preset.name, key, def, v);
  }
  return out;
}

/** Text or a value for an error message: JSON-quoted, one line, at most 80 characters. */
const quote = jsValue;


function checkParam(preset: string, key: string, def: ParamDef, v: unknown): number | boolean | string {
  const shown = jsValue(v);
  const bad = (what: string) => new InputError(`${preset}: ${key} must be ${what}, got ${shown}`);
  switch (def.kind) {
    case 'boolean':
      if (typeof v !== 'boolean') throw bad('true or false');
      return v;
    case 'choice':
      if (typeof v !== 'string' || !def.choices!.includes(v)) throw bad(`one of ${def.choices!.join(', ')}`);
      return v;
    default: {
      if (def.kind === 'depth' && v === Infinity) throw infiniteDepthError(preset);
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad('a finite number');
      if (def.kind === 'depth' && (!Number.isInteger(v) || v < (def.min ?? 1))) throw bad(`an integer ≥ ${def.min ?? 1}`);
      if (def.kind === 'depth' && v > MAX_COUNT) throw bad(`at most ${MAX_COUNT}`);
      if (def.kind === 'positive' && !(v > 0)) throw bad('> 0');
      if (def.kind === 'nonNegative' && v < 0) throw bad('≥ 0');
      return v;
    }
  }
}

/** Builds a preset's spec from (unchecked) parameters. */
export function presetSpec(name: string, params: Record<string, unknown> = {}): Spec {
  const preset = findPreset(name);
  return preset.build(presetParams(preset, params));
}

/** Presets whose depth may be `inf` (the infinite-depth limit, `exec/limit.ts`). */
export const INFINITE_DEPTH_PRESETS = ['huang2020', 'belfer2021'] as const;
export type InfiniteDepthPreset = (typeof INFINITE_DEPTH_PRESETS)[number];

const isInfinitePreset = (name: string): name is InfiniteDepthPreset =>
  (INFINITE_DEPTH_PRESETS as readonly string[]).includes(name);

/** depth = ∞ given where a finite spec is needed: why it cannot be one, and where it can be computed. */
function infiniteDepthError(preset: string): InputError {
  return new InputError(
    isInfinitePreset(preset)
      ? `${preset}: depth=inf is the infinite-depth limit, which no finite spec represents: compute it with ` +
          'kernel(), kernelCpu(), kernelBlocks() or predict() on the preset reference, or `webntk gram`/`webntk predict` ' +
          '(toSpec, describe, program and `webntk spec` need a finite depth)'
      : `${preset}: depth=inf (the infinite-depth limit) is offered for ${INFINITE_DEPTH_PRESETS.join(' and ')} only; give a finite depth`,
  );
}

/** A preset reference with depth=inf, split into its preset and checked parameters (depth left out). */
export interface InfiniteDepthRef {
  preset: InfiniteDepthPreset;
  /** The reference as given. */
  ref: string;
  /** Exactly one of alpha (constant α) or gamma (α = alpha0·L^(−gamma)). */
  alpha?: number;
  gamma?: number;
  /** With gamma: the prefactor of α (default 1); the γ = ½ limit depends on c = alpha0². */
  alpha0?: number;
}

/**
 * `null` for every reference whose depth is not `inf`; otherwise its parameters, checked like a
 * finite reference's. depth=inf on a preset other than huang2020/belfer2021 is an InputError.
 * Whether the limit exists (gamma ≥ ½) is decided by `exec/limit.ts`.
 */
export function parseInfiniteDepthRef(ref: string): InfiniteDepthRef | null {
  if (typeof ref !== 'string') return null;
  const { name, params } = splitPresetRef(ref);
  if (params.depth !== Infinity) return null;
  const preset = findPreset(name);
  if (!isInfinitePreset(preset.name)) throw infiniteDepthError(preset.name);
  // Every other parameter is checked as for a finite depth (unknown keys, types, alpha | gamma).
  const checked = presetParams(preset, { ...params, depth: 1 });
  const hasAlpha = checked.alpha !== undefined;
  if (hasAlpha === (checked.gamma !== undefined)) {
    throw new SpecError(preset.name, 'give exactly one of alpha=<constant> or gamma=<exponent> (α = alpha0·L^(−gamma))');
  }
  if (hasAlpha) {
    if (checked.alpha0 !== undefined) throw new SpecError(preset.name, 'alpha0 goes with gamma, not with alpha');
    return { preset: preset.name, ref, alpha: checked.alpha as number };
  }
  return { preset: preset.name, ref, gamma: checked.gamma as number, ...(checked.alpha0 !== undefined ? { alpha0: checked.alpha0 as number } : {}) };
}

/** Parses `name` or `name:key=value,key=value` into a preset spec. */
export function parsePresetRef(ref: string): Spec {
  const { name, params } = splitPresetRef(ref);
  return presetSpec(name, params);
}

/** The preset reference `ref` with its `depth` parameter set to L (refused for a preset without one). */
export function presetRefAtDepth(ref: string, L: number): string {
  const { name, params } = splitPresetRef(ref);
  if (findPreset(name).params.depth === undefined) throw new InputError(`preset ${quote(name)} has no depth parameter to sweep`);
  const rest = Object.entries({ ...params, depth: L }).map(([k, v]) => `${k}=${String(v)}`);
  return `${name}:${rest.join(',')}`;
}

/** `name` and its raw parameters (values parsed, not checked). */
function splitPresetRef(ref: string): { name: string; params: Record<string, unknown> } {
  if (/^\s*[{[]/.test(ref)) {
    throw new InputError(
      `${quote(ref)} is not a preset reference ("name" or "name:key=value,..."): it looks like JSON text; pass the spec as an object (JSON.parse it first)`,
    );
  }
  const colon = ref.indexOf(':');
  const name = (colon < 0 ? ref : ref.slice(0, colon)).trim();
  // No prototype: a key such as "__proto__" or "constructor" is stored (and reported) like any other.
  const params: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (colon >= 0) {
    const rest = ref.slice(colon + 1).trim();
    if (rest.length > 0) {
      for (const part of rest.split(',')) {
        const eq = part.indexOf('=');
        if (eq <= 0) throw new InputError(`preset ${quote(name)}: expected key=value, got ${quote(part)}`);
        const key = part.slice(0, eq).trim();
        const raw = part.slice(eq + 1).trim();
        if (Object.hasOwn(params, key)) throw new InputError(`preset ${quote(name)}: parameter ${quote(key)} given twice`);
        params[key] = parseValue(raw);
      }
    }
  }
  return { name, params };
}

function parseValue(raw: string): number | boolean | string {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw !== '' && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) return Number(raw);
  if (/^[-+]?(inf|infinity)$/i.test(raw)) return raw.startsWith('-') ? -Infinity : Infinity;
  if (/^[-+]?nan$/i.test(raw)) return Number.NaN;
  return raw;
}
