/// <reference types="@webgpu/types" preserve="true" />
/**
 * User-written WGSL (the expressions of a numerical activation) compiled on its own before it goes
 * into a pipeline: a mistake there is the user's input, so it is an InputError naming the
 * activation, not the GpuError of a failed pipeline (whose message would point into generated code).
 */
import { InputError } from '../errors.js';

/** Per device: source → null (compiles) or its compiler messages. */
const verdicts = new WeakMap<GPUDevice, Map<string, string | null>>();

async function compileMessages(device: GPUDevice, code: string): Promise<string | null> {
  let cache = verdicts.get(device);
  if (!cache) {
    cache = new Map();
    verdicts.set(device, cache);
  }
  const known = cache.get(code);
  if (known !== undefined) return known;
  // The scope keeps the module's validation error from reaching the device's uncaptured-error handler.
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: 'webntk: user WGSL check', code });
  // getCompilationInfo has the messages with their positions; where a runtime lacks it, the error
  // scope alone still catches the failure.
  const info = typeof module.getCompilationInfo === 'function' ? await module.getCompilationInfo() : { messages: [] };
  const scoped = await device.popErrorScope();
  const errors = info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos}: ${m.message}`);
  if (errors.length === 0 && scoped) errors.push(scoped.message);
  const verdict = errors.length > 0 ? errors.join('; ') : null;
  cache.set(code, verdict);
  return verdict;
}

/** Throws an InputError for the first of `checks` that does not compile. */
export async function checkUserWgsl(device: GPUDevice, checks: readonly { what: string; code: string }[]): Promise<void> {
  for (const c of checks) {
    const errors = await compileMessages(device, c.code);
    if (errors !== null) {
      throw new InputError(`${c.what} does not compile as WGSL (${errors}) in:\n${c.code.trimEnd()}`);
    }
  }
}
