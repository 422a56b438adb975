// Matrix-free CG on the full Fashion-MNIST set (60 000 training images, 10 000 test images), the
// accuracy of its saved iterates. The solve itself is `webntk predict --solver cg-matfree
// --cg-checkpoint` (hours per tens of iterations on lavapipe; it survives kills and session ends and
// goes on from its last iteration); this script prepares its inputs and scores the checkpoints it
// leaves, so the accuracy is known at every saved iteration, converged or not.
//
//   npm run build
//   node bench/fashion-full-cg.mjs export DIR            # DIR/train.npy, train-labels.npy, test.npy, test-labels.npy
//   webntk predict --arch mlp:depth=3 --train DIR/train.npy --targets DIR/train-labels.npy --classes 10 \
//     --test DIR/test.npy --test-labels DIR/test-labels.npy --kernel nngp --solver cg-matfree --backend webgpu \
//     --ridge-rel 1e-4 --cg-rank 1000 --cg-tol 1e-3 --cg-max-iter 300 --cg-checkpoint DIR/ck.bin --out DIR/pred.npy --json
//   (copy DIR/ck.bin aside at the iterations to score, e.g. snap-10.bin)
//   node bench/fashion-full-cg.mjs eval DIR --log DIR/err.log[,DIR/err2.log] SNAP.bin…   # bench/results/fashion-full-cg.json
//
// The inputs are the demo's (fashionSplits: [0, 1] pixels centred by the training mean), all of
// Debian's dataset-fashion-mnist. A checkpoint's mean is K(test, train)·x, the same kernelTimes pass
// predict ends with; its fingerprint must name DIR/train.npy's and DIR/train-labels.npy's digests.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { accuracy, kernelTimes } from '../dist/index.js';
import { fashionSplits } from '../dist/node/demo.js';
import { fileDigest, readCheckpoint } from '../dist/node/cg-checkpoint.js';
import { useNodeWebGPU } from '../dist/node/index.js';
import { encodeNpy, parseNpy } from '../dist/io/npy.js';

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    log: { type: 'string' },
    out: { type: 'string', default: 'bench/results/fashion-full-cg.json' },
  },
});
const [cmd, dir, ...checkpoints] = positionals;

if (cmd === 'export' && dir) {
  const { train, test } = fashionSplits(o.data, 6000, 1000);
  const d = train.X.length / train.n;
  writeFileSync(join(dir, 'train.npy'), encodeNpy(Float32Array.from(train.X), [train.n, d], 'float32'));
  writeFileSync(join(dir, 'train-labels.npy'), encodeNpy(train.labels, [train.n], 'float64'));
  writeFileSync(join(dir, 'test.npy'), encodeNpy(Float32Array.from(test.X), [test.n, d], 'float32'));
  writeFileSync(join(dir, 'test-labels.npy'), encodeNpy(test.labels, [test.n], 'float64'));
  console.log(`${dir}: ${train.n} training and ${test.n} test images, d = ${d}`);
  process.exit(0);
}
if (cmd !== 'eval' || !dir || checkpoints.length === 0) {
  console.error('usage: node bench/fashion-full-cg.mjs export DIR | eval DIR [--log L1,L2] CHECKPOINT…');
  process.exit(2);
}

const npy = (f) => {
  const a = parseNpy(readFileSync(join(dir, f)), f);
  return { data: a.data, shape: a.shape.length === 1 ? [a.shape[0], 1] : a.shape };
};
const train = npy('train.npy');
const test = npy('test.npy');
const testLabels = npy('test-labels.npy').data;
const digests = { train: fileDigest(join(dir, 'train.npy')), targets: fileDigest(join(dir, 'train-labels.npy')) };

// Progress lines of the solve ("webntk: CG iteration N: relative residual R (largest of k), S s, …"),
// one log per process: each process's clock starts at its own start (a resumed one rebuilds the
// preconditioner first).
const runs = (o.log ?? '').split(',').filter(Boolean).map((file) => {
  const iterations = [];
  let resumedAt = null;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^webntk: CG iteration (\d+): relative residual (\S+) \(largest of \d+\), (\d+) s/.exec(line);
    if (m) iterations.push({ iteration: Number(m[1]), residual: Number(m[2]), seconds: Number(m[3]) });
    const r = /^webntk: resuming CG from .* at iteration (\d+)/.exec(line);
    if (r) resumedAt = Number(r[1]);
  }
  return { log: file, resumedAt, iterations };
});

useNodeWebGPU();
const rows = [];
let fingerprint = null;
let system = null;
for (const file of checkpoints) {
  const saved = readCheckpoint(file);
  if (saved.fingerprint.train !== digests.train || saved.fingerprint.targets !== digests.targets) {
    throw new Error(`${file}: saved by a run on other inputs than ${dir}/train.npy and train-labels.npy`);
  }
  fingerprint = saved.fingerprint;
  const s = saved.state;
  system = { ridge: s.ridge, preconditioner: s.preconditioner };
  const arch = JSON.parse(saved.fingerprint.arch);
  const t0 = performance.now();
  const { product, backend } = await kernelTimes(arch, test, train, s.x, s.k, { get: saved.fingerprint.kernel, backend: saved.fingerprint.backend });
  const row = {
    checkpoint: file,
    iteration: s.iteration,
    recursiveResidual: Math.max(...s.residuals), // the stopping rule's ‖r‖/‖y‖ (predict --json reports the true one)
    residuals: Array.from(s.residuals),
    accuracy: accuracy(product, [test.shape[0], s.k], testLabels),
    evalSeconds: (performance.now() - t0) / 1000,
    backend,
  };
  rows.push(row);
  console.log(`iteration ${row.iteration}: accuracy ${(100 * row.accuracy).toFixed(2)} %, recursive residual ${row.recursiveResidual.toExponential(2)} (${row.evalSeconds.toFixed(0)} s)`);
}
const result = {
  date: new Date().toISOString(),
  cpus: cpus().length,
  load1: loadavg()[0],
  n: train.shape[0],
  d: train.shape[1],
  m: test.shape[0],
  fingerprint: { ...fingerprint, train: digests.train, targets: digests.targets },
  ...system,
  rows: rows.sort((a, b) => a.iteration - b.iteration),
  runs,
};
writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${o.out}`);
