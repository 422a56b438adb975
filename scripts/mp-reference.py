#!/usr/bin/env python3
"""High-precision (mpmath, 60 digits) values of preset kernels for pairs where float64 rounding of
rho would already be visible: near-duplicates at 1e-6 .. 1e-3 rad, antipodes, deep networks with
biases. Written to test/data/mp-reference.json; test/reference-precision.test.ts checks the float64
reference against them. Run: python3 scripts/mp-reference.py (needs mpmath)."""
import json, math, struct
import mpmath as mp

mp.mp.dps = 60

def f32(x):
    return struct.unpack('f', struct.pack('f', x))[0]

def rot(a, t):
    return [math.cos(t) * a[0] - math.sin(t) * a[1], math.sin(t) * a[0] + math.cos(t) * a[1]] + a[2:]

BASE = [0.3, -1.2, 0.8, 0.5, 0.1]
PAIRS = {
    'near1e-6': (BASE, rot(BASE, 1e-6)),
    'near1e-4': (rot(BASE, 1e-5), rot(BASE, 1e-4)),
    'antipodal': (BASE, [-3 * v for v in BASE]),
    'nearAntipodal1e-5': (BASE, [-v for v in rot(BASE, 1e-5)]),
    'generic': (BASE, [1.5, 0.2, -0.4, 2.0, 0.3]),
}

def k01(r):
    r = max(mp.mpf(-1), min(mp.mpf(1), r))
    th = mp.acos(r)
    return (mp.pi - th) / mp.pi, (mp.sin(th) + (mp.pi - th) * r) / mp.pi

def relu(K):  # K = (xz, xx, zz) -> (S, Sdot)
    xz, xx, zz = K
    r = xz / mp.sqrt(xx * zz)
    k0, k1 = k01(r)
    return (mp.sqrt(xx * zz) * k1 / 2, xx / 2, zz / 2), k0 / 2

def mlp(x, z, L, cw2, cb2, scale):
    d = len(x)
    s = 1 / mp.mpf(d) if scale == 'dim' else 1
    dot = lambda a, b: sum(i * j for i, j in zip(a, b))
    K = (dot(x, z) * s + cb2, dot(x, x) * s + cb2, dot(z, z) * s + cb2)
    T = K[0]
    for _ in range(L):
        S, Sd = relu(K)
        K = tuple(cw2 * v + cb2 for v in S)
        T = cw2 * Sd * T + K[0]
    return K, T

def resnet(x, z, L, a, train_stem, train_readout, scale):  # a = alpha^2*cw2*cv2/2
    d = len(x)
    s = 1 / mp.mpf(d) if scale == 'dim' else 1
    dot = lambda u, v: sum(i * j for i, j in zip(u, v))
    K = (dot(x, z) * s, dot(x, x) * s, dot(z, z) * s)
    T = K[0] if train_stem else mp.mpf(0)
    for _ in range(L):
        xz, xx, zz = K
        r = xz / mp.sqrt(xx * zz)
        k0, k1 = k01(r)
        root = mp.sqrt(xx * zz)
        T = T * (1 + a * k0) + a * (root * k1 + xz * k0)
        K = (xz + a * root * k1, xx * (1 + a), zz * (1 + a))
    return K, T + (K[0] if train_readout else 0)

def normalised(fn, x, z):
    (kxz, _, _), txz = fn(x, z)
    (kxx, _, _), txx = fn(x, x)
    (kzz, _, _), tzz = fn(z, z)
    return float(kxz / mp.sqrt(kxx * kzz)), float(txz / mp.sqrt(txx * tzz))

CASES = []
for name, (x, z) in PAIRS.items():
    x = [mp.mpf(f32(v)) for v in x]
    z = [mp.mpf(f32(v)) for v in z]
    for ref, fn in [
        ('arora2019:depth=1000', lambda a, b: mlp(a, b, 1000, 2, 0, 'none')),
        ('mlp:depth=2000,cb2=0.2', lambda a, b: mlp(a, b, 2000, 2, mp.mpf('0.2'), 'dim')),
        ('mlp:depth=3,cb2=0.05,inputScale=none', lambda a, b: mlp(a, b, 3, 2, mp.mpf('0.05'), 'none')),
        ('tirer2021:depth=200,alpha=0.5', lambda a, b: resnet(a, b, 200, mp.mpf('0.125'), True, True, 'dim')),
    ]:
        nngp, ntk = normalised(fn, x, z)
        CASES.append({'arch': ref, 'pair': name, 'x': [float(v) for v in x], 'z': [float(v) for v in z], 'nngp': nngp, 'ntk': ntk})

# Deep constant-α ResNets (issue 14) on exactly parallel inputs whose norms differ by 10 (all entries
# exact in float32, so f32() keeps them parallel) and on a generic pair: the CPU is the reference
# of the WebGPU accuracy tests there.
U = [0.375, -1.5, 1.0, 0.625, 0.125]
DEEP_PAIRS = {'parallel10': (U, [10 * v for v in U]), 'generic': PAIRS['generic']}
for name, (x, z) in DEEP_PAIRS.items():
    x = [mp.mpf(f32(v)) for v in x]
    z = [mp.mpf(f32(v)) for v in z]
    for ref, fn in [
        ('resnet:depth=1000,alpha=0.8', lambda a, b: resnet(a, b, 1000, mp.mpf('0.64'), True, True, 'dim')),
        ('tirer2021:depth=1000,alpha=1', lambda a, b: resnet(a, b, 1000, mp.mpf('0.5'), True, True, 'dim')),
        ('tirer2021:depth=3000,alpha=0.5', lambda a, b: resnet(a, b, 3000, mp.mpf('0.125'), True, True, 'dim')),
    ]:
        nngp, ntk = normalised(fn, x, z)
        CASES.append({'arch': ref, 'pair': name, 'x': [float(v) for v in x], 'z': [float(v) for v in z], 'nngp': nngp, 'ntk': ntk})

with open('test/data/mp-reference.json', 'w') as f:
    json.dump({'generator': 'scripts/mp-reference.py (mpmath, 60 digits)', 'quantity': 'K(x,z)/sqrt(K(x,x)K(z,z))', 'cases': CASES}, f, indent=1)
print(len(CASES), 'cases')
