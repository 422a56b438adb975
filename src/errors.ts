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
