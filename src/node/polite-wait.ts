/**
 * Waiting for Dawn without taking a core from the adapter. dawn.node resolves its promises by
 * polling: while one is pending it queues `ProcessEvents()` again with setImmediate after every
 * poll, a busy loop that holds Node's main thread at nearly a full core (each turn also creates a
 * function and a handle, so the garbage collector runs too). On a CPU adapter (lavapipe) the
 * device's worker threads share the machine's cores with that loop. Measured with `perf` on the
 * 2-core machine, during a Gram of 4096 rows on lavapipe: the main thread was running in 75–95 % of
 * the samples and each of lavapipe's two workers in about 35 %; slowing the loop left the first
 * layer 0.60 → 0.34 s and the recursion 1.08 → 0.66 s.
 *
 * So while any Dawn promise is pending (their methods are wrapped once, on the classes' prototypes:
 * the objects stay Dawn's own, as its native calls need), each turn of the event loop ends with a
 * short sleep (Atomics.wait, allowed on Node's main thread): 0.02 ms at first, doubling to 1 ms.
 * A short wait resolves as before; a long one polls ~1000 times a second. Only on CPU adapters
 * (`setPoliteWaiting`): a real GPU does not share the host's cores, and there a wait's latency,
 * not a core, is what matters.
 */

const FIRST_NAP_MS = 0.02;
const LONGEST_NAP_MS = 1;

/** The promise-returning methods of dawn.node's classes, by class (what a computation awaits). */
const WAITS: Record<string, string[]> = {
  GPUQueue: ['onSubmittedWorkDone'],
  GPUBuffer: ['mapAsync'],
  GPUDevice: ['popErrorScope', 'createComputePipelineAsync', 'createRenderPipelineAsync'],
  GPUShaderModule: ['getCompilationInfo'],
  GPUAdapter: ['requestDevice'],
};

let enabled = false;
let pending = 0;
let ticking = false;
let nap = FIRST_NAP_MS;
let sleeper: Int32Array | null = null;
const wrapped = new WeakSet<object>();

function tick(): void {
  if (pending === 0 || !enabled) {
    ticking = false;
    return;
  }
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, nap);
  nap = Math.min(LONGEST_NAP_MS, nap * 2);
  setImmediate(tick);
}

function track<T>(p: Promise<T>): Promise<T> {
  pending++;
  const done = (): void => {
    pending--;
  };
  p.then(done, done);
  if (enabled && !ticking) {
    ticking = true;
    nap = FIRST_NAP_MS;
    setImmediate(tick);
  }
  return p;
}

/**
 * Wraps the waiting methods of Dawn's classes (the `globals` of the `webgpu` package) once, so that
 * their promises are tracked. Waiting stays as it was until `setPoliteWaiting(true)`.
 */
export function wrapDawnWaits(globals: Record<string, unknown>): void {
  for (const [cls, methods] of Object.entries(WAITS)) {
    const proto = (globals[cls] as { prototype?: Record<string, unknown> } | undefined)?.prototype;
    if (!proto || wrapped.has(proto)) continue;
    wrapped.add(proto);
    for (const m of methods) {
      const orig = proto[m];
      if (typeof orig !== 'function') continue;
      proto[m] = function (this: unknown, ...args: unknown[]): unknown {
        const r = (orig as (...a: unknown[]) => unknown).apply(this, args);
        return r instanceof Promise ? track(r) : r;
      };
    }
  }
}

/** Turns the sleeping between polls on (a CPU adapter) or off. */
export function setPoliteWaiting(on: boolean): void {
  enabled = on;
}

/** For tests: whether the sleeping is on, and how many tracked promises are pending. */
export function politeWaitState(): { enabled: boolean; pending: number } {
  return { enabled, pending };
}
