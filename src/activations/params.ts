/** Small readers for activation parameters: every problem is one SpecError naming its path. */
import { SpecError } from '../errors.js';
import { jsValue } from '../jsvalue.js';

export function knownKeys(obj: Record<string, unknown>, keys: readonly string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k)) {
      const where = /^[A-Za-z_$][\w$]*$/.test(k) ? (path ? `${path}.${k}` : k) : `${path}[${jsValue(k)}]`;
      throw new SpecError(where, `unknown key (allowed: ${keys.join(', ')})`);
    }
  }
}

/** A required finite number. */
export function requiredNumber(obj: Record<string, unknown>, key: string, path: string): number {
  const where = path ? `${path}.${key}` : key;
  const v = obj[key];
  if (v === undefined) throw new SpecError(where, 'missing parameter');
  if (typeof v !== 'number') throw new SpecError(where, `must be a number, got ${jsValue(v)}`);
  if (!Number.isFinite(v)) throw new SpecError(where, `must be finite, got ${v}`);
  return v;
}

/** A layer without parameters: only its `type` key is allowed. */
export function noParams<T extends string>(obj: Record<string, unknown>, type: T, path: string): { type: T } {
  knownKeys(obj, ['type'], path);
  return { type };
}

/** A number for a description (integers as such, others to 6 significant digits). */
export const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(6).replace(/\.?0+$/, ''));
