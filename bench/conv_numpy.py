#!/usr/bin/env python3
"""webntk's `cntk` NNGP + NTK written the way a NumPy user writes it, in float32: the NumPy peer of
bench/conv-gpu.ts (issue 13, "Speed").

The recursion is webntk's (README "Convolutional networks"; ../shared/research/wave2.md §1.1 is the
contract), for all N x N pairs of images at once:

    K0[n, m, i, j] = x_n[:, i] . x_m[:, j] / C,   Theta0 = 0
    L times:  conv   K <- s2 * S(K),  Theta <- s2 * S(Theta) + K    (s2 = 1 first, then 2; no bias)
              relu   K <- sqrt(kx kz) (sqrt(1 - rho^2) + (pi - theta) rho) / 2pi,
                     Theta <- Theta (pi - theta) / 2pi,   theta = arccos(rho), rho = K / sqrt(kx kz)
    readout   NNGP = 2 R(K),  NTK = 2 R(Theta) + NNGP
              gap: R = mean over all pixel pairs; flatten: mean of K[i, i]; eq: K[0, 0]

S(M)[i, j] = mean over the q^D filter offsets a of M[i + a, j + a]: np.roll for circular padding,
slices of a zero-padded copy for zero padding (out-of-image reads 0, the normaliser stays 1/q^D).
The per-pixel diagonals kx[i] = K(x, x)[i, i] are read from the n == m entries of the same state.

State: [N, N, H, W, H, W] for gap (every pixel pair is needed). Flatten and eq read only the
diagonal slab K[i, i], which conv and relu map to itself, so for them the state is [N, N, H, W]
(neural-tangents' diagonal_spatial); `--full-state` forces the P x P state (small sizes only: it
is 2·N²·P² floats, 10.5 GiB at N = 48 on 28 x 28) and is what --check also compares.

Usage:
  conv_numpy.py --n 48 --c 3 --h 8 --depth 5 --readout gap [--pad zero] [--filter 3] [--xp cupy]
  conv_numpy.py --x X.npy --depth 5 --readout gap      (images [N, C, H, W] from a file)
      time the whole process (from before `import numpy` to the first result); prints one JSON
      object {seconds, pairs_per_second, max_rss, compute_seconds, ...}, pairs = N² (every entry
      of the N x N Gram); --reps R also gives warm_seconds, the median of R - 1 more computations
  conv_numpy.py --check REF.json [--tol 1e-4]
      REF.json from `node bench/conv-run.mjs --reference` (webntk's float64 CPU values): prints the
      max normalised error |float32 - float64| / sqrt(K(x,x) K(z,z)) per case; exit 1 above --tol
"""
import time

T0 = time.perf_counter()  # whole-process clock: before numpy is imported

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402


def shift_mean(xp, M, q, pad, axes):
    """S over the q^D offsets: out[..., i, ..., j, ...] = mean_a M[..., i + a, ..., j + a, ...].
    axes: one tuple of array axes per spatial dimension (both pixels' axes for the full state, one
    axis for the diagonal state); every axis of a tuple is shifted by the same offset."""
    r = q // 2
    offsets = [()]
    for _ in axes:
        offsets = [o + (a,) for o in offsets for a in range(-r, r + 1)]
    flat_axes = tuple(ax for group in axes for ax in group)
    if pad == 'circular':
        out = None
        for o in offsets:
            shift = tuple(-a for a, group in zip(o, axes) for _ in group)
            t = xp.roll(M, shift, axis=flat_axes)
            out = t if out is None else out + t
    else:
        widths = [(0, 0)] * M.ndim
        for ax in flat_axes:
            widths[ax] = (r, r)
        Mp = xp.pad(M, widths)
        out = None
        for o in offsets:
            idx = [slice(None)] * M.ndim
            for a, group in zip(o, axes):
                for ax in group:
                    idx[ax] = slice(r + a, r + a + M.shape[ax])
            t = Mp[tuple(idx)]
            out = t.copy() if out is None else out + t
    out *= xp.asarray(1.0 / len(offsets), dtype=M.dtype)
    return out


def relu(xp, K, T, norms):
    """The ReLU arc-cosine duals, entrywise; norms = sqrt(kx kz) broadcast to K's shape."""
    with np.errstate(invalid='ignore', divide='ignore'):
        rho = xp.where(norms > 0, K / norms, 0)
    rho = xp.clip(rho, -1.0, 1.0)
    th = xp.arccos(rho)
    k0 = (math.pi - th) / (2 * math.pi)
    K = norms * (xp.sqrt(1 - rho * rho) + (math.pi - th) * rho) / (2 * math.pi)
    return K.astype(rho.dtype, copy=False), (T * k0).astype(rho.dtype, copy=False)


def cntk(xp, X, depth, readout, pad='zero', q=3, full=None):
    """NNGP and NTK [N, N] of `cntk:depth=L,readout=R,pad=P,filter=q` for images X [N, C, H, W]."""
    N, C, H, W = X.shape
    P = H * W
    full = readout == 'gap' if full is None else full
    if readout == 'gap' and not full:
        raise ValueError('gap needs the full state')
    Xp = X.reshape(N, C, P)
    if full:
        # [N, N, H, W, H, W]: pixel pair (i, j) of image pair (n, m)
        Xt = Xp.transpose(0, 2, 1).reshape(N * P, C)
        K = (Xt @ Xt.T / C).reshape(N, P, N, P).transpose(0, 2, 1, 3).reshape(N, N, H, W, H, W)
        axes = ((2, 4), (3, 5))
    else:
        # [N, N, H, W]: the diagonal slab K[i, i] only
        K = xp.einsum('ncp,mcp->nmp', Xp, Xp).reshape(N, N, H, W) / C
        axes = ((2,), (3,))
    K = xp.ascontiguousarray(K, dtype=X.dtype)
    T = xp.zeros_like(K)
    n = xp.arange(N)
    for layer in range(depth):
        s2 = 1.0 if layer == 0 else 2.0
        K = shift_mean(xp, K, q, pad, axes) * s2
        T = shift_mean(xp, T, q, pad, axes) * s2 + K
        if full:
            kx = K[n, n].reshape(N, P, P).diagonal(axis1=1, axis2=2)  # [N, P]
            norms = xp.sqrt(kx[:, None, :, None] * kx[None, :, None, :]).reshape(K.shape)
        else:
            kx = K[n, n].reshape(N, P)
            norms = xp.sqrt(kx[:, None, :] * kx[None, :, :]).reshape(K.shape)
        K, T = relu(xp, K, T, norms)
    if readout == 'gap':
        rk, rt = K.mean(axis=(2, 3, 4, 5)), T.mean(axis=(2, 3, 4, 5))
    elif full:
        Kd = K.reshape(N, N, P, P).diagonal(axis1=2, axis2=3)
        Td = T.reshape(N, N, P, P).diagonal(axis1=2, axis2=3)
        rk, rt = (Kd.mean(axis=2), Td.mean(axis=2)) if readout == 'flatten' else (Kd[:, :, 0], Td[:, :, 0])
    else:
        Kd, Td = K.reshape(N, N, P), T.reshape(N, N, P)
        rk, rt = (Kd.mean(axis=2), Td.mean(axis=2)) if readout == 'flatten' else (Kd[:, :, 0], Td[:, :, 0])
    nngp = 2 * rk
    return nngp, 2 * rt + nngp


def images(n, c, h, w):
    """Deterministic inputs, uniform in [-1, 1) (the distribution of bench/conv-run.mjs; not the same numbers)."""
    rng = np.random.default_rng(12345)
    return (rng.random((n, c, h, w)) * 2.0 - 1.0).astype(np.float32)


def max_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def check(path, tol):
    """float32 NumPy against webntk's float64 CPU values, normalised by sqrt(K(x,x) K(z,z))."""
    with open(path) as f:
        ref = json.load(f)
    rows, worst = [], 0.0
    for case in ref['cases']:
        X = np.asarray(case['images']['data'], dtype=np.float64).reshape(case['images']['shape'])
        N = X.shape[0]
        for full in ([True] if case['readout'] == 'gap' else [False, True]):
            got = cntk(np, X.astype(np.float32), case['depth'], case['readout'], case['pad'], case['filter'], full)
            err = {}
            for name, g in zip(['nngp', 'ntk'], got):
                want = np.asarray(case[name], dtype=np.float64).reshape(N, N)
                d = np.sqrt(np.diag(want))
                err[name] = float(np.max(np.abs(g.astype(np.float64) - want) / np.outer(d, d)))
            e = max(err.values())
            worst = max(worst, e)
            rows.append({'arch': case['arch'], 'state': 'full' if full else 'diagonal', 'shape': list(X.shape), **err})
    out = {'numpy': np.__version__, 'dtype': 'float32', 'reference': 'webntk kernelCpu (float64)', 'tol': tol,
           'max_normalised_error': worst, 'cases': rows}
    print(json.dumps(out, indent=1))
    if not worst <= tol:  # also catches NaN
        print(f'conv_numpy.py --check: max normalised error {worst:.3g} exceeds {tol:g}', file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--check', metavar='REF.json')
    ap.add_argument('--tol', type=float, default=1e-4)
    ap.add_argument('--x', metavar='X.npy', help='images [N, C, H, W] (instead of --n/--c/--h/--w)')
    ap.add_argument('--n', type=int)
    ap.add_argument('--c', type=int, default=3)
    ap.add_argument('--h', type=int, default=8)
    ap.add_argument('--w', type=int, help='width (default: = h)')
    ap.add_argument('--depth', type=int, default=5)
    ap.add_argument('--readout', choices=['gap', 'flatten', 'eq'], default='gap')
    ap.add_argument('--pad', choices=['zero', 'circular'], default='zero')
    ap.add_argument('--filter', type=int, default=3)
    ap.add_argument('--full-state', action='store_true', help='flatten/eq on the [N, N, H, W, H, W] state')
    ap.add_argument('--reps', type=int, default=1, help='compute R times: warm_seconds is the median of the later R - 1')
    ap.add_argument('--xp', choices=['numpy', 'cupy'], default='numpy', help='cupy: the same code on a CUDA GPU')
    a = ap.parse_args()
    if a.check:
        return check(a.check, a.tol)
    if a.x:
        X = np.load(a.x)
        if X.ndim != 4:
            ap.error(f'{a.x}: images must be [N, C, H, W], got shape {list(X.shape)}')
        a.n, a.c, a.h, a.w = X.shape
        X = X.astype(np.float32)
    if a.reps < 1:
        ap.error(f'--reps must be a positive integer, got {a.reps}')
    if a.n is None or a.n < 1 or a.depth < 1 or a.c < 1 or a.h < 1 or (a.w is not None and a.w < 1):
        ap.error('--n, --c, --h, --w and --depth must be positive integers (--n is required)')
    if a.filter < 1 or a.filter % 2 == 0:
        ap.error(f'--filter must be odd and positive, got {a.filter}')
    w = a.w or a.h
    if a.filter > min(a.h, w):
        ap.error(f'filter {a.filter} is wider than the {a.h} x {w} image')
    if not a.x:
        X = images(a.n, a.c, a.h, w)
    if a.xp == 'cupy':
        import cupy as xp
        X = xp.asarray(X)
        device = xp.cuda.runtime.getDeviceProperties(0)['name'].decode()
    else:
        xp, device = np, 'cpu'
    times = []
    for _ in range(a.reps):
        t1 = time.perf_counter()
        nngp, ntk = cntk(xp, X, a.depth, a.readout, a.pad, a.filter, True if a.full_state else None)
        if xp is not np:
            nngp, ntk = xp.asnumpy(nngp), xp.asnumpy(ntk)
        t2 = time.perf_counter()
        times.append(t2 - t1)
        if len(times) == 1:
            seconds = t2 - T0  # the whole process: start to the first result
    if not (np.all(np.isfinite(nngp)) and np.all(np.isfinite(ntk))):
        print('conv_numpy.py: the result is not finite', file=sys.stderr)
        return 1
    warm = sorted(times[1:])
    out = {
        'implementation': f'{a.xp} float32', 'numpy': np.__version__, 'device': device,
        'arch': f'cntk:depth={a.depth},readout={a.readout},pad={a.pad},filter={a.filter}',
        'n': a.n, 'shape': [a.n, a.c, a.h, w], 'state': 'full' if a.readout == 'gap' or a.full_state else 'diagonal',
        'pairs': a.n * a.n, 'seconds': seconds, 'compute_seconds': times[0],
        'warm_seconds': (warm[(len(warm) - 1) // 2] + warm[len(warm) // 2]) / 2 if warm else None,
        'pairs_per_second': a.n * a.n / seconds, 'max_rss': max_rss_bytes(),
        'checksum': [float(nngp.astype(np.float64).sum()), float(ntk.astype(np.float64).sum())],
    }
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
