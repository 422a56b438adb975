#!/usr/bin/env bash
# The convolutional part of the real-GPU suite (issue 13, "Speed", on a real GPU), a sibling of
# bench/gpu-h200.sh, run on the lent GPU machine from the project root with the bundle carried
# (npm run build && bash ../shared/gpu-bundle/pack.sh; `carry: [".gpu-bundle", ".gl"]`):
#
#   OUT=/some/dir bash bench/gpu-h200-conv.sh
#
# What it times: neural-tangents' published CNTK benchmark (NT README "Performance": a 21-layer 3×3
# CNN, SAME padding, ReLU, 3×32×32 inputs, ms per NTK entry: 2.70 ms with GAP, 0.00465 ms with
# Flatten, V100 fp32). Mapping to webntk: NT's 21 layers are 20 conv+ReLU layers and the final dense
# layer after the pooling/flattening, so the network is `cntk:depth=20,readout=gap|flatten` — depth
# counts conv layers (each followed by ReLU, README "Presets"), and the readout is the 21st, dense,
# layer; SAME padding is webntk's `pad=zero` (out-of-image pixels read 0, normaliser 1/9; cntk's
# default); NT's W_std² = 2 / b = 0 is cntk's σ² = 2 after the first layer, no bias (weight
# variances only scale the kernel, not the cost). 3×32×32 is shape [N, 3, 32, 32] (NCHW).
#
# Per Gram entry: X1 (n images) × X2 (n other images), every one of the n² entries computed (no
# symmetry discount), both kernels (NNGP and NTK) returned to host memory in float64, as kernel()
# returns them. --reps 3: the first call (which compiles the pipelines) and the median of the next
# two are reported; ms per entry uses the warm median. Sizes grow while the last warm call took less
# than $GROW_S seconds and the next size's three calls are predicted (cost ∝ n²) to fit in $STEP_S. The compute limit the issue gives: ≈ 0.73 GFLOP-
# equivalents per pair for GAP at L = 20 (wave2.md §1.4: L·P²·35, P = 1024), ≈ 0.7 M for Flatten,
# at ≈ 67 TFLOP/s fp32 on an H200: 0.011 ms and 1.1e−5 ms per entry. Goal: GAP ≤ 0.05 ms per entry.
#
# Also: the same recursion as a Python user writes it on the GPU (bench/conv_numpy.py --xp cupy,
# float32; whole process, first and warm computation; X × X, all n² entries computed), and a spot
# check of the GPU values against the float64 CPU path (flatten n = 8, GAP n = 2; Gram checksums).
#
# Dry run on a machine without a GPU (the CPU backend, a tiny network, no bundle, NumPy as the peer):
#   LOCAL=1 BACKEND=cpu DEPTH=2 H=8 GAP_SIZES="2 4" FLAT_SIZES="4 8" PEER_XP=numpy PEER_RUNS="gap:4" OUT=/tmp/c bash bench/gpu-h200-conv.sh
# (BACKEND=webgpu there runs the spot check too; until the WebGPU conv kernels exist its rows fail.)
set -uo pipefail
: "${OUT:?set OUT to the folder for the results}"
OUT=$(cd "$OUT" && pwd) || exit 2 # absolute: the bundle's run.sh changes directory
BACKEND=${BACKEND:-webgpu}
DEPTH=${DEPTH:-20}
H=${H:-32}
C=${C:-3}
GAP_SIZES=${GAP_SIZES:-"4 16 64 256"}
FLAT_SIZES=${FLAT_SIZES:-"256 1024 4096"}
STEP_S=${STEP_S:-150}
GROW_S=${GROW_S:-20}
PEER_XP=${PEER_XP:-cupy}
PEER_RUNS=${PEER_RUNS:-"gap:4 gap:8 gap:16 flatten:256 flatten:1024"} # readout:n, X × X (all n² entries)
log() { echo "== $(date +%T) $*" | tee -a "$OUT/conv-log.txt"; }
if [ -n "${LOCAL:-}" ]; then
  run() { "$@"; }
else
  # The NVIDIA Vulkan ICD needs glvnd and X11's client libraries (see bench/gpu-h200.sh).
  if [ -d .gl ]; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
  run() { bash .gpu-bundle/run.sh "$@"; }
  log "nvidia-smi"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee "$OUT/conv-nvidia-smi.csv"
  log "webntk info"
  timeout 120 bash .gpu-bundle/run.sh node dist/node/cli.js info 2>&1 | tee "$OUT/conv-info.txt" | head -20
  grep -q 'no adapter' "$OUT/conv-info.txt" && { echo "no WebGPU adapter: see bench/gpu-h200.sh for the driver checks" >&2; exit 3; }
fi

# One run: appends {readout, n, …conv-run.mjs output} or {readout, n, error} to conv.jsonl and
# prints the warm kernel seconds (empty on failure).
one() { # readout n backend reps
  local line
  line=$(timeout "$STEP_S" bash -c "$(declare -f run); run node bench/conv-run.mjs --backend $3 --depth $DEPTH --readout $1 --c $C --h $H --n $2 --n2 $2 --reps $4" 2>>"$OUT/conv-log.txt" | tail -1)
  [ -n "$line" ] || line="{\"error\": \"no output (timed out after $STEP_S s or crashed; see conv-log.txt)\"}"
  python3 - "$1" "$2" "$line" >>"$OUT/conv.jsonl" <<'PY'
import json, sys
r = json.loads(sys.argv[3]); r.update(readout=sys.argv[1], n=int(sys.argv[2])); print(json.dumps(r))
PY
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r.get("warmSeconds") or r.get("kernelSeconds") or "")' "$line"
}

for readout in gap flatten; do
  sizes=$GAP_SIZES; [ "$readout" = flatten ] && sizes=$FLAT_SIZES
  prev=
  for n in $sizes; do
    # the next size only if its three calls, predicted from the last (cost ∝ n²), fit in $STEP_S
    if [ -n "$prev" ] && ! python3 -c "import sys; p, s, n = map(float, sys.argv[1:]); sys.exit(0 if s < $GROW_S and 3 * s * (n / p) ** 2 < 0.8 * $STEP_S else 1)" "$prev" "$s" "$n"; then
      log "$readout n = $n skipped: predicted over ${STEP_S} s (last: n = $prev, $s s)"; break
    fi
    log "$BACKEND $readout n = $n (×$n), depth $DEPTH, ${C}×${H}×${H}"
    s=$(one "$readout" "$n" "$BACKEND" 3)
    echo "   warm kernel: ${s:-failed} s"
    [ -n "$s" ] || break
    prev=$n
  done
done

if [ "$BACKEND" != cpu ]; then
  log "spot check against the float64 CPU path (checksums)"
  for spec in "flatten 8" "gap 2"; do
    set -- $spec
    for b in "$BACKEND" cpu; do one "$1" "$2" "$b" 1 >/dev/null; done
  done
fi

# Halo tiles of the global layout (images whose slab exceeds the workgroup memory: 64×64 with one
# state slot needs 49 KiB, above the 48 KiB of NVIDIA's adapters): the same runs tiled and untiled.
TILE_H=${TILE_H:-64}
TILE_RUNS=${TILE_RUNS:-"flatten:16 gap:2"}
if [ "$BACKEND" != cpu ]; then
  for spec in $TILE_RUNS; do
    set -- ${spec/:/ }
    for t in on off; do
      log "halo tiles $t: $1 n = $2 (×$2), depth $DEPTH, ${C}×${TILE_H}×${TILE_H}"
      line=$(timeout "$STEP_S" bash -c "$(declare -f run); run node bench/conv-run.mjs --backend $BACKEND --depth $DEPTH --readout $1 --c $C --h $TILE_H --n $2 --n2 $2 --reps 3 --tiles $t" 2>>"$OUT/conv-log.txt" | tail -1)
      [ -n "$line" ] || line="{\"error\": \"no output (timed out after $STEP_S s or crashed; see conv-log.txt)\", \"tiles\": \"$t\"}"
      echo "$line" | tee -a "$OUT/conv-tiles.jsonl"
    done
  done
fi

if [ -z "${SKIP_PEERS:-}" ]; then
  log "$PEER_XP float32 peer (bench/conv_numpy.py --xp $PEER_XP)"
  for spec in $PEER_RUNS; do
    set -- ${spec/:/ }
    timeout "$STEP_S" python3 bench/conv_numpy.py --xp "$PEER_XP" --reps 3 --readout "$1" --n "$2" --c "$C" --h "$H" --depth "$DEPTH" 2>>"$OUT/conv-log.txt" |
      tee -a "$OUT/conv-peers.jsonl"
  done
fi

log "summary"
python3 - "$OUT" "$BACKEND" <<'PY' | tee "$OUT/conv-summary.md"
import json, os, sys
out, backend = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(os.path.join(out, 'conv.jsonl'))]
NT = {'gap': 2.70, 'flatten': 0.00465}          # NT README, V100 fp32, ms per NTK entry
LIMIT = {'gap': 0.73e9 / 67e12 * 1e3, 'flatten': 0.7e6 / 67e12 * 1e3}  # ms per entry at 67 TFLOP/s
print('| readout | n × n | backend | first call s | warm s | ms per entry (warm) | NT V100 ms | speedup vs NT | compute limit ms |')
print('|---|---|---|---|---|---|---|---|---|')
for r in rows:
    if 'error' in r:
        print(f"| {r['readout']} | {r['n']} | — | failed: {r['error'][:120]} | | | | | |")
        continue
    ms = 1e3 * (r['warmSeconds'] or r['kernelSeconds']) / r['entries']
    print(f"| {r['readout']} | {r['n']}×{r['n2']} | {r['backend']} | {r['kernelSeconds']:.3f} | {r['warmSeconds'] or float('nan'):.3f} | "
          f"{ms:.3g} | {NT[r['readout']]} | {NT[r['readout']] / ms:.3g}× | {LIMIT[r['readout']]:.2g} |")
# spot check: the same (readout, n) on the GPU and the CPU
by = {}
for r in rows:
    if 'error' not in r and r.get('warmSeconds') is None:
        by.setdefault((r['readout'], r['n']), {})[r['backend']] = r['checksum']
for (ro, n), c in by.items():
    if 'cpu' in c and len(c) == 2:
        g = next(v for k, v in c.items() if k != 'cpu')
        d = max(abs(a - b) / abs(b) for a, b in zip(g, c['cpu']))
        print(f"\nspot check {ro} n = {n}: max relative difference of the Gram sums, {backend} vs CPU float64: {d:.2g}")
p = os.path.join(out, 'conv-peers.jsonl')
if os.path.exists(p):
    for l in open(p):
        r = json.loads(l)
        print(f"\n{r['implementation']} on {r['device']}: {r['arch']}, n = {r['n']}: whole process {r['seconds']:.2f} s, "
              f"first computation {r['compute_seconds']:.3f} s, warm {r['warm_seconds']:.3g} s = {1e3 * r['warm_seconds'] / r['pairs']:.3g} ms per entry")
tiles = os.path.join(out, 'conv-tiles.jsonl')
if os.path.exists(tiles):
    print('\n| halo tiles | arch | images | n × n | layer dispatches tiled / untiled | first call s | warm s |')
    print('|---|---|---|---|---|---|---|')
    for l in open(tiles):
        r = json.loads(l)
        if 'error' in r:
            print(f"| {r.get('tiles')} | failed: {r['error'][:120]} | | | | | |")
            continue
        d = r['layerDispatches']
        print(f"| {r['tiles']} | {r['arch']} | {'×'.join(map(str, r['shape'][1:]))} | {r['shape'][0]}×{r['n2']} | {d['tiled']} / {d['untiled']} | "
              f"{r['kernelSeconds']:.3f} | {r['warmSeconds'] or float('nan'):.3f} |")
PY
log "done"
