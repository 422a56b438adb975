/**
 * The variables that README/docs examples may take as given, named by an
 * `<!-- example: given X, Y -->` marker before the block (see test/readme-examples.test.ts). The
 * shell examples' input files (X.npy, T.npy, y.npy, labels.npy, …) hold the same values.
 *
 * Small, deterministic and consistent: 40 training rows and 10 test rows of dimension 8, labels in
 * 0 … 9 (every class present in training), a regression target y and a two-column target Y.
 */

/** Mulberry32: a small seeded generator, so the fixtures are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = rng(20240611);
const normal = (): number => {
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};
const matrix = (rows: number, cols: number): number[][] =>
  Array.from({ length: rows }, () => Array.from({ length: cols }, () => Number(normal().toFixed(6))));

export const N_TRAIN = 40;
export const N_TEST = 10;
export const DIM = 8;

/** Training inputs (40 × 8). */
export const Xtrain: number[][] = matrix(N_TRAIN, DIM);
/** Test inputs (10 × 8). */
export const Xtest: number[][] = matrix(N_TEST, DIM);
/** Class labels of the training rows: 0 … 9, four of each. */
export const labels: number[] = Array.from({ length: N_TRAIN }, (_, i) => i % 10);
/** Class labels of the test rows: 0 … 9. */
export const testLabels: number[] = Array.from({ length: N_TEST }, (_, i) => i % 10);
/** A regression target per training row. */
export const y: number[] = Xtrain.map((r) => Number((Math.sin(r[0]!) + 0.5 * r[1]!).toFixed(6)));
/** Two regression targets per training row (40 × 2). */
export const Y: number[][] = Xtrain.map((r, i) => [y[i]!, Number((r[2]! * r[3]!).toFixed(6))]);
/** The inputs of the examples that need only one set: the training inputs. */
export const X: number[][] = Xtrain;

/** Every name a marker may ask for. */
export const GIVEN = { X, Y, y, Xtrain, Xtest, labels, testLabels } as const;
