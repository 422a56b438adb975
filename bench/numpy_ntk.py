#!/usr/bin/env python3
"""The arora2019 NNGP + NTK recursion written the way a NumPy user writes it (the baseline of
bench/gpu-gram.mjs): full N x N arrays, G = X @ X.T, no blocking, no symmetry trick.

    Sigma_0 = Theta_0 = X X^T
    rho = clip(Sigma / sqrt(diag diag^T), -1, 1),  theta = arccos(rho)
    kappa0 = (pi - theta) / pi,  kappa1 = (sqrt(1 - rho^2) + (pi - theta) rho) / pi
    Sigma_h = sqrt(diag diag^T) kappa1,  Theta_h = Theta_{h-1} kappa0 + Sigma_h
    NNGP = Sigma_L, NTK = Theta_L

Usage:
  numpy_ntk.py --n 4096 --d 512 --depth 20 --dtype float32 [--reps 2]   time it (deterministic input)
  numpy_ntk.py --x in.npy --depth 3 --dtype float64 --out out.npy      compute on given rows (checks)
Prints one JSON object on stdout.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np


def arora2019(X, depth):
    G = X @ X.T
    diag = np.diag(G).copy()
    norms = np.sqrt(np.outer(diag, diag))
    sigma = G
    theta = G.copy()
    for _ in range(depth):
        rho = np.clip(sigma / norms, -1.0, 1.0)
        ang = np.arccos(rho)
        k0 = (np.pi - ang) / np.pi
        k1 = (np.sqrt(1.0 - rho * rho) + (np.pi - ang) * rho) / np.pi
        sigma = norms * k1
        theta = theta * k0 + sigma
    return sigma, theta


def inputs(n, d, dtype):
    # Deterministic, uniform in [-1, 1) (the same distribution as the Node side; not the same numbers).
    rng = np.random.default_rng(12345)
    return (rng.random((n, d)) * 2.0 - 1.0).astype(dtype)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--x", help="rows from this .npy instead of generated ones")
    ap.add_argument("--out", help="write [NNGP, NTK] as a float64 .npy of shape [2, n, n]")
    a = ap.parse_args()
    dtype = np.dtype(a.dtype)
    X = np.load(a.x).astype(dtype) if a.x else inputs(a.n, a.d, dtype)
    times = []
    for _ in range(max(1, a.reps)):
        t0 = time.perf_counter()
        nngp, ntk = arora2019(X, a.depth)
        times.append(time.perf_counter() - t0)
    assert nngp.dtype == dtype and ntk.dtype == dtype
    if a.out:
        np.save(a.out, np.stack([nngp, ntk]).astype(np.float64))
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{cfg.get('name')} {cfg.get('version')}"
    except Exception:  # older NumPy: no dict mode
        blas = "unknown"
    print(json.dumps({
        "n": int(X.shape[0]), "d": int(X.shape[1]), "depth": a.depth, "dtype": a.dtype,
        "seconds": statistics.median(times), "allSeconds": times,
        "numpy": np.__version__, "blas": blas, "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    sys.exit(main())
