"""Expected values for test/conv.test.ts: convolutional NNGP/NTK in float64 numpy, independent of
the TypeScript engine.

1-D: the recursions of ../shared/research/wave2/convkernel.py (cnn, rescnn), used as they are.
2-D: the same module with its shift-mean replaced by the separable 2-D one (wave2.md §1.1: apply
the 1-D operator to the (i1, j1) axes, then to (i2, j2)), plus strided conv, bias, frozen layers and
average pooling written out here from the same section. Run from the repository root:

    python3 scripts/conv-reference.py > /tmp/conv-reference.json
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'research', 'wave2'))
sys.path.insert(0, '/work/shared/research/wave2')
import convkernel as ck  # noqa: E402

shift_mean_1d = ck.shift_mean


def shift_mean_2d(M, q, pad, shape):
    """S over q×q offsets of a (H·W)×(H·W) matrix: the 1-D operator on axes (i1, j1), then (i2, j2)."""
    H, W = shape
    T = M.reshape(H, W, H, W)
    out = np.zeros_like(T)
    # axis pair (i1, j1): for fixed (i2, j2) a H×H matrix
    for i2 in range(W):
        for j2 in range(W):
            out[:, i2, :, j2] = shift_mean_1d(T[:, i2, :, j2], q, pad)
    T, out = out, np.zeros_like(out)
    for i1 in range(H):
        for j1 in range(H):
            out[i1, :, j1, :] = shift_mean_1d(T[i1, :, j1, :], q, pad)
    return out.reshape(H * W, H * W)


def images(rng, n, C, H, W):
    return np.round(rng.standard_normal((n, C, H, W)), 3)


def pair_state(x, z):
    """K and Θ for (x, z), (x, x), (z, z) of C×H×W images, flattened pixel index i1·W + i2."""
    C = x.shape[0]
    X = x.reshape(C, -1)
    Z = z.reshape(C, -1)
    p = ck.Pair(X, Z)
    p.shape = x.shape[1:]
    return p


def conv2d(p, q, pad, wv=1.0, bv=0.0, trainable=True, stride=1):
    H, W = p.shape
    for k in p.K:
        S = shift_mean_2d(p.K[k], q, pad, (H, W))
        Kn = wv * S + bv
        Tn = wv * shift_mean_2d(p.T[k], q, pad, (H, W)) + (Kn if trainable else 0.0)
        if stride > 1:
            # centres s·I (wave2.md §1.1, strided conv): keep rows and columns on the stride grid
            idx = np.array([i1 * W + i2 for i1 in range(0, H, stride) for i2 in range(0, W, stride)])
            Kn = Kn[np.ix_(idx, idx)]
            Tn = Tn[np.ix_(idx, idx)]
        p.K[k], p.T[k] = Kn, Tn
    p.shape = (-(-H // stride), -(-W // stride))
    return p


def avgpool2d(p, w, s):
    """K'[I, J] = (1/w^4) Σ_{a,b in window} K[sI + a, sJ + b] (NT's _pool_kernel, no padding)."""
    H, W = p.shape
    Ho, Wo = (H - w) // s + 1, (W - w) // s + 1
    A = np.zeros((Ho * Wo, H * W))
    for I1 in range(Ho):
        for I2 in range(Wo):
            for a1 in range(w):
                for a2 in range(w):
                    A[I1 * Wo + I2, (s * I1 + a1) * W + s * I2 + a2] = 1.0 / (w * w)
    for k in p.K:
        p.K[k] = A @ p.K[k] @ A.T
        p.T[k] = A @ p.T[k] @ A.T
    p.shape = (Ho, Wo)
    return p


def readout(p, kind, wv=1.0, bv=0.0, i0=0, trainable=True):
    K, T = ck.readout(p, kind, wv=1.0, i0=i0, trainable=False)
    kk = wv * K + bv
    return kk, wv * T + (kk if trainable else 0.0)


def cntk2d(x, z, L, pad, kind):
    """cntk preset: L × [conv(σ² = 1 first, then 2), relu], readout σ² = 2."""
    p = pair_state(x, z)
    for l in range(L):
        p = conv2d(p, 3, pad, wv=1.0 if l == 0 else 2.0)
        p = ck.relu(p)
    return readout(p, kind, wv=2.0)


def rescnn2d(x, z, L, pad, kind, alpha):
    p = pair_state(x, z)
    p = conv2d(p, 3, pad, wv=1.0)

    def br(s):
        s = conv2d(s, 3, pad, wv=2.0)
        s = ck.relu(s)
        return conv2d(s, 3, pad, wv=1.0)

    for _ in range(L):
        b = br(p.copy_with_shape())
        for k in p.K:
            p.K[k] = p.K[k] + alpha**2 * b.K[k]
            p.T[k] = p.T[k] + alpha**2 * b.T[k]
    return readout(p, kind, wv=1.0)


def _copy_with_shape(self):
    c = ck.Pair.copy(self)
    c.shape = self.shape
    return c


ck.Pair.copy_with_shape = _copy_with_shape


def mixed2d(x, z):
    """conv(3, stride 2, σb² = 0.1, zero) → relu → avgPool(2, stride 1) → conv(3, circular, frozen, σ² = 2) → relu → gap(σ² = 1.5, σb² = 0.2)."""
    p = pair_state(x, z)
    p = conv2d(p, 3, 'zero', wv=1.0, bv=0.1, stride=2)
    p = ck.relu(p)
    p = avgpool2d(p, 2, 1)
    p = conv2d(p, 3, 'circular', wv=2.0, trainable=False)
    p = ck.relu(p)
    return readout(p, 'gap', wv=1.5, bv=0.2)


def main():
    out = {}
    rng = np.random.default_rng(12)
    x = np.round(rng.standard_normal((3, 6)), 3)
    z = np.round(rng.standard_normal((3, 6)), 3)
    one = {'x': x.tolist(), 'z': z.tolist(), 'vals': {}}
    for pad in ['circular', 'zero']:
        for ro in ['eq', 'flatten', 'gap']:
            one['vals'][f'cntk depth=3 {pad} {ro}'] = list(ck.cnn(x, z, 2, 3, pad, ro))
            one['vals'][f'rescnn depth=3 alpha=0.5 {pad} {ro}'] = list(ck.rescnn(x, z, 3, 3, pad, ro, 0.5))
    out['1d'] = one
    rng = np.random.default_rng(7)
    X = images(rng, 2, 2, 4, 5)
    two = {'x': X[0].tolist(), 'z': X[1].tolist(), 'vals': {}}
    for pad in ['circular', 'zero']:
        for ro in ['eq', 'flatten', 'gap']:
            two['vals'][f'cntk depth=2 {pad} {ro}'] = list(cntk2d(X[0], X[1], 2, pad, ro))
            two['vals'][f'rescnn depth=2 alpha=0.7 {pad} {ro}'] = list(rescnn2d(X[0], X[1], 2, pad, ro, 0.7))
    out['2d'] = two
    # Arora et al.'s released code (ruosongwang/CNTK), as translated to numpy in identities.py
    # (first and last layer frozen, its --fix; zero padding; q = 3): its raw outputs.
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        import identities
    one['ruosongwang'] = {f'depth={d} gap={g}': identities.ruosong(x, z, d, g) for d in [3, 5] for g in [True, False]}
    Y = images(rng, 2, 2, 8, 7)
    out['mixed'] = {'x': Y[0].tolist(), 'z': Y[1].tolist(), 'vals': list(mixed2d(Y[0], Y[1]))}
    print(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
