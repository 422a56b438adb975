/** Node-only entry point: files, WebGPU through Dawn, and the command line. */
export { main, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK } from './cli.js';
export { readArch, readMatrixFile, writeFileAtomic } from './files.js';
export { releaseNodeWebGPU, useNodeWebGPU } from './webgpu.js';
