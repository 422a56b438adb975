/**
 * Dawn (the WebGPU implementation in Node) prints its own diagnostics straight to file descriptor 2
 * from native code ("Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced …",
 * "Warning: Couldn't load Vulkan …", each with an "at …" source line): JavaScript cannot silence
 * them in-process. So a command that may open a WebGPU device runs in a child process whose stderr
 * passes through a filter that drops those lines; `--verbose` runs it in-process, unfiltered.
 * Signals to the parent are forwarded to the child, and the parent exits with the child's code
 * (128 + the signal's number if the child was killed by one).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
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

/**
 * How the `webntk` process runs (bin.ts, and `node dist/node/cli.js`): behind the filter in a child
 * running bin.js when WebGPU may print, else with the signal handlers installed first and then the
 * CLI, which `loadMain` loads (bin.ts loads it only now, so that the handlers come first).
 */
export async function launch(argv: string[], loadMain: () => Promise<(argv: string[]) => Promise<number>>): Promise<number> {
  if (wantsFilter(argv)) return runFiltered(fileURLToPath(new URL('./bin.js', import.meta.url)), argv);
  installSignalHandlers();
  const runMain = await loadMain();
  return runMain(argv);
}
