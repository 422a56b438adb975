/**
 * What the CLI and its command modules share: the output streams a command writes to and the exit
 * codes. A module of its own so that cli.ts imports the commands and no command imports cli.ts.
 */
import { Option } from 'commander';

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_BAD_INPUT = 2;
/** The GPU failed: no adapter for --backend webgpu is bad input (2); a lost device or GPU error is 3. */
export const EXIT_DEVICE = 3;
/** The file system refused to read an input or write an output (no space, permission, read-only, …). */
export const EXIT_IO = 4;
// Interrupted by SIGHUP, SIGINT, SIGTERM: 129, 130, 143 (SIGNAL_EXIT in src/node/signals.ts).

export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** `--layout` of the commands that read images for conv specs. */
export function layoutOption(): Option {
  return new Option('--layout <layout>', 'image inputs of a conv spec: nchw ([N, C, H, W] or [N, C, P], the default) or nhwc ([N, H, W, C] or [N, P, C])').choices(['nchw', 'nhwc']);
}
