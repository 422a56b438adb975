/**
 * What the CLI and its command modules share: the output streams a command writes to and the exit
 * codes. A module of its own so that cli.ts imports the commands and no command imports cli.ts; it
 * loads nothing (webntk/node re-exports the codes without loading commander).
 */
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
