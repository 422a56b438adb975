/**
 * Seeded pseudo-random numbers for the Monte Carlo oracle: xoshiro128** (Blackman & Vigna),
 * seeded through splitmix32, with standard normals by the polar method. Reproducible across
 * runtimes (32-bit integer arithmetic only).
 */
export class Rng {
  /** xoshiro128** state; an Int32Array keeps every value a 32-bit integer (fast in every engine). */
  private readonly s = new Int32Array(4);
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = z ^ (z >>> 16);
    }
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const s1 = s[1]!;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s1;
    s[1] = s1 ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    const s3 = s[3]!;
    s[3] = (s3 << 11) | (s3 >>> 21);
    return result;
  }

  /** Uniform in (0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  /** Standard normal (Marsaglia's polar method: no trigonometry). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let q: number;
    // 32 random bits per coordinate are plenty for sampled weights and halve the cost.
    do {
      u = (this.nextU32() + 0.5) * 4.656612873077393e-10 - 1;
      v = (this.nextU32() + 0.5) * 4.656612873077393e-10 - 1;
      q = u * u + v * v;
    } while (q >= 1 || q === 0);
    const f = Math.sqrt((-2 * Math.log(q)) / q);
    this.spare = v * f;
    this.hasSpare = true;
    return u * f;
  }

  fillNormal(out: Float64Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
  }
}

/** n points drawn uniformly on the unit sphere S^(d−1) (normalised Gaussian vectors), reproducibly from `seed`. */
export function spherePoints(n: number, d: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const v = Array.from({ length: d }, () => rng.normal());
    const r = Math.hypot(...v);
    return v.map((x) => x / r);
  });
}
