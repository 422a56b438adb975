#!/usr/bin/env python3
"""belfer2021 with alpha = 1 at rho = 0 for depth L, by the pinned recursion in 30-digit mpmath
(the value test/presets.test.ts checks at L = 10^5; about 4 s). Usage: python3 scripts/mp-belfer.py [L]"""
import sys
import mpmath as mp

mp.mp.dps = 30
L = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
a = mp.mpf(1)
K, Kd, T, Td = mp.mpf(0), mp.mpf(1), mp.mpf(0), mp.mpf(0)
for _ in range(L):
    r = K / Kd
    th = mp.acos(r)
    k0 = (mp.pi - th) / mp.pi
    k1 = (mp.sin(th) + (mp.pi - th) * r) / mp.pi
    T = T * (1 + a * k0) + a * (Kd * k1 + K * k0)
    Td = Td * (1 + a) + a * (Kd + Kd)
    K = K + a * Kd * k1
    Kd = Kd * (1 + a)
print(mp.nstr(T / Td, 12))
