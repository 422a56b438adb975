/** Node-only entry point: files, WebGPU through Dawn, and the command line. */
import type { CliIO } from './cli-io.js';

export { EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK } from './cli-io.js';

/**
 * The command line (`webntk …`) as a function, resolving to its exit code. The commands' modules
 * load on the first call, so that a program importing this entry point for files and WebGPU does
 * not load every command (on this 2-core VM, importing it took 0.10–0.12 s with them, 0.07–0.09 s
 * without; `webntk` and `webntk/node` together ~0.145 s → ~0.125 s).
 */
export async function main(argv: string[], io?: CliIO): Promise<number> {
  return (await import('./cli.js')).main(argv, io);
}
export { readArch, readMatrixFile, writeFileAtomic } from './files.js';
export { readArrayFile, readCsv, readNpy, readVectorFile, writeCsv, writeNpy } from './io.js';
export type { ReadCsvOptions, WriteCsvOptions, WriteNpyOptions } from './io.js';
export type { ArrayInput, NestedNumbers, TypedNumbers } from '../io/ndarray.js';
export type { CsvDelimiter, DelimitedMatrix } from '../io/csv.js';
export type { NdArray, NpyArray, NpyByteOrder, NpyDtypeName, NpyWriteDtype } from '../io/npy.js';
export { exitNodeWebGPU, releaseNodeWebGPU, useNodeWebGPU } from './webgpu.js';
export { nodeWorkerSpawner, useNodeWorkers } from './workers.js';
