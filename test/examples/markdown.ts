/**
 * Fenced code blocks of the project's Markdown files, with the `<!-- example: … -->` markers that
 * precede them (see test/readme-examples.test.ts for what the markers mean).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export type Kind = 'shell' | 'js' | 'ts' | 'json' | 'other';

export interface Block {
  /** Path relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word, lower-cased ('' for none). */
  lang: string;
  kind: Kind;
  code: string;
  /** Directives of the markers right before the fence (blank lines between are allowed). */
  skip: string | null;
  given: string[];
  continues: boolean;
  /** Problems with the markers themselves (unknown directive, skip without a reason, …). */
  markerErrors: string[];
}

const LANGS: Record<string, Kind> = {
  sh: 'shell',
  bash: 'shell',
  shell: 'shell',
  console: 'shell',
  zsh: 'shell',
  js: 'js',
  javascript: 'js',
  mjs: 'js',
  ts: 'ts',
  typescript: 'ts',
  mts: 'ts',
  json: 'json',
};

const MARKER = /^\s*<!--\s*example:(.*?)-->\s*$/;

/** Parses the directives of one marker comment into `block` (several may be joined with `;`). */
function applyDirectives(text: string, block: Block): void {
  // `;` separates directives, except inside a skip's parenthesised reason.
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ';' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  for (const raw of parts) {
    const d = raw.trim();
    if (d === '') continue;
    let m: RegExpMatchArray | null;
    if ((m = d.match(/^skip\b\s*(.*)$/s))) {
      const reason = m[1]!.match(/^\((.*)\)$/s)?.[1]?.trim() ?? '';
      if (reason === '') block.markerErrors.push(`"${d}": a skip must give its reason in parentheses, e.g. skip (opens a browser)`);
      else block.skip = reason;
    } else if ((m = d.match(/^given\s+(.+)$/s))) {
      block.given.push(...m[1]!.split(',').map((s) => s.trim()).filter(Boolean));
    } else if (d === 'continues') {
      block.continues = true;
    } else {
      block.markerErrors.push(`unknown directive "${d}" (known: skip (reason), given NAME, …, continues)`);
    }
  }
}

/** The fenced blocks of one Markdown text, plus markers that precede no block. */
export function parseMarkdown(text: string, file: string): { blocks: Block[]; strayMarkers: number[] } {
  const lines = text.split(/\r?\n/);
  const blocks: Block[] = [];
  const strayMarkers: number[] = [];
  let pending: { line: number; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const marker = line.match(MARKER);
    if (marker) {
      pending.push({ line: i + 1, text: marker[1]! });
      continue;
    }
    const open = line.match(/^(\s*)(`{3,}|~{3,})\s*([^`\s]*)(.*)$/);
    if (!open) {
      if (line.trim() !== '' && pending.length) {
        strayMarkers.push(...pending.map((p) => p.line));
        pending = [];
      }
      continue;
    }
    const indent = open[1]!.length;
    const fence = open[2]!;
    const lang = open[3]!.toLowerCase();
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      const t = l.trimStart();
      if (t.startsWith(fence[0]!.repeat(fence.length)) && t.replace(new RegExp(`^\\${fence[0]}+`), '').trim() === '') break;
      body.push(l.slice(Math.min(indent, l.length - l.trimStart().length)));
    }
    const block: Block = {
      file,
      line: i + 1,
      lang,
      kind: LANGS[lang] ?? 'other',
      code: body.join('\n') + '\n',
      skip: null,
      given: [],
      continues: false,
      markerErrors: [],
    };
    for (const p of pending) applyDirectives(p.text, block);
    pending = [];
    blocks.push(block);
    i = j;
  }
  strayMarkers.push(...pending.map((p) => p.line));
  return { blocks, strayMarkers };
}

const IGNORED_DIRS = new Set(['node_modules', 'dist', 'dist-browser', '.git', 'test-artifacts', 'coverage']);

/** The project's Markdown files (relative paths), outside build outputs and dependencies. */
export function markdownFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      if (IGNORED_DIRS.has(name) || name.startsWith('.')) continue;
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (name.toLowerCase().endsWith('.md')) out.push(relative(root, p));
    }
  };
  walk(root);
  return out;
}

export function readBlocks(root: string, file: string): { blocks: Block[]; strayMarkers: number[] } {
  return parseMarkdown(readFileSync(join(root, file), 'utf8'), file);
}

/**
 * The command lines of a shell block: `\` continuations joined, `$ `/`> ` prompts removed, comment
 * lines and blank lines dropped (a trailing `# comment` is left to bash). Each entry keeps the
 * block-relative line where the command starts.
 */
export function shellCommands(code: string): { line: number; command: string }[] {
  const lines = code.split('\n');
  const out: { line: number; command: string }[] = [];
  let current: string | null = null;
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!;
    if (current === null) {
      l = l.replace(/^\s*\$\s/, '');
      if (l.trim() === '' || l.trim().startsWith('#')) continue;
      start = i;
      current = '';
    }
    if (/\\\s*$/.test(l)) {
      current += l.replace(/\\\s*$/, ' ');
      continue;
    }
    current += l;
    out.push({ line: start, command: current.trim() });
    current = null;
  }
  if (current !== null) out.push({ line: start, command: current.trim() });
  return out;
}

/**
 * A statement line `EXPRESSION;  // 0.138945 (…)` documents the value of the expression: it becomes
 * a check that the value, a number, rounds to the documented one at its number of digits.
 */
export function withValueChecks(code: string): { code: string; checks: number } {
  let checks = 0;
  const lines = code.split('\n').map((line) => {
    const m = line.match(/^(\s*)(.+?);\s*\/\/\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)(?=[\s,;)]|$)(.*)$/i);
    if (!m || /^(const|let|var|import|export|for|if|while|return|throw)\b/.test(m[2]!)) return line;
    checks++;
    return `${m[1]}__checkDocumentedValue(${m[2]}, ${JSON.stringify(m[3])}, ${JSON.stringify(line.trim())});`;
  });
  if (checks === 0) return { code, checks };
  const helper = `
function __checkDocumentedValue(value, documented, line) {
  const digits = (documented.split(/e/i)[0].split('.')[1] ?? '').length;
  const exponent = /e/i.test(documented) ? Number(documented.split(/e/i)[1]) : 0;
  const tolerance = 0.5 * 10 ** (exponent - digits) * (1 + 1e-9);
  if (typeof value !== 'number' || !(Math.abs(value - Number(documented)) <= tolerance)) {
    console.error('documented value ' + documented + ' but got ' + String(value) + ': ' + line);
    process.exitCode = 1;
  }
}
`;
  return { code: lines.join('\n') + helper, checks };
}
