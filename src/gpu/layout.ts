/**
 * The data layouts shared by WGSL and the host, each written once: a table of 32-bit fields from
 * which both the WGSL struct text and the TypeScript packing are generated (a table rather than a
 * library such as TypeGPU: every struct here is a flat list of scalars, so twenty lines suffice).
 */

export type ScalarType = 'u32' | 'i32' | 'f32';

export interface StructField<N extends string = string> {
  name: N;
  type: ScalarType;
  /** One line for the WGSL struct (why the field exists). */
  doc?: string;
}

export interface StructSchema<N extends string = string> {
  name: string;
  fields: readonly StructField<N>[];
}

function schema<const N extends string>(name: string, fields: readonly StructField<N>[]): StructSchema<N> {
  return { name, fields };
}

/** The WGSL declaration of a schema's struct. */
export function wgslStruct(s: StructSchema): string {
  const lines = s.fields.map((f) => `  ${f.name}: ${f.type},${f.doc ? `  // ${f.doc}` : ''}`);
  return `struct ${s.name} {\n${lines.join('\n')}\n}\n`;
}

/** Bytes of a uniform buffer holding the struct (padded to 16, as uniform structs are). */
export function structBytes(s: StructSchema): number {
  return Math.ceil((s.fields.length * 4) / 16) * 16;
}

/** The struct's bytes for `values` (every field named; f32 fields rounded to nearest). */
export function packStruct<N extends string>(s: StructSchema<N>, values: Readonly<Record<N, number>>): ArrayBuffer {
  const buf = new ArrayBuffer(structBytes(s));
  const view = new DataView(buf);
  s.fields.forEach((f, k) => {
    const v = values[f.name];
    if (f.type === 'f32') view.setFloat32(4 * k, v, true);
    else if (f.type === 'i32') view.setInt32(4 * k, v, true);
    else view.setUint32(4 * k, v, true);
  });
  return buf;
}

/** Parameters of one submit of the generated recursion (src/gpu/codegen.ts). */
export const RECURSION_PARAMS = schema('Params', [
  { name: 'pairCount', type: 'u32' },
  { name: 'cols', type: 'u32' },
  { name: 'rowsA', type: 'u32' },
  { name: 'iterStart', type: 'u32' },
  { name: 'iterEnd', type: 'u32' },
  { name: 'flags', type: 'u32', doc: 'FLAG_* of codegen.ts' },
  { name: 'diagonal', type: 'u32', doc: '1: a diagonal block of X × X; 2: the pairs (x_i, x_i)' },
  { name: 'tapBase', type: 'u32' },
  { name: 'one', type: 'f32', doc: '1.0, opaque to the compiler (kernel_ops.wgsl: keep)' },
]);

/** Parameters of the first-layer kernels (shaders/gram_common.wgsl). */
export const CHORD_PARAMS = schema('Params', [
  { name: 'rowsA', type: 'u32' },
  { name: 'rowsB', type: 'u32' },
  { name: 'vec4sPerRow', type: 'u32', doc: 'd padded to a multiple of 4, in vec4s' },
  { name: 'diagonal', type: 'u32', doc: '1 when A and B are the same rows (a diagonal block of X × X)' },
  { name: 'tilesB', type: 'u32', doc: 'number of 64-wide column tiles' },
]);

/** Parameters of one block's product with the right-hand sides inside a Gram run (shaders/gram_times.wgsl). */
export const GRAM_TIMES_PARAMS = schema('Params', [
  { name: 'rows', type: 'u32', doc: 'rows of the block' },
  { name: 'cols', type: 'u32', doc: 'columns of the block (the recursion outputs are rows × cols)' },
  { name: 'quads', type: 'u32', doc: 'right-hand sides / 4 (rounded up)' },
  { name: 'r0', type: 'u32', doc: 'global index of the first row (into Y; into P for the transposed pass)' },
  { name: 'c0', type: 'u32', doc: 'global index of the first column (into P; into Y for the transposed pass)' },
  { name: 'diagBlock', type: 'u32', doc: '1: a diagonal block of X × X, only j ≥ i computed (the rest is its mirror)' },
  { name: 'transposed', type: 'u32', doc: '1: an off-diagonal block of X × X, also multiplied transposed' },
  { name: 'comp', type: 'u32', doc: 'which output: 0 the NNGP, 2 the NTK (word of the encoded pair)' },
  { name: 'shift', type: 'i32', doc: 'added to every exponent (minus the normaliser\'s exponent)' },
  { name: 'one', type: 'f32', doc: '1.0, opaque to the compiler (empirical_common.wgsl: keep)' },
]);

/** Parameters of one row block of K·P (shaders/matvec_rows.wgsl). */
export const MATVEC_PARAMS = schema('Params', [
  { name: 'rows', type: 'u32', doc: 'rows in this block' },
  { name: 'n', type: 'u32', doc: 'columns of K = rows of P' },
  { name: 'quads', type: 'u32', doc: 'right-hand sides / 4 (rounded up)' },
  { name: 'row0', type: 'u32', doc: 'first global row of this block' },
]);

/**
 * One bank of a pair's state in f32 (shaders/kernel_ops.wgsl): K(x,x) = 2^e·(kxx + kxl),
 * Θ = 2^e·(t + tl), the signed correlation gap g + gl. Between depth chunks banks are stored as
 * 32-bit words in this order.
 */
export const BANK = schema('Bank', [
  { name: 'e', type: 'i32', doc: 'scale exponent: K(x,x) = 2^e · (kxx + kxl), Θ = 2^e · (t + tl)' },
  { name: 'kxx', type: 'f32' },
  { name: 'kzz', type: 'f32' },
  { name: 'g', type: 'f32', doc: 'signed gap: 1 − ρ when ρ ≥ 0, −(1 + ρ) when ρ < 0 (see gap_g, gap_h)' },
  { name: 't', type: 'f32' },
  { name: 'tl', type: 'f32' },
  { name: 'kxl', type: 'f32', doc: 'low parts of the diagonals (double-single)' },
  { name: 'kzl', type: 'f32' },
  { name: 'gl', type: 'f32', doc: 'low part of the signed gap' },
]);

/** Words per bank in the state buffer. */
export const BANK_WORDS = BANK.fields.length;

/**
 * WGSL `load_<name>(base)` and `store_<name>(base, v)` for a struct held as 32-bit words in the
 * storage array `array` (declared `array<u32>`), generated from the schema.
 */
export function wgslWordAccessors(s: StructSchema, array: string): string {
  const fn = s.name.toLowerCase();
  const from = (f: StructField, k: number) => (f.type === 'u32' ? `${array}[o + ${k}u]` : `bitcast<${f.type}>(${array}[o + ${k}u])`);
  const to = (f: StructField) => (f.type === 'u32' ? `v.${f.name}` : `bitcast<u32>(v.${f.name})`);
  return (
    `fn load_${fn}(o: u32) -> ${s.name} {\n  return ${s.name}(${s.fields.map(from).join(', ')});\n}\n\n` +
    `fn store_${fn}(o: u32, v: ${s.name}) {\n${s.fields.map((f, k) => `  ${array}[o + ${k}u] = ${to(f)};`).join('\n')}\n}\n`
  );
}

/** One GEMM of a sampled network (shaders/empirical_gemm.wgsl): C = alpha·A·op(B) + biasScale·bias + beta·C, on strided views. */
export const GEMM_PARAMS = schema('Params', [
  { name: 'M', type: 'u32', doc: 'rows of A and C' },
  { name: 'N', type: 'u32', doc: 'columns of C' },
  { name: 'K', type: 'u32', doc: 'the summed dimension' },
  { name: 'lda', type: 'u32' },
  { name: 'ldb', type: 'u32' },
  { name: 'ldc', type: 'u32' },
  { name: 'offA', type: 'u32' },
  { name: 'offB', type: 'u32' },
  { name: 'offC', type: 'u32' },
  { name: 'transA', type: 'u32', doc: '1: A is K × M (C = Aᵀ·op(B)); 0: A is M × K' },
  { name: 'transB', type: 'u32', doc: '1: B is N × K (C = A·Bᵀ); 0: B is K × N' },
  { name: 'hasBias', type: 'u32' },
  { name: 'offBias', type: 'u32', doc: 'bias of column c at bias[offBias + c]' },
  { name: 'alpha', type: 'f32' },
  { name: 'beta', type: 'f32', doc: '0: C is overwritten (never read)' },
  { name: 'biasScale', type: 'f32' },
  { name: 'one', type: 'f32', doc: '1.0, opaque to the compiler (keep)' },
]);

/** One elementwise op of a sampled network on strided views (shaders/empirical_pointwise.wgsl). */
export const POINTWISE_PARAMS = schema('Params', [
  { name: 'op', type: 'u32', doc: '0: Y = φ(X); 1: Y = b·Y + G ⊙ φ′(X); 2: Y = a·X + b·G; 3: Y = a·X ⊙ g (g a column: row r scaled by G[r])' },
  { name: 'rows', type: 'u32' },
  { name: 'cols', type: 'u32' },
  { name: 'ldX', type: 'u32' },
  { name: 'offX', type: 'u32' },
  { name: 'ldG', type: 'u32' },
  { name: 'offG', type: 'u32' },
  { name: 'ldY', type: 'u32' },
  { name: 'offY', type: 'u32' },
  { name: 'a', type: 'f32' },
  { name: 'b', type: 'f32' },
  { name: 'p0', type: 'f32', doc: "the activation's parameters (WgslPointwise.params)" },
  { name: 'p1', type: 'f32' },
  { name: 'one', type: 'f32' },
]);

/** One index move of a sampled conv network (shaders/empirical_conv_gather.wgsl): im2col or a CSR sum. */
export const CONV_GATHER_PARAMS = schema('Params', [
  { name: 'op', type: 'u32', doc: '0: im2col through the tap maps; 1: Out row = scale·Σ over its CSR list' },
  { name: 'N', type: 'u32', doc: 'inputs in the batch' },
  { name: 'Rin', type: 'u32', doc: 'rows (pixels) of In per input' },
  { name: 'Rout', type: 'u32', doc: 'rows (pixels) of Out per input' },
  { name: 'C', type: 'u32', doc: 'channels' },
  { name: 'A', type: 'u32', doc: 'taps (op 0)' },
  { name: 'ldIn', type: 'u32' },
  { name: 'offIn', type: 'u32' },
  { name: 'ldOut', type: 'u32' },
  { name: 'offOut', type: 'u32' },
  { name: 'cstride', type: 'u32', doc: 'op 1: In column of channel c is c·cstride + tap' },
  { name: 'srcOff', type: 'u32', doc: 'op 1: where the entries\' source rows start in idx' },
  { name: 'tapOff', type: 'u32', doc: 'op 1: where the entries\' taps start in idx' },
  { name: 'scale', type: 'f32' },
  { name: 'one', type: 'f32' },
]);

/** A gradient-descent step on double-single parameters (shaders/empirical_update.wgsl). */
export const UPDATE_PARAMS = schema('Params', [
  { name: 'count', type: 'u32' },
  { name: 'a', type: 'f32', doc: '(hi, lo) += a·U' },
  { name: 'one', type: 'f32' },
]);

/** One layer's term added to the empirical kernel (shaders/empirical_accumulate.wgsl). */
export const ACCUMULATE_PARAMS = schema('Params', [
  { name: 'op', type: 'u32', doc: '0: T += wfac·D⊙G + bfac·D (NTK); 1: T = wfac·G + bfac (NNGP)' },
  { name: 'count', type: 'u32' },
  { name: 'wfac', type: 'f32' },
  { name: 'bfac', type: 'f32' },
  { name: 'one', type: 'f32' },
]);
