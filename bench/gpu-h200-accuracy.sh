#!/usr/bin/env bash
# The accuracy half of the real-GPU suite: the README's WebGPU-vs-float64 accuracy table
# (scripts/gpu-accuracy-table.ts) and `webntk bench --json` (CPU float64 and WebGPU side by side,
# with their agreement) on the lent GPU machine. Prepare here, after npm run build:
#   bash ../shared/gpu-bundle/pack.sh
#   npx esbuild scripts/gpu-accuracy-table.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.gpu-extra/accuracy.mjs
#   (and .gl/ with glvnd and X11 client libraries, see bench/gpu-h200.sh)
# then run with carry [".gpu-bundle", ".gl", ".gpu-extra"]:  OUT=$OUT bash bench/gpu-h200-accuracy.sh
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
B=.gpu-bundle
bash $B/run.sh node dist/node/cli.js info --json > "$OUT/info.json" 2>&1
cp .gpu-extra/accuracy.mjs /tmp/webntk-gpu/bench/accuracy.mjs
timeout 240 bash $B/run.sh node bench/accuracy.mjs 2>&1 | grep -v '^Warning\|^    at\|^$' | tee "$OUT/accuracy.md"
timeout 150 bash $B/run.sh node dist/node/cli.js bench --case arora2019,1024,64,10 --case tirer2021,1024,64,10 --case densenet,1024,64,10 --case arora2019,2048,784,100 --json > "$OUT/bench.json" 2>"$OUT/bench.err"
cat "$OUT/bench.json" | head -c 3000; tail -3 "$OUT/bench.err"
