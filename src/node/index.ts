/** Node-only entry point: files, WebGPU through Dawn, and the command line. */
export { main, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK } from './cli.js';
export { readArch, readMatrixFile, writeFileAtomic } from './files.js';
export { readArrayFile, readCsv, readNpy, readVectorFile, writeCsv, writeNpy } from './io.js';
export type { ReadCsvOptions, WriteCsvOptions, WriteNpyOptions } from './io.js';
export type { ArrayInput, NestedNumbers, TypedNumbers } from '../io/ndarray.js';
export type { CsvDelimiter, DelimitedMatrix } from '../io/csv.js';
export type { NdArray, NpyArray, NpyByteOrder, NpyDtypeName, NpyWriteDtype } from '../io/npy.js';
export { releaseNodeWebGPU, useNodeWebGPU } from './webgpu.js';
export { nodeWorkerSpawner, useNodeWorkers } from './workers.js';
