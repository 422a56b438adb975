/**
 * The CLI as a separate process, for tests that signal or kill it: src/ transpiled file by file
 * with TypeScript's transpileModule into a temporary folder (seconds, where a full tsc build takes
 * tens of seconds; the type check is `npm test`'s tsc), run with node as the `webntk` bin is.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the transpiled CLI; `cli` is its bin.js, `remove()` deletes the folder. */
export function transpiledCli(): { cli: string; remove(): void } {
  const build = mkdtempSync(join(tmpdir(), 'webntk-cli-build-'));
  copyFileSync(join(REPO, 'package.json'), join(build, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(build, 'node_modules'), 'dir');
  const src = join(REPO, 'src');
  for (const f of readdirSync(src, { recursive: true }) as string[]) {
    if (!f.endsWith('.ts') || f.endsWith('.d.ts')) continue;
    const out = ts.transpileModule(readFileSync(join(src, f), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: f,
    }).outputText;
    const dest = join(build, 'dist', f.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, out);
  }
  return { cli: join(build, 'dist/node/bin.js'), remove: () => rmSync(build, { recursive: true, force: true }) };
}
