/**
 * Faults, as a user meets them from a shell: signals during long commands, file systems that are
 * full, read-only or refuse permission, outputs that cannot fit, outputs that are inputs. Each ends
 * in one line on stderr, a documented exit code (README "Command line"; `webntk --help`), no stack
 * trace, no temporary file left behind, and any existing output untouched.
 *
 * The CLI runs as a separate process, built from src/ into a temporary folder (tsc; through tsx its
 * start-up takes seconds of CPU, and a signal before the handlers exist just ends the process), as a
 * user runs it. The file-system
 * cases mount small tmpfs file systems and run a command as the user "nobody" (setpriv), which needs
 * root: CI runs as root; elsewhere they are skipped with a note (and CI=true without root fails).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/io/npy.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = mkdtempSync(join(tmpdir(), 'webntk-faults-build-'));
const CLI = join(BUILD, 'dist/node/bin.js'); // the package's bin
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot && process.env.CI === 'true') throw new Error('test/cli-faults.test.ts needs root in CI (tmpfs mounts, setpriv)');

let dir = '';
const mounts: string[] = [];

function npy(name: string, rows: number, cols: number, seed = 1): string {
  let s = seed;
  const data = Array.from({ length: rows * cols }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
  const path = join(dir, name);
  writeFileSync(path, encodeNpy(data, [rows, cols], 'float64'));
  return path;
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** Starts the CLI; `act(pid)` may signal it; resolves when it has ended. */
function start(args: string[], act?: (pid: number) => Promise<void>, opts: { cwd?: string; uid?: number } = {}): Promise<Ran> {
  const node = [CLI, ...args];
  const cmd = opts.uid !== undefined ? 'setpriv' : process.execPath;
  const argv = opts.uid !== undefined ? [`--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', process.execPath, ...node] : node;
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.WEBNTK_FILTERED_CHILD;
  return new Promise((done, fail) => {
    const child = spawn(cmd, argv, { cwd: opts.cwd ?? dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, out, err }));
    if (act) act(child.pid!).catch(fail);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the process has used `seconds` of CPU (so its signal handlers are installed). */
async function busyFor(pid: number, seconds: number): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if ((Number(f[11]) + Number(f[12])) / 100 >= seconds) return;
    } catch {
      return; // gone
    }
    await sleep(20);
  }
}

/** Waits until a temporary output file appears in `folder`. */
async function tempAppears(folder: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (readdirSync(folder).some((f) => f.includes('.tmp-'))) return;
    await sleep(20);
  }
  throw new Error(`no temporary file appeared in ${folder}`);
}

function oneLine(r: Ran): string {
  expect(r.err.endsWith('\n'), JSON.stringify(r.err)).toBe(true);
  const lines = r.err.trim().split('\n');
  expect(lines, JSON.stringify(r.err)).toHaveLength(1);
  expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  return lines[0]!;
}

function mount(name: string, options: string): string {
  const m = join(dir, name);
  mkdirSync(m);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', m], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount tmpfs ${options} on ${m}: ${r.stderr}`);
  mounts.push(m);
  return m;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webntk-faults-'));
  chmodSync(dir, 0o755); // the "nobody" runs read inputs here
  chmodSync(BUILD, 0o755);
  copyFileSync(join(REPO, 'package.json'), join(BUILD, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(BUILD, 'node_modules'), 'dir');
  const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(BUILD, 'dist')], { encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc: ${tsc.stdout}${tsc.stderr}`);
}, 240_000);

afterAll(() => {
  for (const m of mounts.reverse()) spawnSync('umount', [m]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(BUILD, { recursive: true, force: true });
});

const SIGNALS = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const;

describe('signals: "interrupted", exit 128 + n, no temporary file, no output', () => {
  it.each(SIGNALS)('gram on the CPU, %s → %i', { timeout: 120_000 }, async (sig, code) => {
    const x = npy(`x-${sig}.npy`, 2000, 30);
    const folder = join(dir, `gram-${sig}`);
    mkdirSync(folder);
    const r = await start(['gram', '--arch', 'arora2019:depth=50', '--x1', x, '--out', join(folder, 'K.npy')], async (pid) => {
      await tempAppears(folder);
      process.kill(pid, sig);
    });
    expect(r.code).toBe(code);
    expect(oneLine(r)).toBe(`webntk: interrupted (${sig})`);
    expect(readdirSync(folder)).toEqual([]);
  });

  it('gram on WebGPU (a child process behind the stderr filter), SIGINT → 130 and SIGTERM → 143', { timeout: 180_000 }, async () => {
    const x = npy('x-gpu.npy', 3000, 30);
    for (const [sig, code] of [SIGNALS[0], SIGNALS[1]]) {
      const folder = join(dir, `gpu-${sig}`);
      mkdirSync(folder);
      const r = await start(['gram', '--arch', 'arora2019:depth=200', '--x1', x, '--backend', 'webgpu', '--out', join(folder, 'K.npy')], async (pid) => {
        await tempAppears(folder);
        await sleep(300);
        process.kill(pid, sig);
      });
      expect(r.code, r.err).toBe(code);
      expect(oneLine(r)).toBe(`webntk: interrupted (${sig})`);
      expect(readdirSync(folder)).toEqual([]);
    }
  });

  it('predict, analyze and select: a signal during the computation leaves no output', { timeout: 300_000 }, async () => {
    const train = npy('train.npy', 500, 20, 2);
    const test = npy('test.npy', 20, 20, 3);
    const y = join(dir, 'y.npy');
    writeFileSync(y, encodeNpy(Array.from({ length: 500 }, (_, i) => i % 3), [500], 'float64'));
    const cases: [string, string[]][] = [
      // Depth 1000: long enough (~5 s of CPU) to be interrupted after 1.5 s now that the CPU backend is faster.
      ['predict', ['predict', '--arch', 'arora2019:depth=1000', '--train', train, '--targets', y, '--test', test, '--kernel', 'ntk', '--out', 'OUT/P.npy']],
      ['analyze', ['analyze', 'spectrum', '--arch', 'arora2019:depth=256', '--random', '400,10', '--out', 'OUT/spec']],
      ['select', ['select', '--arch', 'arora2019:depth=60', '--train', train, '--targets', y, '--kernel', 'nngp,ntk', '--depths', 'all', '--ridge', '1e-4,1e-2', '--folds', '3', '--out', 'OUT/report.json']],
    ];
    const runs = cases.map(async ([name, args], i) => {
      const folder = join(dir, `cmd-${name}`);
      mkdirSync(folder);
      const [sig, code] = SIGNALS[i % 3]!;
      const r = await start(
        args.map((a) => a.replace('OUT', folder)),
        async (pid) => {
          await busyFor(pid, 1.5);
          process.kill(pid, sig);
        },
      );
      expect(r.code, `${name}: ${r.err}`).toBe(code);
      expect(oneLine(r)).toBe(`webntk: interrupted (${sig})`);
      expect(readdirSync(folder), name).toEqual([]);
    });
    await Promise.all(runs);
  });
});

describe('outputs that cannot be written: checked before any work', () => {
  it('a Gram matrix larger than the free space is refused (exit 2) before any computation: N = 150 000 and N = 2·10^6', { timeout: 60_000 }, async () => {
    for (const n of [150_000, 2_000_000]) {
      const x = npy(`big-${n}.npy`, n, 1);
      const t = performance.now();
      const r = await start(['gram', '--arch', 'arora2019:depth=2', '--x1', x, '--out', join(dir, `big-${n}-K.npy`)]);
      expect(r.code, r.err).toBe(2);
      expect(oneLine(r)).toMatch(new RegExp(`^webntk: error: .*big-${n}-K\\.npy would need [0-9.]+ (GB|TB) but the file system of .* has [0-9.]+ [kMGT]?B free$`));
      expect(performance.now() - t).toBeLessThan(20_000); // refused up front, not after hours
      expect(existsSync(join(dir, `big-${n}-K.npy`))).toBe(false);
      expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    }
  });

  it('an output that is an input, or two outputs that are one file, are refused (exit 2) and the input survives', async () => {
    const x = npy('same.npy', 5, 3);
    const before = readFileSync(x);
    let r = await start(['gram', '--arch', 'arora2019:depth=2', '--x1', x, '--out', x]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/--out .*same\.npy is the same file as --x1 .*same\.npy/);
    r = await start(['gram', '--arch', 'arora2019:depth=2', '--x1', x, '--out', join(dir, '.', 'same.npy')]);
    expect(r.code).toBe(2);
    expect(readFileSync(x)).toEqual(before);
    const y = join(dir, 'y5.npy');
    writeFileSync(y, encodeNpy([1, 2, 3, 4, 5], [5], 'float64'));
    r = await start(['predict', '--arch', 'mlp:depth=2', '--train', x, '--targets', y, '--test', x, '--kernel', 'nngp', '--out', join(dir, 'V.npy'), '--variance', join(dir, 'V.npy')]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/--out and --variance are the same file/);
    r = await start(['predict', '--arch', 'mlp:depth=2', '--train', x, '--targets', y, '--test', x, '--kernel', 'nngp', '--out', y]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/--out .*y5\.npy is the same file as --targets/);
    expect(existsSync(join(dir, 'V.npy'))).toBe(false);
  });

  it('analyze --out dir/ is refused (it would write dir/.json, dir/.csv, dir/.svg)', async () => {
    const folder = join(dir, 'figs');
    mkdirSync(folder);
    for (const out of [`${folder}/`, folder]) {
      const r = await start(['analyze', 'profile', '--arch', 'mlp:depth=2', '--out', out]);
      expect(r.code).toBe(2);
      expect(oneLine(r)).toMatch(/--out .*figs\/? is a folder; --out takes a file prefix .*e\.g\. --out .*figs\/result/);
    }
    expect(readdirSync(folder)).toEqual([]);
  });
});

describe('outputs are written all or none, and only over regular files', () => {
  it('predict checks --test-labels before any work: bad labels leave the existing output untouched', async () => {
    const x = npy('pl-x.npy', 12, 3, 5);
    const y = join(dir, 'pl-y.npy');
    writeFileSync(y, encodeNpy([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2], [12], 'float64'));
    const tl = join(dir, 'pl-tl.npy');
    writeFileSync(tl, encodeNpy([0, 1, 5, 0, 1, 2, 0, 1, 2, 0, 1, 2], [12], 'float64'));
    const out = join(dir, 'pl-P.npy');
    writeFileSync(out, 'keep me');
    const r = await start(['predict', '--arch', 'mlp:depth=2', '--train', x, '--targets', y, '--classes', '3', '--test', x, '--test-labels', tl, '--kernel', 'nngp', '--out', out]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/pl-tl\.npy: label at index 2 is 5, outside 0 … 2 \(classes = 3\)/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
  });

  it('symbolic links, FIFOs and devices at an output path are refused (exit 2), not replaced; so is a wrong extension', async () => {
    const x = npy('nr-x.npy', 6, 3);
    const y = join(dir, 'nr-y.npy');
    writeFileSync(y, encodeNpy([1, 2, 3, 4, 5, 6], [6], 'float64'));
    const target = join(dir, 'nr-target.npy');
    writeFileSync(target, 'target');
    const link = join(dir, 'nr-link.npy');
    symlinkSync(target, link);
    const fifo = join(dir, 'nr-fifo.npy');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const predict = (out: string) => start(['predict', '--arch', 'mlp:depth=2', '--train', x, '--targets', y, '--test', x, '--kernel', 'nngp', '--out', out]);
    let r = await predict(link);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/nr-link\.npy is a symbolic link, not a regular file/);
    r = await start(['gram', '--arch', 'mlp:depth=2', '--x1', x, '--out', fifo]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/nr-fifo\.npy is a FIFO, not a regular file/);
    r = await predict(join(dir, 'nr-P.csv'));
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/nr-P\.csv: this output is written as \.npy/);
    expect(readFileSync(target, 'utf8')).toBe('target');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('a missing targets file is an I/O error (exit 4) naming it', async () => {
    const x = npy('mt-x.npy', 6, 3);
    const r = await start(['predict', '--arch', 'mlp:depth=2', '--train', x, '--targets', join(dir, 'no-targets.npy'), '--test', x, '--kernel', 'nngp', '--out', join(dir, 'mt-P.npy')]);
    expect(r.code).toBe(4);
    expect(oneLine(r)).toMatch(/cannot read input .*no-targets\.npy: no such file or folder \(ENOENT\)/);
  });

  it('usage errors are one line too', async () => {
    const x = npy('usage-x.npy', 3, 2);
    const r = await start(['gram', '--arch', 'mlp:depth=2', '--x1', x, '--out', join(dir, 'usage-K.npy'), '--bogus']);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/^webntk: error: unknown option '--bogus' \(see --help\)$/);
  });
});

describe.runIf(isRoot)('file systems that refuse: one line naming the path and the cause, exit 4, the old output kept', () => {
  it('ENOSPC while writing (a full tmpfs): nothing new, the existing output untouched', async () => {
    const full = mount('full', 'size=64k');
    writeFileSync(join(full, 'fig.json'), 'old result: keep me');
    writeFileSync(join(full, 'filler'), new Uint8Array(64 * 1024 - 12 * 1024)); // ~12 KiB left
    const r = await start(['analyze', 'profile', '--arch', 'mlp:depth=2', '--arch', 'arora2019:depth=3', '--out', join(full, 'fig')]);
    expect(r.code, r.err).toBe(4);
    expect(oneLine(r)).toMatch(/^webntk: error: cannot write .*full\/fig\.(json|csv|svg): no space left on the device \(ENOSPC\)$/);
    expect(readdirSync(full).sort()).toEqual(['fig.json', 'filler']);
    expect(readFileSync(join(full, 'fig.json'), 'utf8')).toBe('old result: keep me');
  });

  it('the second of two outputs fails (ENOSPC): the first keeps its old contents too', async () => {
    const small = mount('small', 'size=64k');
    writeFileSync(join(small, 'filler'), new Uint8Array(64 * 1024));
    const x = npy('two-x.npy', 10, 3);
    const y = join(dir, 'two-y.npy');
    writeFileSync(y, encodeNpy([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10], 'float64'));
    const out = join(dir, 'two-P.npy');
    writeFileSync(out, 'old predictions');
    const r = await start(['predict', '--arch', 'mlp:depth=2', '--train', x, '--targets', y, '--test', x, '--kernel', 'nngp', '--out', out, '--variance', join(small, 'V.npy')]);
    expect(r.code, r.err).toBe(4);
    expect(oneLine(r)).toMatch(/cannot write .*small\/V\.npy: no space left on the device \(ENOSPC\)/);
    expect(readFileSync(out, 'utf8')).toBe('old predictions');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(readdirSync(small)).toEqual(['filler']);
  });

  it('EROFS: a read-only file system', async () => {
    const ro = mount('ro', 'size=64k,ro');
    const x = npy('ro-x.npy', 4, 3);
    const r = await start(['gram', '--arch', 'arora2019:depth=2', '--x1', x, '--out', join(ro, 'K.npy')]);
    expect(r.code).toBe(4);
    expect(oneLine(r)).toMatch(/^webntk: error: cannot write .*ro\/K\.npy: read-only file system \(EROFS\)$/);
  });

  it('EACCES on an output folder and on an input, as an ordinary user', async () => {
    const x = npy('acc-x.npy', 4, 3);
    chmodSync(x, 0o644);
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    let r = await start(['gram', '--arch', 'arora2019:depth=2', '--x1', x, '--out', join(locked, 'K.npy')], undefined, { uid: 65534, cwd: '/' });
    expect(r.code, r.err).toBe(4);
    expect(oneLine(r)).toMatch(/^webntk: error: cannot write .*locked\/K\.npy: permission denied \(EACCES\)$/);
    const secret = npy('secret.npy', 4, 3);
    chmodSync(secret, 0o600);
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    r = await start(['gram', '--arch', 'arora2019:depth=2', '--x1', secret, '--out', join(open, 'K.npy')], undefined, { uid: 65534, cwd: '/' });
    expect(r.code, r.err).toBe(4);
    expect(oneLine(r)).toMatch(/^webntk: error: cannot read input .*secret\.npy: permission denied \(EACCES\)$/);
    expect(readdirSync(locked)).toEqual([]);
    expect(readdirSync(open)).toEqual([]);
  });

  it('ENOENT and EISDIR: a missing output folder, an output that is a directory, a missing input', async () => {
    const x = npy('e-x.npy', 4, 3);
    let r = await start(['gram', '--arch', 'arora2019:depth=2', '--x1', x, '--out', join(dir, 'nope', 'K.npy')]);
    expect(r.code).toBe(4);
    expect(oneLine(r)).toMatch(/cannot write .*nope\/K\.npy: folder .*nope does not exist/);
    mkdirSync(join(dir, 'isdir.npy'));
    r = await start(['gram', '--arch', 'arora2019:depth=2', '--x1', x, '--out', join(dir, 'isdir.npy')]);
    expect(r.code).toBe(4);
    expect(oneLine(r)).toMatch(/cannot write .*isdir\.npy: it is a directory/);
    r = await start(['gram', '--arch', 'arora2019:depth=2', '--x1', join(dir, 'missing.npy'), '--out', join(dir, 'K2.npy')]);
    expect(r.code).toBe(4);
    expect(oneLine(r)).toMatch(/cannot read input .*missing\.npy: no such file or folder \(ENOENT\)/);
  });
});

describe("quiet output: the WebGPU runtime's own diagnostics only with --verbose", () => {
  it('gram --backend webgpu and info print no Dawn warnings; --verbose shows them', { timeout: 120_000 }, async () => {
    const x = npy('quiet.npy', 8, 3);
    const r = await start(['gram', '--arch', 'arora2019:depth=3', '--x1', x, '--backend', 'webgpu', '--out', join(dir, 'quiet-K.npy')]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^wrote .*quiet-K\.npy: ntk \[8, 8\] float64 \(arora2019, webgpu on .*\)\n$/);
    const info = await start(['info']);
    expect(info.code).toBe(0);
    expect(info.err).toBe('');
    expect(info.out).toMatch(/^runtime: node .*\nadapter: /);
    const verbose = await start(['info', '--verbose']);
    expect(verbose.code).toBe(0);
    expect(verbose.out).toBe(info.out);
    // Dawn on lavapipe warns that it reduced two limits; whatever it says goes to stderr unfiltered.
    expect(verbose.err).toMatch(/Warning: /);
  });

  it('filters in-process where stderr can be reopened (terminal, pipe, /dev/null, 2>>) and behind a child where it cannot (2> file, a socket)', { timeout: 120_000 }, async () => {
    const probe = (redirect: string): string => {
      const js = `import(${JSON.stringify(join(BUILD, 'dist/node/quiet.js'))}).then((m) => process.stdout.write(String(m.canQuietNative())))`;
      const r = spawnSync('bash', ['-c', `node -e '${js}' ${redirect}`], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(probe('')).toBe('false'); // Node's 'pipe' stdio is a socket pair: not reopenable
    expect(probe('2>&1 | cat')).toBe('true'); // a shell pipe
    expect(probe('2>/dev/null')).toBe('true');
    expect(probe('2>>probe-append.txt')).toBe('true');
    expect(probe('2>probe-write.txt')).toBe('false');
    // A file the shell opened at an offset: what the shell writes next must follow this process's
    // lines, not overwrite them (a reopened descriptor would not advance the shell's offset).
    const x = npy('quiet-file.npy', 8, 3);
    for (const op of ['>', '>>']) {
      const log = join(dir, `quiet-${op === '>' ? 'write' : 'append'}.log`);
      const cmd = `{ node ${CLI} gram --arch arora2019:depth=3 --x1 ${x} --backend webgpu --out ${join(dir, 'quiet-file-K.npy')}; echo after >&2; } 2${op}${log}`;
      const r = spawnSync('bash', ['-c', cmd], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(log, 'utf8')).toMatch(/^wrote .*quiet-file-K\.npy: ntk \[8, 8\] float64 \(arora2019, webgpu on .*\)\nafter\n$/);
    }
  });
});

describe('the stderr filter (src/node/quiet.ts)', () => {
  it("drops Dawn's warnings with their source lines and keeps everything else, partial lines and progress bars included", async () => {
    const { NoiseFilter, wantsFilter } = await import('../src/node/quiet.js');
    let out = '';
    const f = new NoiseFilter((s) => (out += s));
    f.push('Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n');
    f.push("Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open\n    at operator() (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)\n\n");
    f.push('webntk gram [===   ] 1/4 blocks\r');
    f.push('webntk gram [======] 4/4 blo');
    f.push('cks\n  indented user text\n\nwrote K.npy\n');
    f.flush();
    expect(out).toBe('webntk gram [===   ] 1/4 blocks\rwebntk gram [======] 4/4 blocks\n  indented user text\n\nwrote K.npy\n');
    expect(wantsFilter(['gram', '--backend', 'webgpu'], {})).toBe(true);
    expect(wantsFilter(['gram', '--backend=auto'], {})).toBe(true);
    expect(wantsFilter(['gram', '--backend', 'cpu'], {})).toBe(false);
    expect(wantsFilter(['predict', '--solver', 'cg'], {})).toBe(true);
    expect(wantsFilter(['info', '--verbose'], {})).toBe(false);
    expect(wantsFilter(['info'], { WEBNTK_FILTERED_CHILD: '1' })).toBe(false);
    expect(wantsFilter(['presets'], {})).toBe(false);
  });
});
