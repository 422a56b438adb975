/**
 * A value for an error message (a spec value, or whatever a JavaScript caller passed): compact
 * JSON where possible (`[3,-1]`, `"int32"`), numbers as String() writes them, and something
 * readable for what JSON cannot hold (BigInt as `2n`, symbols, functions, cyclic objects), where
 * JSON.stringify and string conversion would throw. Never throws; one line; at most 80 characters.
 */
export function jsValue(v: unknown): string {
  let s = primitive(v);
  if (s === undefined) {
    try {
      s = JSON.stringify(v);
    } catch {
      s = undefined;
    }
    // Arrays JSON cannot write (a BigInt inside), one level deep: [2n,3].
    if (s === undefined && Array.isArray(v)) s = `[${v.slice(0, 20).map((x) => primitive(x) ?? '…').join(',')}${v.length > 20 ? ',…' : ''}]`;
    s ??= v === undefined ? 'undefined' : Object.prototype.toString.call(v);
  }
  s = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

function primitive(v: unknown): string | undefined {
  switch (typeof v) {
    case 'number':
    case 'boolean':
      return String(v);
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return v.toString();
    case 'function':
      return 'a function';
    case 'string':
      return JSON.stringify(v);
    case 'undefined':
      return 'undefined';
    default:
      return v === null ? 'null' : undefined;
  }
}
