/**
 * The pinned preset formulas of issue #2, written out by hand for one input pair, independently of
 * the spec/program machinery. Tests compare the engine against these.
 */
export const k0 = (r: number) => (Math.PI - Math.acos(r)) / Math.PI;
export const k1 = (r: number) => (Math.sqrt(1 - r * r) + (Math.PI - Math.acos(r)) * r) / Math.PI;

export const dot = (x: number[], z: number[]) => x.reduce((s, v, i) => s + v * z[i]!, 0);

/** A symmetric NNGP-like state: cross value and the two diagonals. */
interface K3 {
  xz: number;
  xx: number;
  zz: number;
}
const rho = (k: K3) => Math.max(-1, Math.min(1, k.xz / Math.sqrt(k.xx * k.zz)));
const root = (k: K3) => Math.sqrt(k.xx * k.zz);
/**
 * Applies a cross-term update to all three entries: a diagonal is the pair (x, x). Using the same
 * arithmetic for both keeps ρ exactly 1 on the diagonal; any other rounding would put ρ one ulp
 * below 1, where acos has infinite slope (acos(1 − 2⁻⁵³) ≈ 1.5e−8).
 */
const each = (k: K3, f: (k: K3) => number): K3 => ({
  xz: f(k),
  xx: f({ xz: k.xx, xx: k.xx, zz: k.xx }),
  zz: f({ xz: k.zz, xx: k.zz, zz: k.zz }),
});
/** E[relu relu] of a state, all three entries. */
const reluS = (k: K3): K3 => each(k, (q) => 0.5 * root(q) * k1(rho(q)));
const lin = (k: K3, w: number, b: number): K3 => ({ xz: w * k.xz + b, xx: w * k.xx + b, zz: w * k.zz + b });

export type Pair = [nngp: number, ntk: number];

export function arora2019(x: number[], z: number[], L: number): Pair {
  let S: K3 = { xz: dot(x, z), xx: dot(x, x), zz: dot(z, z) };
  let T = S.xz;
  for (let h = 1; h <= L; h++) {
    const r = rho(S);
    const next = lin(reluS(S), 2, 0); // √(..)·κ1
    T = T * k0(r) + next.xz;
    S = next;
  }
  return [S.xz, T];
}

export function jacot2018(x: number[], z: number[], L: number, beta: number): Pair {
  const d = x.length;
  const b2 = beta * beta;
  let S: K3 = { xz: dot(x, z) / d + b2, xx: dot(x, x) / d + b2, zz: dot(z, z) / d + b2 };
  let T = S.xz;
  for (let l = 1; l <= L; l++) {
    const r = rho(S);
    const next = lin(reluS(S), 1, b2);
    T = T * 0.5 * k0(r) + next.xz;
    S = next;
  }
  return [S.xz, T];
}

export function hayou2019(x: number[], z: number[], L: number, w: number, b: number): Pair {
  const d = x.length;
  let q: K3 = { xz: (w * dot(x, z)) / d + b, xx: (w * dot(x, x)) / d + b, zz: (w * dot(z, z)) / d + b };
  let K = q.xz;
  for (let l = 2; l <= L; l++) {
    const r = rho(q);
    q = lin(reluS(q), w, b);
    K = K * w * 0.5 * k0(r) + q.xz;
  }
  return [q.xz, K];
}

/** Shared ResNet recursion with a = α²·(product of branch variances)/2-style constant `a`. */
function resnetCore(K0: K3, T0: number, a: number, L: number): { K: K3; T: number } {
  let K = K0;
  let T = T0;
  for (let l = 1; l <= L; l++) {
    const r = rho(K);
    const s = root(K);
    const Tn = T * (1 + a * k0(r)) + a * (s * k1(r) + K.xz * k0(r));
    K = each(K, (q) => q.xz + a * root(q) * k1(rho(q)));
    T = Tn;
  }
  return { K, T };
}

export function huang2020(x: number[], z: number[], L: number, alpha: number): Pair {
  const { K, T } = resnetCore({ xz: dot(x, z), xx: dot(x, x), zz: dot(z, z) }, 0, alpha * alpha, L);
  return [K.xz, T];
}

export function belfer2021(x: number[], z: number[], L: number, alpha: number): Pair {
  const a = alpha * alpha;
  const [k, t] = huang2020(x, z, L, alpha);
  return [k / (1 + a) ** L, t / (2 * L * a * (1 + a) ** (L - 1))];
}

export function tirer2021(x: number[], z: number[], L: number, alpha: number): Pair {
  const d = x.length;
  const K1 = { xz: dot(x, z) / d, xx: dot(x, x) / d, zz: dot(z, z) / d };
  const { K, T } = resnetCore(K1, K1.xz, (alpha * alpha) / 2, L);
  return [K.xz, T + K.xz];
}

export function resnet(
  x: number[],
  z: number[],
  o: { L: number; alpha: number; cw2: number; cv2: number; trainStem: boolean; trainReadout: boolean },
): Pair {
  const d = x.length;
  const K0 = { xz: dot(x, z) / d, xx: dot(x, x) / d, zz: dot(z, z) / d };
  const a = (o.alpha * o.alpha * o.cv2 * o.cw2) / 2;
  const { K, T } = resnetCore(K0, o.trainStem ? K0.xz : 0, a, o.L);
  return [K.xz, T + (o.trainReadout ? K.xz : 0)];
}

export function densenet(x: number[], z: number[], L: number, cw2: number, concat: 'mean' | 'sum'): Pair {
  const d = x.length;
  const Ks: K3[] = [{ xz: dot(x, z) / d, xx: dot(x, x) / d, zz: dot(z, z) / d }];
  const Ts: number[] = [Ks[0]!.xz];
  for (let l = 1; l <= L; l++) {
    const norm = concat === 'mean' ? 1 / l : 1;
    let xz = 0;
    let xx = 0;
    let zz = 0;
    let t = 0;
    for (let k = 0; k < l; k++) {
      const S = reluS(Ks[k]!);
      const Sdot = 0.5 * k0(rho(Ks[k]!));
      xz += cw2 * S.xz;
      xx += cw2 * S.xx;
      zz += cw2 * S.zz;
      t += cw2 * S.xz + cw2 * Sdot * Ts[k]!;
    }
    Ks.push({ xz: norm * xz, xx: norm * xx, zz: norm * zz });
    Ts.push(norm * t);
  }
  return [Ks[L]!.xz, Ks[L]!.xz + Ts[L]!];
}

export function mlp(x: number[], z: number[], L: number, cw2: number, cb2: number, scale: 'dim' | 'none'): Pair {
  const s = scale === 'dim' ? 1 / x.length : 1;
  let K: K3 = { xz: dot(x, z) * s + cb2, xx: dot(x, x) * s + cb2, zz: dot(z, z) * s + cb2 };
  let T = K.xz;
  for (let l = 1; l <= L; l++) {
    const r = rho(K);
    K = lin(reluS(K), cw2, cb2);
    T = cw2 * 0.5 * k0(r) * T + K.xz;
  }
  return [K.xz, T];
}
