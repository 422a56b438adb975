/**
 * SIGINT, SIGTERM and SIGHUP in the CLI: the temporary files of outputs in progress are removed, one
 * line ("webntk: interrupted (SIGINT)") goes to stderr, and the process exits 128 + the signal's
 * number (130, 143, 129); a signal never ends in exit 0. Handlers run between JavaScript tasks, so
 * long loops call `interruptionPoint()` between blocks, and every command calls it before it renames
 * its outputs into place: an interrupted command leaves no output.
 */
import { unlinkSync } from 'node:fs';

/** Exit codes for the signals the CLI handles (128 + signal number, as shells report them). */
export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM' | 'SIGHUP', number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

const temps = new Set<string>();
let installed = false;

/** A temporary file that must be removed if the process is interrupted before it is renamed. */
export function registerTemp(path: string): void {
  temps.add(path);
}

/** The temporary file was renamed into place or removed. */
export function releaseTemp(path: string): void {
  temps.delete(path);
}

function removeTemps(): void {
  for (const t of temps) {
    try {
      unlinkSync(t);
    } catch {
      // already gone
    }
  }
  temps.clear();
}

/** Installs the handlers (once per process); `write` prints the line, `exit` ends the process. */
export function installSignalHandlers(
  write: (s: string) => void = (s) => process.stderr.write(s),
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  if (installed) return;
  installed = true;
  for (const [sig, code] of Object.entries(SIGNAL_EXIT)) {
    process.on(sig, () => {
      removeTemps();
      try {
        write(`webntk: interrupted (${sig})\n`);
      } catch {
        // stderr closed (SIGHUP of a terminal): the exit code still says it
      }
      exit(code);
    });
  }
}

/**
 * Lets pending signal handlers run. A signal that arrived during synchronous work is read by the
 * event loop's poll phase; after a long computation one setImmediate was measured not to be enough
 * (the handler ran one iteration later), a zero timer is (the poll waits for it).
 */
export async function interruptionPoint(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setImmediate(resolve));
}
