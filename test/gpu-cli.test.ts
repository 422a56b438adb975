/** The CLI on WebGPU, as a real process: `gram --backend webgpu|auto`, `info`, and no adapter. */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelCpu } from '../src/index.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { normalisedError } from './gpu/setup.js';

const dir = mkdtempSync(join(tmpdir(), 'webntk-gpu-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/node/cli.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => !/artificially reduced/.test(l) && l.trim()).join('\n') };
}

const X = Array.from({ length: 30 }, (_, i) => Array.from({ length: 6 }, (_, k) => Math.fround(Math.sin(i * 7 + k * 3) + (k === i % 6 ? 1 : 0))));
const xFile = join(dir, 'X.npy');
writeFileSync(xFile, encodeNpy(X.flat(), [30, 6]));

describe('webntk on WebGPU from the command line', () => {
  it('gram --backend webgpu writes the kernel, agrees with the CPU, says which adapter ran, and exits', () => {
    const out = join(dir, 'K.npy');
    const r = cli(['gram', '--arch', 'densenet:depth=30', '--x1', xFile, '--backend', 'webgpu', '--get', 'ntk', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/webgpu on .+/);
    const k = parseNpy(readFileSync(out));
    expect(k.shape).toEqual([30, 30]);
    const cpu = kernelCpu('densenet:depth=30', X);
    expect(normalisedError(cpu.ntk!, k.data, 30)).toBeLessThan(1e-5);
  });

  it('gram --angle-table on/off: the table and the layer recursion agree, and --profile says which ran', () => {
    const ks: Float64Array[] = [];
    for (const mode of ['on', 'off']) {
      const out = join(dir, `T-${mode}.npy`);
      const r = cli(['gram', '--arch', 'resnet:depth=40,alpha=0.5', '--x1', xFile, '--backend', 'webgpu', '--angle-table', mode, '--out', out, '--json', '--profile']);
      expect(r.code, r.err).toBe(0);
      const segs = JSON.parse(r.out.trim().split('\n').at(-1)!).phases.angleTableSegments;
      if (mode === 'on') expect(segs).toBeGreaterThan(0);
      else expect(segs).toBe(0);
      ks.push(parseNpy(readFileSync(out)).data);
    }
    expect(normalisedError(ks[1]!, ks[0]!, 30)).toBeLessThan(1e-6);
    const cpu = kernelCpu('resnet:depth=40,alpha=0.5', X);
    expect(normalisedError(cpu.ntk!, ks[0]!, 30)).toBeLessThan(1e-5);
  });

  it('gram --backend auto uses the adapter', () => {
    const r = cli(['gram', '--arch', 'arora2019:depth=3', '--x1', xFile, '--backend', 'auto', '--out', join(dir, 'A.npy')]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/webgpu on /);
  });

  it('info prints the runtime, the adapter, its limits and features', () => {
    const r = cli(['info']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^runtime: node /m);
    expect(r.out).toMatch(/^adapter: /m);
    expect(r.out).toMatch(/fallback adapter: (yes|no)/);
    expect(r.out).toMatch(/maxStorageBufferBindingSize: \d+/);
    expect(r.out).toMatch(/^features: /m);
    const j = JSON.parse(cli(['info', '--json']).out) as { adapter: { description: string }; limits: Record<string, number> };
    expect(j.limits.maxBufferSize).toBeGreaterThan(0);
  });

  it('without an adapter: --backend webgpu is an error (exit 2, no file), auto falls back and says so, info exits 3', () => {
    const noGpu = { VK_ICD_FILENAMES: join(dir, 'no-such-icd.json'), VK_DRIVER_FILES: join(dir, 'no-such-icd.json') };
    const out = join(dir, 'N.npy');
    const r = cli(['gram', '--arch', 'arora2019:depth=3', '--x1', xFile, '--backend', 'webgpu', '--out', out], noGpu);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no WebGPU adapter/);
    // One line from webntk (the Vulkan loader adds its own warnings about the missing driver).
    expect(r.err.split('\n').filter((l) => l.startsWith('webntk:'))).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
    const auto = cli(['gram', '--arch', 'arora2019:depth=3', '--x1', xFile, '--backend', 'auto', '--out', out], noGpu);
    expect(auto.code, auto.err).toBe(0);
    expect(auto.err).toMatch(/cpu float64/);
    const info = cli(['info'], noGpu);
    expect(info.code).toBe(3);
    expect(info.out).toMatch(/no adapter/);
  });

  // After a WebGPU command the process ends with process.exit (cli.ts runMain: Dawn's teardown is
  // skipped), once stdout and stderr have flushed: the JSON must arrive whole through a socket
  // (spawnSync's pipe) and through a file, in-process filter or child filter alike, with the code.
  it.each([
    ['stderr a socket (child-process filter)', 'pipe'],
    ['stderr a file opened for appending (in-process filter)', 'file'],
  ] as const)('the fast exit after a device: --json arrives whole, exit codes kept (%s)', (_, how) => {
    const errPath = join(dir, `err-${how}.log`);
    const run = (args: string[]) => {
      writeFileSync(errPath, '');
      const errFd = how === 'file' ? openSync(errPath, 'a') : 'pipe';
      const r = spawnSync(process.execPath, ['dist/node/bin.js', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', errFd], timeout: 60_000 });
      if (typeof errFd === 'number') closeSync(errFd);
      return { code: r.status, out: r.stdout, err: how === 'file' ? readFileSync(errPath, 'utf8') : r.stderr };
    };
    const out = join(dir, `J-${how}.npy`);
    const r = run(['gram', '--arch', 'arora2019:depth=4', '--x1', xFile, '--backend', 'webgpu', '--get', 'nngp,ntk', '--out', out, '--json', '--profile']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out.trim());
    expect(j.phases.device).toBeGreaterThan(0);
    expect(existsSync(join(dir, `J-${how}-ntk.npy`))).toBe(true);
    // An output into a folder that does not exist: exit 4 (an I/O fault), its one line kept.
    const bad = run(['gram', '--arch', 'arora2019:depth=4', '--x1', xFile, '--backend', 'webgpu', '--out', join(dir, 'no-such-dir', 'K.npy')]);
    expect(bad.code).toBe(4);
    expect(bad.err).toMatch(/no-such-dir/);
  });
});

describe('exitNodeWebGPU (webntk/node): a script ends without waiting for Dawn', () => {
  // The script writes more than a pipe holds (64 KiB) after a WebGPU kernel, then exits through it:
  // the code is the one given and every byte arrives (stdout is flushed before process.exit).
  it('exits with the code given, stdout complete, with a device open and without one', () => {
    const script = join(dir, 'exit.mts');
    const src = (p: string) => JSON.stringify(join(process.cwd(), p));
    writeFileSync(
      script,
      `import { kernel } from ${src('src/index.ts')};
import { exitNodeWebGPU, useNodeWebGPU } from ${src('src/node/index.ts')};
if (process.argv[2] === 'gpu') {
  useNodeWebGPU();
  const r = await kernel('arora2019:depth=3', [[1, 2, 3], [3, 2, 1]], null, { backend: 'webgpu' });
  if (r.backend !== 'webgpu') throw new Error(r.backend);
}
process.stdout.write('x'.repeat(1 << 20) + '\\nend\\n');
await exitNodeWebGPU(3);
process.stdout.write('not reached\\n');
`,
    );
    for (const mode of ['gpu', 'cpu']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', script, mode], { encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 22 });
      expect(r.status, r.stderr).toBe(3);
      expect(r.stdout.length).toBe((1 << 20) + 5);
      expect(r.stdout.endsWith('\nend\n')).toBe(true);
    }
  });
});
