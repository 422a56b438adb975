/** The webntk version, from package.json (two folders up from src/node/ and from dist/node/ alike). */
import { readFileSync } from 'node:fs';

export function webntkVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
