/**
 * Every code example in the project's Markdown (README.md, docs/, demo/, data/, …) runs here, against
 * the package built from this tree, and a failing example is a failing test.
 *
 * - Blocks fenced as sh/bash/shell/console run command by command with bash (`\` continuations
 *   joined, `$ ` prompts and comment lines dropped) in a fresh folder inside a temp project where
 *   `webntk` and `npx webntk` are the built CLI and the input files the examples name exist (X.npy,
 *   T.npy, y.npy, labels.npy, X.csv, my-net.json, …: see `writeFixtures`). Each command must exit 0
 *   (or the code its trailing comment documents: `# exits 2`) without printing a stack trace.
 * - Blocks fenced as js/javascript/mjs and ts/typescript run as ES modules (`node --import tsx`) in
 *   the same kind of folder, importing `webntk` and `webntk/node` from the temp project's
 *   node_modules; they must exit 0 (so they must also let Node exit) with no uncaught error. A
 *   statement line that documents its value, `await cuspSlope('…');  // 0.138945 (Tirer et al.)`,
 *   must produce a number that rounds to it.
 * - Blocks fenced as json that hold an architecture (a `layers` field) must be accepted by
 *   `webntk spec`; other json blocks must parse.
 * - Other blocks (html, text, output listings) are not run; the summary counts them.
 *
 * Markers, HTML comments on the line(s) right before a fence (invisible on the rendered page):
 *   <!-- example: skip (reason) -->      not run; the reason is required and printed in the summary
 *   <!-- example: given X, Xtest -->     JS/TS: these variables come from test/examples/given.ts
 *   <!-- example: continues -->          the block continues the previous runnable block of the file
 * Several directives may share one comment, separated by `;`.
 *
 * The TypeScript blocks also type-check together (strict, NodeNext) against the built declarations.
 *
 * The package is built once into the temp project (tsc -p tsconfig.build.json, and the browser build
 * of vite.lib.config.ts as dist-browser/), not into dist/, so the examples run against this tree's
 * sources whatever state dist/ is in and do not disturb other runs that use it.
 */
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/io/npy.js';
import { toSpec } from '../src/index.js';
import { GIVEN, labels, testLabels, X, Xtest, y, Y } from './examples/given.js';
import { markdownFiles, parseMarkdown, readBlocks, shellCommands, withValueChecks, type Block } from './examples/markdown.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GIVEN_MODULE = join(REPO, 'test', 'examples', 'given.ts');
/** Per command or per JS/TS block. */
const COMMAND_TIMEOUT_MS = 150_000;

// ---------------------------------------------------------------------------------------------
// The examples, collected when the file loads (one test each)
// ---------------------------------------------------------------------------------------------

interface Example {
  blocks: Block[]; // the first, then any `continues` blocks joined to it
  code: string;
}

const files = markdownFiles(REPO);
const examples: Example[] = [];
const skipped: Block[] = [];
const notRun: Block[] = [];
const markerProblems: string[] = [];
for (const file of files) {
  const { blocks, strayMarkers } = readBlocks(REPO, file);
  for (const l of strayMarkers) markerProblems.push(`${file}:${l}: an example marker that is not right before a fenced block`);
  let last: Example | null = null;
  for (const b of blocks) {
    for (const e of b.markerErrors) markerProblems.push(`${file}:${b.line}: ${e}`);
    if (b.kind === 'other') {
      notRun.push(b);
      continue;
    }
    if (b.continues) {
      if (!last || last.blocks[0]!.kind !== b.kind) {
        markerProblems.push(`${file}:${b.line}: "continues" but no previous ${b.kind} block in this file`);
        continue;
      }
      if (b.skip !== null) markerProblems.push(`${file}:${b.line}: "continues" and "skip" on one block`);
      last.blocks.push(b);
      last.code += b.code;
      continue;
    }
    if (b.skip !== null) {
      skipped.push(b);
      last = null;
      continue;
    }
    last = { blocks: [b], code: b.code };
    examples.push(last);
  }
}

// ---------------------------------------------------------------------------------------------
// The temp project: the built package, the dependencies, the fixtures
// ---------------------------------------------------------------------------------------------

let TMP = '';
let PROJECT = '';
let FIXTURES = '';
let blockCount = 0;

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  ms: number;
  timedOut: boolean;
}

/** The environment of every example: no npm_* variables of an enclosing `npm test`, the temp bin first. */
function exampleEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'INIT_CWD' || k.startsWith('VITEST') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return {
    ...env,
    PATH: `${join(PROJECT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
    NO_COLOR: '1',
    NPM_CONFIG_OFFLINE: 'true', // `npx webntk` must find the local package, never the registry
    NPM_CONFIG_UPDATE_NOTIFIER: 'false',
    NPM_CONFIG_FUND: 'false',
    NPM_CONFIG_AUDIT: 'false',
  };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = exampleEnv()): Promise<Ran> {
  const t0 = Date.now();
  return new Promise((done, reject) => {
    // detached: the command gets its own process group, so a timeout ends everything it started.
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, COMMAND_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, out, ms: Date.now() - t0, timedOut });
    });
  });
}

/** Writes the input files the shell examples name, from the same values as test/examples/given.ts. */
function writeFixtures(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const f64 = (rows: number[][]) => encodeNpy(Float64Array.from(rows.flat()), [rows.length, rows[0]!.length]);
  const npy = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, name), bytes);
  npy('X.npy', f64(X));
  npy('T.npy', f64(Xtest));
  npy('A.npy', f64(X));
  npy('B.npy', f64(Xtest));
  npy('y.npy', encodeNpy(Float64Array.from(y), [y.length]));
  npy('Y.npy', f64(Y));
  npy('labels.npy', encodeNpy(labels, [labels.length], 'int64'));
  npy('tl.npy', encodeNpy(testLabels, [testLabels.length], 'int64'));
  npy('L.npy', encodeNpy(testLabels, [testLabels.length], 'int64'));
  // Images for the conv examples: 4 one-channel 8×8 images [N, C, H, W], the first 256 values of X.
  npy('images.npy', encodeNpy(Float64Array.from(X.flat().slice(0, 4 * 64)), [4, 1, 8, 8]));
  const csv = (rows: number[][]) => [rows[0]!.map((_, j) => `x${j}`).join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n';
  writeFileSync(join(dir, 'X.csv'), csv(X));
  writeFileSync(join(dir, 'T.csv'), csv(Xtest));
  writeFileSync(join(dir, 'my-net.json'), JSON.stringify(toSpec('resnet:depth=4,alpha=0.5'), null, 2) + '\n');
}

/** A fresh folder for one example, inside the temp project, holding a copy of the fixtures. */
function freshDir(): string {
  const dir = join(PROJECT, 'examples', String(++blockCount));
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(FIXTURES)) copyFileSync(join(FIXTURES, f), join(dir, f));
  return dir;
}

beforeAll(async () => {
  TMP = mkdtempSync(join(tmpdir(), 'webntk-examples-'));
  PROJECT = join(TMP, 'project');
  FIXTURES = join(TMP, 'fixtures');
  const pkgDir = join(PROJECT, 'node_modules', 'webntk');
  mkdirSync(join(PROJECT, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(
    join(PROJECT, 'package.json'),
    JSON.stringify({ name: 'readme-examples', private: true, type: 'module', dependencies: { webntk: `file:${REPO}` } }, null, 2),
  );

  // The package: this tree's sources built as `npm run build` does (shaders embedded, then tsc),
  // but into the temp project; package.json, data/ and shaders/ as in the tarball.
  const env = { ...process.env };
  const embed = await run(process.execPath, [join(REPO, 'scripts', 'embed-shaders.mjs')], REPO, env);
  if (embed.code !== 0) throw new Error(`scripts/embed-shaders.mjs failed:\n${embed.out}`);
  const tsc = await run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', join(pkgDir, 'dist')], REPO, env);
  if (!existsSync(join(pkgDir, 'dist', 'node', 'cli.js'))) throw new Error(`the build failed:\n${tsc.out}`);
  // tsc emits despite type errors; those are `npm test`'s type check's to report, not the examples'.
  if (tsc.code !== 0) console.warn(`tsc reported errors (the examples run on what it emitted):\n${tsc.out}`);
  // The browser build (`npm run build:browser`, which the tarball ships as webntk/browser).
  const vite = await run(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'vite.lib.config.ts', '--outDir', join(pkgDir, 'dist-browser'), '--emptyOutDir'], REPO, env);
  if (vite.code !== 0) throw new Error(`the browser build failed:\n${vite.out}`);
  copyFileSync(join(REPO, 'package.json'), join(pkgDir, 'package.json'));
  for (const d of ['data', 'shaders', 'README.md', 'LICENSE']) {
    if (existsSync(join(REPO, d))) symlinkSync(join(REPO, d), join(pkgDir, d));
  }
  chmodSync(join(pkgDir, 'dist', 'node', 'bin.js'), 0o755);

  // Its dependencies (and the repository's dev tools the examples import, e.g. ml-regression):
  // links into the repository's node_modules, as an install would resolve them.
  for (const name of readdirSync(join(REPO, 'node_modules'))) {
    if (name === '.bin' || name === 'webntk' || name.startsWith('.')) continue;
    symlinkSync(join(REPO, 'node_modules', name), join(PROJECT, 'node_modules', name));
  }
  // `webntk` on PATH and for `npx webntk`: the bin of the installed package.
  symlinkSync('../webntk/dist/node/bin.js', join(PROJECT, 'node_modules', '.bin', 'webntk'));

  writeFixtures(FIXTURES);
}, 180_000);

const summary: string[] = [];
afterAll(() => {
  const lines = [
    `README/docs examples: ${examples.length} run, ${skipped.length} skipped, ${notRun.length} not executable (other languages).`,
    ...skipped.map((b) => `  skipped ${b.file}:${b.line} (${b.lang}): ${b.skip}`),
    ...notRun.map((b) => `  not run ${b.file}:${b.line} (${b.lang || 'no language'})`),
    ...summary,
  ];
  console.log(lines.join('\n'));
  if (TMP && !process.env.WEBNTK_KEEP_EXAMPLES) rmSync(TMP, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Running one example
// ---------------------------------------------------------------------------------------------

/** A Node stack frame (`    at f (file:1:2)` / `    at file:1:2`): an example must not print one. */
const STACK_FRAME = /^\s+at .*(?:\(.*:\d+:\d+\)|:\d+:\d+)\s*$/m;

function describeRun(what: string, r: Ran): string {
  const status = r.timedOut ? `did not finish within ${COMMAND_TIMEOUT_MS / 1000} s (killed)` : r.signal ? `was killed by ${r.signal}` : `exited ${r.code}`;
  return `${what} ${status} after ${(r.ms / 1000).toFixed(1)} s; output:\n${r.out.slice(-6000)}`;
}

/** The exit code a trailing comment documents (`# exits 2`, `# exit code 3`), else 0. */
function expectedExit(command: string): number {
  const comment = command.match(/\s#\s(.*)$/)?.[1] ?? '';
  const m = comment.match(/\bexit(?:s| code| status)?\s+(\d+)\b/i);
  return m ? Number(m[1]) : 0;
}

async function runShell(ex: Example, where: string): Promise<void> {
  let cwd = freshDir();
  const cwdFile = join(cwd, '..', `${basename(cwd)}.cwd`);
  const b = ex.blocks[0]!;
  for (const { line, command } of shellCommands(ex.code)) {
    // One bash per command (its own exit code and output), the working directory carried over (`cd`).
    const script = `${command}\n__rc=$?; pwd > ${JSON.stringify(cwdFile)}; exit $__rc\n`;
    const r = await run('bash', ['-o', 'pipefail', '-c', script], cwd);
    if (existsSync(cwdFile)) cwd = readFileSync(cwdFile, 'utf8').trim();
    const what = `${where}, line ${b.line + 1 + line}: \`${command}\``;
    expect(r.timedOut || r.signal !== null ? -1 : r.code, describeRun(what, r)).toBe(expectedExit(command));
    expect(STACK_FRAME.test(r.out), `${what} printed a stack trace:\n${r.out.slice(-6000)}`).toBe(false);
    summary.push(`  ${(r.ms / 1000).toFixed(1).padStart(5)} s  ${where}: ${command.length > 100 ? command.slice(0, 97) + '…' : command}`);
  }
}

async function runModule(ex: Example, where: string): Promise<void> {
  const dir = freshDir();
  const b = ex.blocks[0]!;
  const given = [...new Set(ex.blocks.flatMap((x) => x.given))];
  const unknown = given.filter((n) => !(n in GIVEN));
  expect(unknown, `${where}: "given" names that test/examples/given.ts does not export`).toEqual([]);
  const prelude = given.length ? `import { ${given.join(', ')} } from ${JSON.stringify(GIVEN_MODULE)};\n` : '';
  const file = join(dir, b.kind === 'ts' ? 'example.mts' : 'example.mjs');
  const { code, checks } = withValueChecks(ex.code);
  writeFileSync(file, prelude + code);
  const r = await run(process.execPath, ['--import', 'tsx', file], dir);
  expect(r.timedOut || r.signal !== null ? -1 : r.code, describeRun(where, r)).toBe(0);
  expect(STACK_FRAME.test(r.out), `${where} printed a stack trace:\n${r.out.slice(-6000)}`).toBe(false);
  summary.push(`  ${(r.ms / 1000).toFixed(1).padStart(5)} s  ${where}${checks ? ` (${checks} documented value${checks > 1 ? 's' : ''} checked)` : ''}`);
}

async function runJson(ex: Example, where: string): Promise<void> {
  let value: unknown;
  expect(() => (value = JSON.parse(ex.code)), `${where}: not valid JSON`).not.toThrow();
  if (value === null || typeof value !== 'object' || !('layers' in value)) return;
  const dir = freshDir();
  writeFileSync(join(dir, 'example.json'), ex.code);
  const r = await run('webntk', ['spec', './example.json'], dir);
  expect(r.code, describeRun(`${where}: webntk spec of the architecture`, r)).toBe(0);
  summary.push(`  ${(r.ms / 1000).toFixed(1).padStart(5)} s  ${where} (webntk spec)`);
}

// ---------------------------------------------------------------------------------------------

describe('README and docs examples', () => {
  it('markers are well formed (skip has a reason, known directives, each before a block)', () => {
    expect(markerProblems).toEqual([]);
  });

  it('the examples were found', () => {
    expect(files).toContain('README.md');
    expect(examples.filter((e) => e.blocks[0]!.file === 'README.md').length).toBeGreaterThan(3);
  });

  const tsExamples = examples.filter((e) => e.blocks[0]!.kind === 'ts');
  it.runIf(tsExamples.length > 0)('the TypeScript examples type-check (strict) against the built declarations', async () => {
    // As a consumer compiles them: NodeNext, strict, the package's own .d.ts files (skipLibCheck
    // only for dependencies'). ml-regression ships no types, so it is declared as `any`.
    const dir = join(PROJECT, 'typecheck');
    mkdirSync(dir, { recursive: true });
    const names = tsExamples.map((ex, i) => {
      const given = [...new Set(ex.blocks.flatMap((x) => x.given))];
      const prelude = given.length ? `import { ${given.join(', ')} } from ${JSON.stringify(GIVEN_MODULE)};\n` : '';
      const name = `example-${i}.mts`;
      writeFileSync(join(dir, name), prelude + ex.code);
      return name;
    });
    writeFileSync(join(dir, 'untyped-dependencies.d.ts'), "declare module 'ml-regression';\n");
    const config = {
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, allowImportingTsExtensions: true, types: ['node'] },
      files: [...names, 'untyped-dependencies.d.ts'],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2));
    const r = await run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir);
    const where = (n: string) => {
      const ex = tsExamples[Number(n.match(/example-(\d+)/)![1])]!;
      return `${ex.blocks[0]!.file}:${ex.blocks.map((b) => b.line).join('+')}`;
    };
    const report = r.out.replace(/example-\d+\.mts/g, (n) => where(n));
    expect(r.code, `tsc on the TypeScript examples (line numbers count from the block's first line, plus one for a "given" import):\n${report}`).toBe(0);
    summary.push(`  ${(r.ms / 1000).toFixed(1).padStart(5)} s  type check of ${tsExamples.length} TypeScript examples`);
  });

  for (const ex of examples) {
    const b = ex.blocks[0]!;
    const lines = ex.blocks.map((x) => x.line).join('+');
    const first = (b.kind === 'shell' ? shellCommands(ex.code)[0]?.command : ex.code.split('\n').find((l) => l.trim() && !l.startsWith('import'))) ?? '';
    const where = `${b.file}:${lines} (${b.lang})`;
    const title = `${where}: ${first.length > 70 ? first.slice(0, 67) + '…' : first}`;
    it(title, { timeout: 600_000 }, async () => {
      if (b.kind === 'shell') await runShell(ex, where);
      else if (b.kind === 'json') await runJson(ex, where);
      else await runModule(ex, where);
    });
  }
});

describe('example extraction', () => {
  it('reads markers, skips with reasons, fragments and shell continuations', () => {
    const md = [
      '<!-- example: skip (opens a browser; needs a display) -->',
      '```sh',
      'npm run demo',
      '```',
      '<!-- example: given X, Xtest -->',
      '',
      '```ts',
      'kernel(X, Xtest);',
      '```',
      '<!-- example: continues; skip -->',
      '```ts',
      '```',
      '<!-- example: frobnicate -->',
      'text',
      '```console',
      '$ webntk gram --arch mlp:depth=2 \\',
      '    --x1 X.npy --out K.npy   # a comment',
      '# a comment line',
      '',
      'webntk spec mlp',
      '```',
    ].join('\n');
    const { blocks, strayMarkers } = parseMarkdown(md, 'x.md');
    expect(blocks.map((b) => [b.line, b.kind])).toEqual([[2, 'shell'], [7, 'ts'], [11, 'ts'], [15, 'shell']]);
    expect(blocks[0]!.skip).toBe('opens a browser; needs a display');
    expect(blocks[1]!.given).toEqual(['X', 'Xtest']);
    expect(blocks[2]!.continues).toBe(true);
    expect(blocks[2]!.markerErrors).toHaveLength(1); // a skip without a reason
    expect(strayMarkers).toEqual([13]);
    expect(shellCommands(blocks[3]!.code).map((c) => ({ ...c, command: c.command.replace(/\s+/g, ' ') }))).toEqual([
      { line: 0, command: 'webntk gram --arch mlp:depth=2 --x1 X.npy --out K.npy # a comment' },
      { line: 4, command: 'webntk spec mlp' },
    ]);
  });

  it('turns documented values into checks', () => {
    const { code, checks } = withValueChecks("await f(1);   // 0.138945 (Tirer et al.)\nconst a = 1; // 2\nr.mean;  // [m × 10]\n");
    expect(checks).toBe(1);
    expect(code.split('\n')[0]).toBe('__checkDocumentedValue(await f(1), "0.138945", "await f(1);   // 0.138945 (Tirer et al.)");');
  });
});
