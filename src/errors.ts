/**
 * Errors that describe bad input (a spec, a parameter, a matrix, a file). The CLI maps them to
 * exit code 2; every other exception is an internal failure (exit code 1).
 */
export class InputError extends Error {
  override name = 'InputError';
}

/** A problem in an architecture spec; `path` says where (e.g. `layers[2].weightVar`). */
export class SpecError extends InputError {
  override name = 'SpecError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(path ? `${path}: ${problem}` : problem);
  }
}

/**
 * The file system refused an operation on a named file (no space, read-only, permission, missing
 * folder, a directory where a file was expected, a file too large). The CLI maps it to exit code 4;
 * it is an InputError, so that library callers catch every "your file or data" problem as one type.
 */
export class IoError extends InputError {
  override name = 'IoError';
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const FS_CAUSES: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for the file system',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EEXIST: 'already exists',
  ERR_FS_FILE_TOO_LARGE: 'file too large to read at once (over 2 GiB)',
};

/** `cannot <action> <path>: <cause> (<CODE>)` for a Node file-system error; other errors pass through. */
export function fsError(e: unknown, action: string, path: string): Error {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^E[A-Z_]+$/.test(code)) return e as Error;
  const cause = FS_CAUSES[code] ?? String((e as Error).message).replace(/^[A-Z]+: /, '');
  return new IoError(path, code, `cannot ${action} ${path}: ${cause} (${code})`);
}

/** A computation that cannot complete on the GPU device: device loss, validation or memory errors. */
export class GpuError extends Error {
  override name = 'GpuError';
}

/** For exhaustive switches: a value the type system says cannot occur is an internal error. */
export function assertNever(x: never, what: string): never {
  throw new Error(`internal error: unhandled ${what} ${JSON.stringify(x)}`);
}
