#!/usr/bin/env python3
"""Independent values of the Gaussian duals of the smooth activations, for
test/reference-activations.test.ts: S = E[phi(u)phi(v)] and Sdot = E[phi'(u)phi'(v)] for
(u, v) ~ N(0, [[q1, c], [c, q2]]), by adaptive Gauss-Kronrod quadrature (scipy/QUADPACK, nested
1-D quad) over the bivariate density in (u, v) itself: not the Cholesky-coordinate trapezoidal rule
of test/reference-duals.ts, nor the symmetric-coordinate Gauss-Hermite rule of the engine.
A diagonal point (c = q1 = q2) is the 1-D integral. Each value carries QUADPACK's error estimate
(relative). Also a few values of erf from Python's math.erf. Written to test/data/quad-duals.json.
Run: python3 scripts/quad-duals.py (needs numpy and scipy; about a minute).
(mpmath's nested tanh-sinh at 20 digits took over ten minutes per value on the 2-core machine.)"""
import json, math
import numpy as np
from scipy import integrate, special

SQ2PI = math.sqrt(2 * math.pi)

def npdf(u):
    return math.exp(-0.5 * u * u) / SQ2PI

PHI = {
    'gelu': (lambda u: u * special.ndtr(u), lambda u: special.ndtr(u) + u * npdf(u)),
    'tanh': (math.tanh, lambda u: 1 / math.cosh(u) ** 2),
    'sigmoid': (special.expit, lambda u: special.expit(u) * special.expit(-u)),
    'softplus': (lambda u: max(u, 0) + math.log1p(math.exp(-abs(u))), special.expit),
    'erf': (math.erf, lambda u: 2 / math.sqrt(math.pi) * math.exp(-u * u)),
}

POINTS = [(1, 1, 0.3), (4, 2.5, -1.2), (0.2, 3, 0.5), (9, 9, 8.5), (2, 2, 2)]
W = 12  # standard deviations: the Gaussian weight beyond is below e^-72
OPTS = dict(epsabs=0, epsrel=1.2e-14, limit=400)

def expect(f, g, q1, q2, c):
    if c * c == q1 * q2:
        s = math.sqrt(q1)
        v, e = integrate.quad(lambda u: f(u) * g(u) * math.exp(-u * u / (2 * q1)), -W * s, W * s, points=[0], **OPTS)
        return v / (SQ2PI * s), abs(e / v)
    det = q1 * q2 - c * c
    su, sv = math.sqrt(q1), math.sqrt(det / q1)
    errs = [0.0]
    def inner(u):
        # v | u ~ N(c u / q1, det / q1): g against the conditional density.
        m = c * u / q1
        val, e = integrate.quad(lambda v: g(v) * math.exp(-0.5 * ((v - m) / sv) ** 2), m - W * sv, m + W * sv, points=[m], **OPTS)
        errs[0] = max(errs[0], abs(e) / max(abs(val), 1e-300))
        return val / (SQ2PI * sv)
    val, e = integrate.quad(lambda u: f(u) * math.exp(-0.5 * (u / su) ** 2) / (SQ2PI * su) * inner(u), -W * su, W * su, points=[0], **OPTS)
    return val, max(abs(e / val), errs[0])

cases = []
for name, (f, df) in PHI.items():
    for (q1, q2, c) in POINTS:
        S, eS = expect(f, f, q1, q2, c)
        Sd, eSd = expect(df, df, q1, q2, c)
        cases.append({'act': name, 'q1': q1, 'q2': q2, 'c': c, 'S': S, 'Sdot': Sd, 'relErrEstimate': max(eS, eSd)})
        print(name, q1, q2, c, repr(S), repr(Sd), '%.1e' % max(eS, eSd), flush=True)

erfs = [{'x': x, 'erf': math.erf(x)} for x in [-4.5, -2.9999, -0.7, 1e-3, 0.5, 1.7, 3.0, 3.2, 5.5]]
out = {'generator': 'scripts/quad-duals.py (scipy QUADPACK, nested adaptive quadrature over the (u, v) density)',
       'cases': cases, 'erf': erfs}
with open('test/data/quad-duals.json', 'w') as fh:
    json.dump(out, fh, indent=1)
