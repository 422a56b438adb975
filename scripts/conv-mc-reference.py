#!/usr/bin/env python3
"""Analytic (infinite-width) NNGP/NTK of small convolutional networks, float64 numpy, as independent
expected values for the conv Monte Carlo oracle (test/montecarlo-conv.test.ts).

Formula source: the recursions of shared/research/wave2.md §1.1 as implemented in
shared/research/wave2/convkernel.py (shift-mean 𝒮, ReLU dual, residual, eq/flatten/gap readouts,
1-D, stride 1). This driver restates them for every input pair at once (one (N·P)×(N·P) covariance
matrix whose diagonal gives the per-pixel variances) and extends them, as stated in wave2.md §1.1
"Further layers", to what convkernel.py lacks [labelled EXTENSION below]: D spatial axes with a
per-axis filter, stride, avgPool, biases, frozen layers, erf/leakyRelu/abRelu, dense layers after
the readout, and alpha0·L^-gamma. When convkernel.py is found (default ../shared/research/wave2
beside the repository, or $WAVE2), the 1-D ReLU CNN/ResCNN cases are checked against its cnn() and
rescnn() to 1e-12 before anything is written.

Specs are webntk ResolvedSpec JSON with every field filled in; images are [N, C, P] or [N, C, H, W]
row-major. Conv: output size ceil(n/s) per axis, input pixel s*I + a (circular: mod n; zero: read 0
outside), normaliser 1/q^D; avgPool: floor((n-w)/s)+1, window mean.

Also writes deliberately WRONG kernels (flag `variant`) for the power test: the conv normaliser
1/q instead of 1/q^D, GAP as a sum instead of a mean, zero padding normalised by the in-image taps.

Run: python3 scripts/conv-mc-reference.py   (writes test/data/conv-mc-reference.json)
"""
import itertools, json, math, os, sys
import numpy as np

# ---------------------------------------------------------------- geometry (pixel index maps)
def per_axis(v, D):
    return [v] * D if isinstance(v, int) else list(v)

def tap_maps(in_dims, out_dims, stride, taps, wrap):
    """For each tap, the input pixel (row-major) read by each output pixel, -1 outside the image."""
    maps = []
    for tap in taps:
        mp = np.full(int(np.prod(out_dims)), -1, dtype=int)
        for I, coord in enumerate(itertools.product(*[range(o) for o in out_dims])):
            flat, inside = 0, True
            for d, n in enumerate(in_dims):
                u = stride[d] * coord[d] + tap[d]
                if wrap:
                    u %= n
                elif u < 0 or u >= n:
                    inside = False
                flat = flat * n + u
            mp[I] = flat if inside else -1
        maps.append(mp)
    return maps

def conv_geometry(in_dims, layer):
    D = len(in_dims)
    q, s = per_axis(layer['filter'], D), per_axis(layer['stride'], D)
    out = [math.ceil(n / s[d]) for d, n in enumerate(in_dims)]
    taps = list(itertools.product(*[range(-(v - 1) // 2, (v - 1) // 2 + 1) for v in q]))
    return out, tap_maps(in_dims, out, s, taps, layer['padding'] == 'circular'), q

def pool_geometry(in_dims, layer):  # EXTENSION (wave2.md §1.1 "Further layers": local average pool)
    D = len(in_dims)
    w, s = per_axis(layer['window'], D), per_axis(layer['stride'], D)
    out = [(n - w[d]) // s[d] + 1 for d, n in enumerate(in_dims)]
    taps = list(itertools.product(*[range(v) for v in w]))
    return out, tap_maps(in_dims, out, s, taps, False)

def select(mp, N, Pin):
    """Block-diagonal selection matrix (N*Pout x N*Pin): row (n, I) picks input pixel mp[I] of image n."""
    Pout = len(mp)
    S = np.zeros((N * Pout, N * Pin))
    for n in range(N):
        for I, u in enumerate(mp):
            if u >= 0:
                S[n * Pout + I, n * Pin + u] = 1.0
    return S

# ---------------------------------------------------------------- Gaussian duals of the activations
def duals(act, K, kx, kz):
    """E[phi(u)phi(v)], E[phi'(u)phi'(v)] for (u, v) ~ N(0, [[kx, K], [K, kz]]), entrywise."""
    t = act['type']
    nrm = np.sqrt(np.outer(kx, kz))
    if t in ('relu', 'leakyRelu', 'abRelu'):
        # relu: convkernel.relu_maps. EXTENSION: phi = b*relu(u) - a*relu(-u) (leakyRelu: a = slope, b = 1),
        # E = (a^2+b^2) J(rho) - 2ab J(-rho) with J the ReLU dual; E' = ((a^2+b^2)(pi-th) + 2ab th)/(2 pi).
        a, b = {'relu': (0.0, 1.0), 'leakyRelu': (act.get('slope', 0), 1.0), 'abRelu': (act.get('a'), act.get('b'))}[t]
        with np.errstate(invalid='ignore', divide='ignore'):
            rho = np.clip(np.where(nrm > 0, K / nrm, 0.0), -1.0, 1.0)
        th = np.arccos(rho)
        J = lambda th: nrm * (np.sin(th) + (np.pi - th) * np.cos(th)) / (2 * np.pi)
        k1 = (a * a + b * b) * J(th) - 2 * a * b * J(np.pi - th)
        k0 = ((a * a + b * b) * (np.pi - th) + 2 * a * b * th) / (2 * np.pi)
        return k1, k0
    if t == 'erf':  # EXTENSION: Williams 1997, arcsine kernel and its derivative kernel
        den = np.outer(1 + 2 * kx, 1 + 2 * kz)
        return (2 / np.pi) * np.arcsin(2 * K / np.sqrt(den)), (4 / np.pi) / np.sqrt(den - 4 * K * K)
    raise ValueError(f'no dual for activation {t}')

# ---------------------------------------------------------------- the recursion over a spec
class State:
    def __init__(self, K, T, dims):
        self.K, self.T, self.dims = K, T, dims

    @property
    def P(self):
        return int(np.prod(self.dims)) if self.dims else 1

def linear_update(st, Ks, Ts, layer):
    K = layer['weightVar'] * Ks + layer['biasVar']
    T = layer['weightVar'] * Ts + (K if layer['trainable'] else 0.0)
    return K, T

def apply(st, layer, N, L, variant):
    t = layer['type']
    if t == 'conv':
        out, maps, q = conv_geometry(st.dims, layer)
        Ss = [select(mp, N, st.P) for mp in maps]
        norm = len(maps)
        if variant == 'norm-q':  # WRONG on purpose: 1/q (one axis) instead of 1/q^D
            norm = q[0]
        Ks = sum(S @ st.K @ S.T for S in Ss) / norm
        Ts = sum(S @ st.T @ S.T for S in Ss) / norm
        if variant == 'edge-norm' and layer['padding'] == 'zero':
            # WRONG on purpose: each output pixel normalised by its in-image taps instead of q^D.
            taps = np.tile(np.sum([mp >= 0 for mp in maps], axis=0), N).astype(float)
            f = len(maps) / np.sqrt(np.outer(taps, taps))
            Ks, Ts = Ks * f, Ts * f
        K, T = linear_update(st, Ks, Ts, layer)
        return State(K, T, out)
    if t == 'avgPool':
        out, maps = pool_geometry(st.dims, layer)
        M = sum(select(mp, N, st.P) for mp in maps) / len(maps)
        return State(M @ st.K @ M.T, M @ st.T @ M.T, out)
    if t in ('eq', 'flatten', 'gap'):
        P = st.P
        Sp = [select(np.array([i]), N, P) for i in range(P)]  # N x N*P, pixel i of every image
        if t == 'eq':
            i0 = 0
            for d, c in enumerate(layer.get('pixel') or [0] * len(st.dims)):
                i0 = i0 * st.dims[d] + c
            Ks, Ts = Sp[i0] @ st.K @ Sp[i0].T, Sp[i0] @ st.T @ Sp[i0].T
        elif t == 'flatten':
            Ks = sum(S @ st.K @ S.T for S in Sp) / P
            Ts = sum(S @ st.T @ S.T for S in Sp) / P
        else:
            M = sum(Sp) / (1 if variant == 'gap-sum' else P)  # gap-sum: WRONG on purpose
            Ks, Ts = M @ st.K @ M.T, M @ st.T @ M.T
        K, T = linear_update(st, Ks, Ts, layer)
        return State(K, T, [])
    if t == 'dense':  # EXTENSION: FC layers after the readout
        K, T = linear_update(st, st.K, st.T, layer)
        return State(K, T, [])
    if t == 'residual':
        alpha = layer['alpha'] if 'alpha' in layer else layer['alpha0'] * L ** (-layer['gamma'])
        b = run(State(st.K.copy(), st.T.copy(), st.dims), layer['branch'], N, L, variant)
        beta = layer['beta']
        return State(beta**2 * st.K + alpha**2 * b.K, beta**2 * st.T + alpha**2 * b.T, st.dims)
    if t == 'repeat':
        for _ in range(layer['count']):
            st = run(st, layer['layers'], N, L, variant)
        return st
    d = np.diag(st.K).copy()
    k1, k0 = duals(layer, st.K, d, d)
    return State(k1, st.T * k0, st.dims)

def run(st, layers, N, L, variant):
    for layer in layers:
        st = apply(st, layer, N, L, variant)
    return st

def count_residual(layers):
    n = 0
    for l in layers:
        if l['type'] == 'residual':
            n += 1 + count_residual(l['branch'])
        elif l['type'] == 'repeat':
            n += l['count'] * count_residual(l['layers'])
    return n

def kernels(spec, images, variant=None):
    """NNGP and NTK (N x N) of `spec` over images [N, C, *spatial]."""
    X = np.asarray(images['data'], dtype=float).reshape(images['shape'])
    N, C0 = X.shape[:2]
    F = X.reshape(N, C0, -1).transpose(0, 2, 1).reshape(-1, C0)  # row (n, pixel)
    st = State(F @ F.T / C0, np.zeros((F.shape[0], F.shape[0])), list(X.shape[2:]))
    layers = spec['layers'] + spec['readout']
    st = run(st, layers, N, count_residual(layers), variant)
    assert st.dims == [], 'the spec must end with a readout'
    return st.K, st.T

# ---------------------------------------------------------------- the cases
def conv(wv=1.0, pad='zero', q=3, s=1, bv=0.0, tr=True):
    return {'type': 'conv', 'filter': q, 'stride': s, 'padding': pad, 'weightVar': wv, 'biasVar': bv, 'trainable': tr}

def readout(kind, wv, bv=0.0, tr=True, pixel=None):
    r = {'type': kind, 'weightVar': wv, 'biasVar': bv, 'trainable': tr}
    if pixel is not None:
        r['pixel'] = pixel
    return r

def spec(layers, ro):
    # inputScale "dim": kernels() divides the input Gram by C0 (K0 = x_i.z_j/C0, the spatial default).
    return {'format': 'webntk-spec/1', 'inputScale': 'dim', 'layers': layers, 'readout': ro,
            'normalize': 'none', 'sweepStart': 0}

RELU = {'type': 'relu'}
ERF = {'type': 'erf'}

def cntk(L, pad, kind):
    """The pinned `cntk` preset: conv (wv 1, then 2) + ReLU, L times; readout wv 2."""
    layers = []
    for l in range(1, L + 1):
        layers += [conv(1.0 if l == 1 else 2.0, pad), RELU]
    return spec(layers, [readout(kind, 2.0)])

def rescnn(L, pad, kind, res, pixel=None):
    """The pinned `rescnn` preset: stem conv wv 1; L blocks h <- beta h + alpha conv1(relu(conv2(h))); readout wv 1."""
    block = dict(res, type='residual', branch=[conv(2.0, pad), RELU, conv(1.0, pad)])
    block.setdefault('beta', 1.0)
    return spec([conv(1.0, pad), {'type': 'repeat', 'count': L, 'layers': [block]}], [readout(kind, 1.0, pixel=pixel)])

def images(shape, seed):
    rng = np.random.default_rng(seed)
    return {'shape': list(shape), 'data': [round(float(v), 3) for v in rng.standard_normal(int(np.prod(shape)))]}

IMAGES = {'1d': images((3, 3, 6), 12), '2d': images((3, 2, 3, 4), 13)}

CASES = [
    ('cntk L=2, 1-D, circular, eq', '1d', cntk(2, 'circular', 'eq')),
    ('cntk L=2, 1-D, zero, gap', '1d', cntk(2, 'zero', 'gap')),
    ('cntk L=2, 1-D, zero, flatten', '1d', cntk(2, 'zero', 'flatten')),
    ('rescnn L=2, alpha=1, 1-D, circular, eq pixel 4', '1d', rescnn(2, 'circular', 'eq', {'alpha': 1.0}, pixel=[4])),
    ('rescnn L=2, alpha0=1 gamma=1 (alpha=1/2), 1-D, zero, gap', '1d', rescnn(2, 'zero', 'gap', {'alpha0': 1.0, 'gamma': 1.0})),
    ('rescnn L=2, alpha=1, 1-D, zero, flatten', '1d', rescnn(2, 'zero', 'flatten', {'alpha': 1.0})),
    ('stride 2 (zero) then circular conv, 1-D, frozen flatten readout', '1d',
     spec([conv(1.0, 'zero', s=2), RELU, conv(2.0, 'circular'), RELU], [readout('flatten', 2.0, tr=False)])),
    ('avgPool window 3 stride 1, 1-D, gap', '1d',
     spec([conv(1.0, 'circular'), RELU, {'type': 'avgPool', 'window': 3, 'stride': 1}, conv(2.0, 'zero'), RELU],
          [readout('gap', 2.0)])),
    ('biases, frozen q=5 conv, erf, leakyRelu, gap then a dense head, 1-D', '1d',
     spec([conv(1.5, 'zero', q=5, bv=0.2, tr=False), ERF, conv(1.0, 'circular', bv=0.1), {'type': 'leakyRelu', 'slope': 0.2}],
          [readout('gap', 1.0, bv=0.3), ERF, {'type': 'dense', 'weightVar': 1.2, 'biasVar': 0.1, 'trainable': True}])),
    ('cntk L=2, 2-D 3x4, zero, gap', '2d', cntk(2, 'zero', 'gap')),
    ('cntk L=2, 2-D 3x4, circular, flatten', '2d', cntk(2, 'circular', 'flatten')),
    ('rescnn L=1, alpha=1 beta=0.8, 2-D 3x4, circular, eq pixel (1, 2)', '2d',
     rescnn(1, 'circular', 'eq', {'alpha': 1.0, 'beta': 0.8}, pixel=[1, 2])),
    ('stride (1, 2), abRelu, avgPool 2, 1x1 conv, 2-D, flatten', '2d',
     spec([conv(1.0, 'zero', s=[1, 2]), {'type': 'abRelu', 'a': -0.4, 'b': 1.2}, {'type': 'avgPool', 'window': 2, 'stride': 1},
           conv(2.0, 'circular', q=1), RELU], [readout('flatten', 2.0)])),
    ('filter (3, 1) circular, erf, zero conv, 2-D, gap', '2d',
     spec([conv(1.0, 'circular', q=[3, 1]), ERF, conv(2.0, 'zero'), RELU], [readout('gap', 1.0)])),
]

# Power test: (what, sampled case, variant) — the analytic kernel of a wrong formula.
WRONG = [
    ('conv normaliser 1/q instead of 1/q^D (2-D)', 'cntk L=2, 2-D 3x4, zero, gap', 'norm-q'),
    ('conv normaliser 1/q instead of 1/q^D (2-D, flatten)', 'cntk L=2, 2-D 3x4, circular, flatten', 'norm-q'),
    ('GAP as a sum instead of a mean', 'cntk L=2, 1-D, zero, gap', 'gap-sum'),
    ('zero padding normalised by the in-image taps instead of q^D', 'cntk L=2, 1-D, zero, gap', 'edge-norm'),
]

def check_against_convkernel():
    """1-D ReLU cases against wave2/convkernel.py (pair by pair); returns how many values were checked."""
    path = os.environ.get('WAVE2') or os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'research', 'wave2')
    if not os.path.exists(os.path.join(path, 'convkernel.py')):
        print(f'convkernel.py not found under {path}: cross-check skipped', file=sys.stderr)
        return 0
    sys.path.insert(0, path)
    import convkernel as ck
    img = IMAGES['1d']
    X = np.asarray(img['data']).reshape(img['shape'])
    checks = {
        # convkernel.cnn(L) has L+1 convs: cntk depth L+1.
        'cntk L=2, 1-D, circular, eq': lambda x, z: ck.cnn(x, z, 1, 3, 'circular', 'eq'),
        'cntk L=2, 1-D, zero, gap': lambda x, z: ck.cnn(x, z, 1, 3, 'zero', 'gap'),
        'cntk L=2, 1-D, zero, flatten': lambda x, z: ck.cnn(x, z, 1, 3, 'zero', 'flatten'),
        'rescnn L=2, alpha=1, 1-D, circular, eq pixel 4': lambda x, z: ck.rescnn(x, z, 2, 3, 'circular', 'eq', 1.0, i0=4),
        'rescnn L=2, alpha0=1 gamma=1 (alpha=1/2), 1-D, zero, gap': lambda x, z: ck.rescnn(x, z, 2, 3, 'zero', 'gap', 0.5),
        'rescnn L=2, alpha=1, 1-D, zero, flatten': lambda x, z: ck.rescnn(x, z, 2, 3, 'zero', 'flatten', 1.0),
    }
    n = 0
    for name, img_key, sp in CASES:
        if name not in checks:
            continue
        K, T = kernels(sp, IMAGES[img_key])
        for i in range(3):
            for j in range(3):
                k, t = checks[name](X[i], X[j])
                assert abs(K[i, j] - k) <= 1e-12 * max(1, abs(k)), (name, i, j, K[i, j], k)
                assert abs(T[i, j] - t) <= 1e-12 * max(1, abs(t)), (name, i, j, T[i, j], t)
                n += 2
    return n

def main():
    checked = check_against_convkernel()
    out = {
        'source': 'scripts/conv-mc-reference.py (formulas: shared/research/wave2.md §1.1, wave2/convkernel.py)',
        'checkedAgainstConvkernel': checked,
        'images': IMAGES,
        'cases': [],
        'wrong': [],
    }
    for name, img, sp in CASES:
        K, T = kernels(sp, IMAGES[img])
        assert np.all(np.isfinite(K)) and np.all(np.isfinite(T))
        out['cases'].append({'name': name, 'images': img, 'spec': sp, 'nngp': K.ravel().tolist(), 'ntk': T.ravel().tolist()})
    by_name = {n: (img, sp) for n, img, sp in CASES}
    for what, case, variant in WRONG:
        img, sp = by_name[case]
        K, T = kernels(sp, IMAGES[img], variant)
        out['wrong'].append({'what': what, 'case': case, 'variant': variant, 'nngp': K.ravel().tolist(), 'ntk': T.ravel().tolist()})
    dest = os.path.join(os.path.dirname(__file__), '..', 'test', 'data', 'conv-mc-reference.json')
    with open(dest, 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    print(f'wrote {os.path.normpath(dest)}: {len(out["cases"])} cases, {len(out["wrong"])} wrong variants; '
          f'{checked} values checked against convkernel.py')

if __name__ == '__main__':
    main()
