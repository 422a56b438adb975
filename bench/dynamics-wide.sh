#!/usr/bin/env bash
# Wide sampled networks on WebGPU (issue 15): the runs behind bench/results/dynamics-wide.json and
# README's "Wide networks". Whole CLI, `nice`, peak RSS from GNU time. Slow on lavapipe (about
# 15 minutes in all on 2 shared cores). Needs numpy for the inputs; `npm run build` first.
# Usage: bash bench/dynamics-wide.sh [dir]   (inputs and outputs go to dir, default a temporary one)
set -euo pipefail
dir=${1:-$(mktemp -d)}
cli="node $(dirname "$0")/../dist/node/cli.js"
python3 - "$dir" <<'PY'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
for n in (64, 1024):
    X = rng.standard_normal((n, 16)); X /= np.linalg.norm(X, axis=1, keepdims=True)
    np.save(f'{d}/x{n}.npy', X); np.save(f'{d}/y{n}.npy', np.sin(3 * X[:, 0]) + 0.5 * X[:, 1])
PY
run() { echo "== $*"; nice /usr/bin/time -v "$@" 2>&1 | grep -E 'seconds"|Elapsed|Maximum resident|User time|System time'; }
# (a) the empirical kernels of one network at width 16384 on 64 inputs, and the analytic kernels to compare.
run $cli empirical --arch mlp:depth=2 --width 16384 --backend webgpu --x1 "$dir/x64.npy" --get nngp,ntk --out "$dir/emp16384-{kernel}.npy" --json
$cli gram --arch mlp:depth=2 --x1 "$dir/x64.npy" --get nngp,ntk --backend cpu --out "$dir/ana-{kernel}.npy" > /dev/null
# (b) training at width 16384, n = 64: 5 steps and 1 step (their difference is 4 steps).
for s in 5 1; do run $cli analyze dynamics --arch mlp:depth=2 --train "$dir/x64.npy" --targets "$dir/y64.npy" --widths 16384 --steps $s --seeds 1 --backend webgpu --out "$dir/dyn16384-s$s" --json; done
# (c) n = 1024 training samples at width 512: 20 steps and 1 step.
for s in 20 1; do run $cli analyze dynamics --arch mlp:depth=2 --train "$dir/x1024.npy" --targets "$dir/y1024.npy" --widths 512 --steps $s --seeds 1 --backend webgpu --out "$dir/dyn1024-s$s" --json; done
# (d) the kernels of 1024 inputs at width 2048.
run $cli empirical --arch mlp:depth=2 --width 2048 --backend webgpu --x1 "$dir/x1024.npy" --get nngp,ntk --out "$dir/emp1024n-{kernel}.npy" --json
echo "outputs in $dir"
