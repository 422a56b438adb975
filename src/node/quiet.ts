/**
 * Dawn (the WebGPU implementation in Node) prints its own diagnostics straight to file descriptor 2
 * from native code ("Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced …",
 * "Warning: Couldn't load Vulkan …", each with an "at …" source line), which JavaScript's
 * process.stderr never sees. Measured with the pinned `webgpu` package, they come synchronously
 * inside `create()` and `requestAdapter()`. So a command that may open a WebGPU device runs those
 * two calls with file descriptor 2 pointed at an unlinked temporary file (`quietNative`), then
 * points it back and writes what was printed less the noise. Where that cannot be done
 * (`canQuietNative`: no /proc/self/fd or /dev/fd; stderr a socket, or a file not opened for
 * appending), the command runs in a child process whose
 * stderr passes through the same filter, at the cost of a second Node start (~0.3 s); signals to
 * the parent are forwarded to the child, and the parent exits with the child's code (128 + the
 * signal's number if the child was killed by one). `--verbose` runs in-process, unfiltered.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installSignalHandlers } from './signals.js';

/** Set in the child, so that it does not wrap itself again. */
export const CHILD_ENV = 'WEBNTK_FILTERED_CHILD';
/** Set in the child when the parent's stderr is a terminal (progress bars stay on). */
export const TTY_ENV = 'WEBNTK_STDERR_TTY';

/** Lines of the WebGPU runtime's own diagnostics, dropped unless --verbose. */
const NOISE: readonly RegExp[] = [
  /^Warning: /, // Dawn's dawn::WarningLog (limits reduced, a backend that could not load, …)
  /^WARNING: lavapipe is not a conformant vulkan implementation/,
];
/** The source lines and blank line that follow one of Dawn's warnings. */
const NOISE_TAIL = /^\s+at .*\)\s*$|^\s*$/;

/** Whether this invocation may open a WebGPU device, and so should run behind the filter. */
export function wantsFilter(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (env[CHILD_ENV] === '1' || argv.includes('--verbose')) return false;
  const command = argv.find((a) => !a.startsWith('-'));
  if (command === undefined || command === 'presets' || command === 'spec' || command === 'help') return false;
  if (command === 'info' || command === 'bench' || command === 'demo') return true;
  // --solver cg (predict) puts the kernel matrix on the GPU whatever --backend says.
  return argv.some(
    (a, i) =>
      /^--(backend=(webgpu|auto)|solver=cg)$/.test(a) ||
      (a === '--backend' && /^(webgpu|auto)$/.test(argv[i + 1] ?? '')) ||
      (a === '--solver' && argv[i + 1] === 'cg'),
  );
}

/** A line filter over a byte stream: complete lines (\n or \r) are judged; noise and its tail go. */
export class NoiseFilter {
  private pending = '';
  private inNoise = false;

  constructor(private readonly write: (s: string) => void) {}

  push(chunk: string): void {
    const text = this.pending + chunk;
    this.pending = '';
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '\n' || c === '\r') {
        this.line(text.slice(start, i + 1));
        start = i + 1;
      }
    }
    this.pending = text.slice(start);
  }

  /** Writes what is held (end of stream, or a partial line that has waited long enough). */
  flush(): void {
    if (this.pending) this.line(this.pending);
    this.pending = '';
  }

  private line(s: string): void {
    const body = s.replace(/[\r\n]+$/, '');
    if (NOISE.some((r) => r.test(body))) {
      this.inNoise = true;
      return;
    }
    if (this.inNoise && NOISE_TAIL.test(body)) {
      if (body.trim() === '') this.inNoise = false; // the blank line ends Dawn's message
      return;
    }
    this.inNoise = false;
    this.write(s);
  }
}

/** Runs `script argv` in a child with the filter on its stderr; resolves to the exit code to use. */
export function runFiltered(script: string, argv: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, [CHILD_ENV]: '1' };
    if (process.stderr.isTTY) env[TTY_ENV] = '1';
    const child = spawn(process.execPath, [...process.execArgv, script, ...argv], { stdio: ['inherit', 'inherit', 'pipe'], env });
    const filter = new NoiseFilter((s) => process.stderr.write(s));
    let timer: NodeJS.Timeout | null = null;
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      filter.push(d);
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => filter.flush(), 100); // a prompt or partial line is not held back for long
    });
    const forward = (sig: NodeJS.Signals) => () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => [sig, forward(sig)] as const);
    for (const [sig, h] of handlers) process.on(sig, h);
    child.on('error', (e) => {
      process.stderr.write(`webntk: internal error: cannot start the worker process: ${e.message}\n`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      filter.flush();
      for (const [sig, h] of handlers) process.off(sig, h);
      resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
    });
  });
}

/** Where this process's open file descriptors can be reopened by path (null: nowhere known). */
function fdDirectory(): string | null {
  if (process.platform === 'linux') return '/proc/self/fd';
  if (process.platform === 'darwin') return '/dev/fd';
  return null;
}

/** O_APPEND in /proc/self/fdinfo's octal flags (Linux). */
const O_APPEND = 0o2000;

/**
 * Whether `quietNative` can point file descriptor 2 elsewhere and back without changing what stderr
 * receives: a terminal, /dev/null or a pipe (reopened by path: the same device or pipe), or a file
 * opened for appending (2>>). A file opened for writing at an offset (2>) cannot be: the reopened
 * descriptor would not advance the shell's offset, and whatever the shell's next command writes to
 * that file would overwrite this process's lines. A socket cannot be reopened at all (Node's
 * `stdio: 'pipe'` gives a child a socket pair, so a webntk spawned that way runs behind the child).
 */
export function canQuietNative(): boolean {
  const dir = fdDirectory();
  if (!dir) return false;
  try {
    const st = fstatSync(2);
    if (st.isFile()) {
      if (process.platform !== 'linux') return false;
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync('/proc/self/fdinfo/2', 'utf8'));
      if (!flags || (parseInt(flags[1]!, 8) & O_APPEND) === 0) return false;
    } else if (!st.isFIFO() && !st.isCharacterDevice()) return false;
    closeSync(openSync(`${dir}/2`, 'a'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `f` with file descriptor 2 pointed at an unlinked temporary file, then points it back at the
 * original stderr and writes there what was printed during `f` less Dawn's noise. Without dup2 in
 * Node the swap is close(2) then open(), which takes the lowest free descriptor, 2: nothing else may
 * open a file meanwhile, so it is only for synchronous native calls made while no file operation of
 * the thread pool is in flight (the CLI reads its files synchronously). Output that `f` writes goes
 * through the filter after `f` returns (a crash inside `f` would lose its message: `--verbose`).
 */
export function quietNative<T>(f: () => T): T {
  const dir = fdDirectory();
  if (!dir) return f();
  const original = openSync(`${dir}/2`, 'a'); // the same terminal, pipe or file as stderr, kept open
  const path = join(tmpdir(), `webntk-stderr-${process.pid}-${Date.now()}`);
  closeSync(2);
  let fd: number;
  try {
    fd = openSync(path, 'w+', 0o600);
  } catch (e) {
    openSync(`${dir}/${original}`, 'a'); // back to 2 (the lowest free descriptor)
    closeSync(original);
    throw e;
  }
  try {
    unlinkSync(path);
  } catch {
    // removed already; the descriptor still reads
  }
  if (fd !== 2) {
    // Another thread took descriptor 2 between close and open: leave the swap undone, loudly.
    closeSync(fd);
    writeSync(original, 'webntk: internal error: stderr could not be redirected around the WebGPU runtime; rerun with --verbose\n');
    process.exit(1);
  }
  try {
    return f();
  } finally {
    const text = readAll(2);
    closeSync(2);
    const back = openSync(`${dir}/${original}`, 'a');
    closeSync(original);
    const out = back === 2 ? 2 : back;
    const filter = new NoiseFilter((s) => writeSync(out, s));
    filter.push(text);
    filter.flush();
  }
}

function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(1 << 16);
  for (let pos = 0; ; ) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n <= 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    pos += n;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** How the CLI silences Dawn in this process (set by `launch`; null: not at all). */
let nativeFilter: (<T>(f: () => T) => T) | null = null;

/** The wrapper the WebGPU provider runs Dawn's noisy native calls in (identity when not filtering). */
export function nativeQuiet<T>(f: () => T): T {
  return nativeFilter ? nativeFilter(f) : f();
}

/**
 * How the `webntk` process runs (bin.ts, and `node dist/node/cli.js`): the signal handlers first,
 * then the CLI, which `loadMain` loads (bin.ts loads it only now, so that the handlers come first).
 * A command that may open a WebGPU device filters Dawn's native output in this process where it
 * can (`quietNative`), else runs behind the filter in a child running bin.js.
 */
export async function launch(argv: string[], loadMain: () => Promise<(argv: string[]) => Promise<number>>): Promise<number> {
  if (wantsFilter(argv)) {
    if (!canQuietNative()) return runFiltered(fileURLToPath(new URL('./bin.js', import.meta.url)), argv);
    nativeFilter = quietNative;
  }
  installSignalHandlers();
  const runMain = await loadMain();
  return runMain(argv);
}
