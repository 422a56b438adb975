#!/usr/bin/env bash
# The real-GPU suite, run on the lent GPU machine from the project root with the bundle carried
# (bash ../shared/gpu-bundle/pack.sh after npm run build; `carry: [".gpu-bundle"]`):
#
#   OUT=/some/dir bash bench/gpu-h200.sh
#
# 1. the adapter (webntk info) and the GPU (nvidia-smi);
# 2. webntk on WebGPU, FC NTK (arora2019) at N = 16 384, d = 3072, depth 10: end to end to float64
#    host memory, and the first-layer kernel alone against the adapter's measured FMA peak
#    (bench/gpu-gram.mjs), plus the NumPy-pairing headline shape N = 4096, d = 512, depth 20;
# 3. webntk streamed to float32 host memory at N = 16 384 and N = 50 000 (bench/gpu-stream.mjs);
# 4. the peers (JAX jit, PyTorch, CuPy; $BUNDLE/peers.py) on the same recursion and shapes.
# Each step has its own time limit, so that one that hangs leaves the others' results in $OUT.
# The convolutional kernels (CNTK GAP and Flatten against neural-tangents) have their own script: bench/gpu-h200-conv.sh.
set -uo pipefail
: "${OUT:?set OUT to the folder for the results}"
B=.gpu-bundle
# The NVIDIA Vulkan ICD (libGLX_nvidia.so.0) needs glvnd and X11's client libraries, which the
# machine may lack: carried as Debian packages in .gl/ (see the device notes) and unpacked here.
if [ -d .gl ]; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
run() { bash "$B/run.sh" "$@"; }
log() { echo "== $(date +%T) $*" | tee -a "$OUT/log.txt"; }

log "nvidia-smi"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv >"$OUT/nvidia-smi.csv" 2>&1
cat "$OUT/nvidia-smi.csv"
icd=$(find /usr/local/nvidia -name 'libGLX_nvidia.so.0' 2>/dev/null | head -1)
[ -n "$icd" ] && ldd "$icd" | grep -i 'not found' | tee -a "$OUT/log.txt"
log "webntk info"
timeout 120 bash "$B/run.sh" node dist/node/cli.js info >"$OUT/info.txt" 2>&1; cat "$OUT/info.txt" | head -20
if grep -q 'no adapter' "$OUT/info.txt"; then
  ls -l /usr/local/nvidia/share/vulkan/icd.d/ 2>&1; cat /usr/local/nvidia/share/vulkan/icd.d/*.json 2>&1
  [ -n "$icd" ] && ldd "$icd"
  VK_LOADER_DEBUG=error,warn,driver timeout 60 bash "$B/run.sh" node dist/node/cli.js info 2>&1 | tail -30
  exit 3
fi

log "gpu-gram"
timeout 150 bash "$B/run.sh" node bench/gpu-gram.mjs --no-headline --reps 2 --cpu-max-n 0 \
  --case arora2019,16384,3072,10 --case arora2019,4096,512,20 --case arora2019,4096,3072,10 \
  --out "$OUT/gpu-gram.json" 2>&1 | tee -a "$OUT/log.txt"

log "gpu-stream 16384"
timeout 90 bash "$B/run.sh" node --max-old-space-size=8192 bench/gpu-stream.mjs --case arora2019,16384,3072,10 --reps 2 \
  --out "$OUT/gpu-stream-16384.json" 2>&1 | tee -a "$OUT/log.txt"

export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
log "peers 16384"
[ -n "${SKIP_PEERS:-}" ] || for fw in jax torch cupy; do
  timeout 120 python3 "$B/peers.py" $fw 16384 3072 10 --runs 3 2>>"$OUT/log.txt" | tee -a "$OUT/peers.jsonl"
done

log "gpu-stream 50000"
timeout 180 bash "$B/run.sh" node --max-old-space-size=8192 bench/gpu-stream.mjs --case arora2019,50000,3072,10 --reps 1 \
  --out "$OUT/gpu-stream-50000.json" 2>&1 | tee -a "$OUT/log.txt"

log "peers 50000"
[ -n "${SKIP_PEERS:-}" ] || for fw in jax torch cupy; do
  timeout 150 python3 "$B/peers.py" $fw 50000 3072 10 --runs 1 2>>"$OUT/log.txt" | tee -a "$OUT/peers.jsonl"
done
log "done"
