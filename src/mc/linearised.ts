/**
 * The linearised model of full-batch gradient descent (wave2.md §2.3 item 4), in the exact discrete
 * form of `trainNetwork`'s loss L = (1/2n)·‖f − y‖² and step η: with a fixed kernel K (n × n on the
 * training inputs) and its test × train block K*, GD on f(θ) ≈ f₀ + J₀(θ − θ₀) moves the residual
 * r = f − y and the test predictions by
 *   r_{k+1} = (I − (η/n)·K)·r_k,   f*_{k+1} = f*_k − (η/n)·K*·r_k,
 * i.e. f*_k = f*₀ − K*·K⁻¹·(I − (I − (η/n)K)^k)·r₀ — the discrete iterate, not the gradient-flow
 * exponential e^{−ηkK/n}. It is iterated (O(k·n²)) instead of inverting K, which is often
 * ill-conditioned. K must be the network's own (raw) NTK, not one divided by a normaliser.
 */
import { InputError } from '../errors.js';

export interface LinearisedInput {
  /** n × n kernel on the training inputs (row-major). */
  K: ArrayLike<number>;
  /** nTest × n kernel between test and training inputs. */
  KTest: ArrayLike<number>;
  /** f₀ on the training and the test inputs. */
  f0: ArrayLike<number>;
  f0Test: ArrayLike<number>;
  y: ArrayLike<number>;
  lr: number;
}

/** f*_k of the linearised model at each step k of `steps` (ascending, ≥ 0), one Float64Array each. */
export function linearisedTestPredictions(m: LinearisedInput, steps: readonly number[]): Float64Array[] {
  const n = m.y.length;
  const nt = m.f0Test.length;
  if (m.K.length !== n * n || m.KTest.length !== nt * n || m.f0.length !== n) throw new InputError('linearised model: kernel and prediction sizes disagree');
  for (let i = 1; i < steps.length; i++) if (!(steps[i]! >= steps[i - 1]!)) throw new InputError('linearised model: steps must ascend');
  const c = m.lr / n;
  const r = Float64Array.from({ length: n }, (_, k) => m.f0[k]! - m.y[k]!);
  const next = new Float64Array(n);
  const f = Float64Array.from(m.f0Test);
  const out: Float64Array[] = [];
  let k = 0;
  for (const target of steps) {
    for (; k < target; k++) {
      for (let i = 0; i < nt; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += m.KTest[i * n + j]! * r[j]!;
        f[i] = f[i]! - c * s;
      }
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += m.K[i * n + j]! * r[j]!;
        next[i] = r[i]! - c * s;
      }
      r.set(next);
    }
    out.push(f.slice());
  }
  return out;
}
