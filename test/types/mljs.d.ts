// Minimal declarations for the ml.js packages the interop tests use (they ship no types).
declare module 'ml-kernel' {
  import type { Matrix } from 'ml-matrix';
  export class Kernel {
    constructor(type: string | { compute(x: number[], y: number[]): number }, options?: object);
    compute(inputs: Matrix | number[][], landmarks?: Matrix | number[][]): Matrix;
  }
}
declare module 'ml-regression' {
  export class KernelRidgeRegression {
    constructor(inputs: number[][], outputs: number[][], options?: { kernelType?: unknown; lambda?: number });
    predict(x: number[][]): number[] | number[][];
  }
}
