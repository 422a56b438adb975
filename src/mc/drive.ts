/**
 * One definition of a computation that runs synchronously on the CPU and asynchronously on a
 * device (trainNetwork, dynamicsSweep): a generator that yields each value it waits for (a plain
 * value on the CPU, a Promise on the device) and is resumed with it, run by `runSync` or `runAsync`.
 */
export type Steps<T> = Generator<unknown, T, unknown>;

/** The value of v, inside a generator: `const x = yield* wait(model.outputs())`. */
export function* wait<T>(v: T | Promise<T>): Steps<T> {
  return (yield v) as T;
}

/** Runs steps that yield no Promise (the CPU). */
export function runSync<T>(g: Steps<T>): T {
  let s = g.next();
  while (!s.done) {
    if (s.value instanceof Promise) throw new Error('internal: a device operation in a synchronous run');
    s = g.next(s.value);
  }
  return s.value;
}

/** Runs steps, awaiting each value; a rejection is thrown into the generator (its catch and finally run). */
export async function runAsync<T>(g: Steps<T>): Promise<T> {
  let s = g.next();
  while (!s.done) {
    let v: unknown;
    try {
      v = await s.value;
    } catch (e) {
      s = g.throw(e);
      continue;
    }
    s = g.next(v);
  }
  return s.value;
}
