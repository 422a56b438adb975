/**
 * `webntk predict`: NNGP posterior or NTK gradient-flow predictions from files, with accuracy for
 * class labels. Warnings (conditioning, clamps) go to stderr; outputs are written atomically.
 */
import type { BackendChoice } from '../api.js';
import { toSpec } from '../api.js';
import { infiniteDepthLimit } from '../exec/limit.js';
import { parseInfiniteDepthRef } from '../spec/presets.js';
import { InputError } from '../errors.js';
import { describeAdapter, getGpu } from '../gpu/device.js';
import { encodeNpy } from '../io/npy.js';
import os from 'node:os';
import { accuracy, checkLabel, predict, type PredictKernel, type SolverChoice } from '../predict.js';
import { LANDMARK_CHOICES, type LandmarkChoice, type NystromSummary } from '../predict-nystrom.js';
import { checkDistinctPaths, checkOutputPath, inputCount, parseLayout, readArch, readKernelInput, readTargetsFile, writeFilesAtomic } from './files.js';
import { interruptionPoint } from './signals.js';
import { fileDigest, loadCheckpoint, saveCheckpoint } from './cg-checkpoint.js';
import { RESUME_MISMATCH, type CgState } from '../solve/cg.js';
import { useNodeWebGPU } from './webgpu.js';
import type { CliIO } from './cli-io.js';

export interface PredictCliOptions {
  arch: string;
  train: string;
  targets: string;
  test: string;
  kernel: PredictKernel;
  time: string;
  ridge?: string;
  ridgeRel?: string;
  out: string;
  variance?: string;
  backend: BackendChoice;
  solver: SolverChoice;
  cgTol: string;
  cgMaxIter?: string;
  cgRank?: string;
  cgCheckpoint?: string;
  landmarks?: string;
  landmarkSeed?: string;
  landmarkChoice?: string;
  classes?: string;
  testLabels?: string;
  /** Image inputs (conv specs): nchw (default) or nhwc. */
  layout?: string;
  quiet?: boolean;
  json?: boolean;
}

/** `--time 1,10,inf`: training times t ≥ 0, `inf` for the converged predictor. */
export function parseTimes(s: string): number[] {
  return s.split(',').map((p) => {
    const v = p.trim().toLowerCase();
    const t = v === 'inf' || v === 'infinity' ? Infinity : Number(v);
    if (v === '' || Number.isNaN(t) || t < 0) throw new InputError(`--time: "${p}" is not a time t ≥ 0 (or inf)`);
    return t;
  });
}

export async function runPredict(o: PredictCliOptions, io: CliIO): Promise<void> {
  const t0 = performance.now();
  if (o.kernel !== 'nngp' && o.kernel !== 'ntk') throw new InputError(`--kernel must be nngp or ntk, got "${String(o.kernel)}"`);
  const times = parseTimes(o.time);
  if (o.kernel === 'nngp' && !(times.length === 1 && times[0] === Infinity)) {
    throw new InputError('--time applies to --kernel ntk (the NNGP posterior has no training time)');
  }
  if (o.variance !== undefined && o.kernel !== 'nngp') throw new InputError('--variance needs --kernel nngp');
  if (o.ridge !== undefined && o.ridgeRel !== undefined) throw new InputError('give --ridge (absolute λ) or --ridge-rel (relative to the mean diagonal of the training kernel), not both');
  const ridge = Number(o.ridge ?? '0');
  if (o.ridge !== undefined && (o.ridge.trim() === '' || !Number.isFinite(ridge) || ridge < 0)) throw new InputError(`--ridge must be a number ≥ 0, got "${o.ridge}"`);
  const ridgeRel = o.ridgeRel !== undefined ? Number(o.ridgeRel) : undefined;
  if (o.ridgeRel !== undefined && (o.ridgeRel.trim() === '' || !Number.isFinite(ridgeRel) || ridgeRel! < 0)) {
    throw new InputError(`--ridge-rel must be a number ≥ 0, got "${o.ridgeRel}"`);
  }
  let classes: number | undefined;
  if (o.classes !== undefined) {
    classes = Number(o.classes);
    if (!Number.isInteger(classes) || classes < 2) throw new InputError(`--classes must be an integer ≥ 2, got "${o.classes}"`);
  }
  const arch = readArch(o.arch);
  // depth=inf references (huang2020/belfer2021) have no finite spec; predict() computes them from the reference.
  const inf = typeof arch === 'string' ? parseInfiniteDepthRef(arch) : null;
  if (inf) infiniteDepthLimit(inf);
  const spec = inf ? null : toSpec(arch);
  const name = spec ? (spec.name ?? null) : String(arch);
  const layout = parseLayout(o.layout);
  const train = readKernelInput(o.train, arch, layout, '--train');
  const test = readKernelInput(o.test, arch, layout, '--test');
  const targets = readTargetsFile(o.targets);
  const testLabels = o.testLabels !== undefined ? readTargetsFile(o.testLabels) : null;
  if (testLabels) {
    if (classes === undefined) throw new InputError('--test-labels needs --classes');
    if (testLabels.shape.length !== 1 || testLabels.shape[0] !== inputCount(test)) {
      throw new InputError(`${o.testLabels}: expected ${inputCount(test)} labels (one per test input), got shape (${testLabels.shape.join(', ')})`);
    }
    // Checked now, not when the accuracy is scored after the predictions were written.
    testLabels.data.forEach((v, i) => checkLabel(v, i, classes, o.testLabels!));
  }
  checkOutputPath(o.out, ['.npy']);
  if (o.variance !== undefined) checkOutputPath(o.variance, ['.npy']);
  checkDistinctPaths(
    { '--train': o.train, '--targets': o.targets, '--test': o.test, '--test-labels': o.testLabels, '--arch': o.arch.endsWith('.json') ? o.arch : undefined },
    { '--out': o.out, '--variance': o.variance },
  );
  const cgTol = Number(o.cgTol);
  if (!(cgTol > 0 && cgTol < 1)) throw new InputError(`--cg-tol must be a number in (0, 1), got "${o.cgTol}"`);
  if ((o.solver === 'cg' || o.solver === 'nystrom') && (o.variance !== undefined || times.some((t) => t !== Infinity))) {
    throw new InputError(`--solver ${o.solver} gives the mean at t = inf only; --variance and finite --time need --solver direct`);
  }
  if (o.solver === 'cg-matfree' && (o.variance !== undefined || times.some((t) => t !== Infinity))) {
    throw new InputError(
      '--solver cg-matfree gives the mean at t = inf only: --variance and finite --time need a stored kernel matrix (--solver direct); ' +
        'the low-rank approximation (--solver nystrom) gives the mean at t = inf only too',
    );
  }
  let cgRank: number | undefined;
  if (o.cgRank !== undefined) {
    cgRank = Number(o.cgRank);
    if (!Number.isInteger(cgRank) || cgRank < 0) throw new InputError(`--cg-rank must be an integer ≥ 0, got "${o.cgRank}"`);
    if (o.solver !== 'cg' && o.solver !== 'cg-matfree' && o.solver !== 'auto') throw new InputError('--cg-rank applies to --solver cg, cg-matfree or auto');
  }
  let cgMaxIterations: number | undefined;
  if (o.cgMaxIter !== undefined) {
    cgMaxIterations = Number(o.cgMaxIter);
    if (!Number.isInteger(cgMaxIterations) || cgMaxIterations < 1) throw new InputError(`--cg-max-iter must be a positive integer, got "${o.cgMaxIter}"`);
    if (o.solver === 'direct') throw new InputError('--cg-max-iter applies to --solver cg, cg-matfree, nystrom or auto');
  }
  let landmarks: number | undefined;
  let landmarkSeed: number | undefined;
  let landmarkChoice: LandmarkChoice | undefined;
  if (o.solver === 'nystrom') {
    if (o.landmarks === undefined) throw new InputError('--solver nystrom needs --landmarks M');
    landmarks = Number(o.landmarks);
    if (!Number.isInteger(landmarks) || landmarks < 1) throw new InputError(`--landmarks must be a positive integer, got "${o.landmarks}"`);
    if (landmarks > inputCount(train)) throw new InputError(`--landmarks ${landmarks} is more than the ${inputCount(train)} training inputs`);
    landmarkSeed = Number(o.landmarkSeed ?? '0');
    if (!Number.isInteger(landmarkSeed) || landmarkSeed < 0 || landmarkSeed > 0xffffffff) throw new InputError(`--landmark-seed must be an integer in 0 … 4294967295, got "${o.landmarkSeed}"`);
    landmarkChoice = (o.landmarkChoice ?? 'uniform') as LandmarkChoice;
    if (!LANDMARK_CHOICES.includes(landmarkChoice)) throw new InputError(`--landmark-choice must be one of ${LANDMARK_CHOICES.join(', ')}, got "${o.landmarkChoice}"`);
  } else if (o.landmarks !== undefined || o.landmarkChoice !== undefined) {
    throw new InputError(`${o.landmarks !== undefined ? '--landmarks' : '--landmark-choice'} applies to --solver nystrom`);
  }
  let checkpoint: { resume: CgState | null; onIteration: (s: CgState) => void } | null = null;
  if (o.cgCheckpoint !== undefined) {
    if (o.solver !== 'cg-matfree') throw new InputError('--cg-checkpoint applies to --solver cg-matfree');
    if (o.cgCheckpoint === '') throw new InputError('the checkpoint path (--cg-checkpoint) is empty');
    checkOutputPath(o.cgCheckpoint);
    checkDistinctPaths(
      { '--train': o.train, '--targets': o.targets, '--test': o.test, '--test-labels': o.testLabels, '--arch': o.arch.endsWith('.json') ? o.arch : undefined },
      { '--out': o.out, '--cg-checkpoint': o.cgCheckpoint },
    );
    const fingerprint = {
      arch: JSON.stringify(spec ?? arch),
      kernel: o.kernel,
      ridge: o.ridge ?? null,
      ridgeRel: o.ridgeRel ?? null,
      cgRank: cgRank ?? null,
      backend: o.backend,
      classes: classes ?? null,
      layout: o.layout ?? null,
      train: fileDigest(o.train),
      targets: fileDigest(o.targets),
    };
    const path = o.cgCheckpoint;
    const resume = loadCheckpoint(path, fingerprint);
    // Progress goes to stderr, so --json (stdout) keeps it; --quiet silences it.
    const quiet = o.quiet === true;
    if (resume && !quiet) io.err(`webntk: resuming CG from ${path} at iteration ${resume.iteration}\n`);
    checkpoint = {
      resume,
      onIteration: (s) => {
        saveCheckpoint(path, s, fingerprint);
        if (!quiet) {
          const worst = Math.max(...s.residuals);
          io.err(`webntk: CG iteration ${s.iteration}: relative residual ${worst.toExponential(2)} (largest of ${s.k}), ${((performance.now() - t0) / 1000).toFixed(0)} s, saved to ${path}\n`);
        }
      },
    };
  }
  if (o.backend !== 'cpu' || o.solver === 'cg') useNodeWebGPU();

  const r = await predictOrNameCheckpoint(o.cgCheckpoint, checkpoint?.resume ?? null, () => predict(spec ?? arch, train, targets, test, {
    kernel: o.kernel,
    ...(ridgeRel !== undefined ? { relativeRidge: ridgeRel } : { ridge }),
    ...(o.kernel === 'ntk' ? { times } : {}),
    ...(o.variance !== undefined ? { variance: true } : {}),
    ...(classes !== undefined ? { classes } : {}),
    backend: o.backend,
    solver: o.solver,
    cgTol,
    ...(cgMaxIterations !== undefined ? { cgMaxIterations } : {}),
    ...(cgRank !== undefined ? { cgRank } : {}),
    ...(checkpoint ? { onCgIteration: checkpoint.onIteration, ...(checkpoint.resume ? { cgResume: checkpoint.resume } : {}) } : {}),
    // The stored solvers hold K_XX in float64 and the dense solve copies it: a quarter of the machine's memory.
    memoryBytes: Math.floor(os.totalmem() / 4),
    ...(landmarks !== undefined ? { landmarks, landmarkSeed: landmarkSeed!, landmarkChoice: landmarkChoice! } : {}),
  }));
  const [m, k] = r.shape;
  const stacked = r.mean.length > 1;
  const values = new Float64Array(r.mean.length * m * k);
  r.mean.forEach((p, i) => values.set(p, i * m * k));
  // 1-D targets give 1-D predictions: [m] (or [T, m]).
  const plane = classes === undefined && targets.shape.length === 1 ? [m] : [m, k];
  const shape = stacked ? [r.mean.length, ...plane] : plane;
  // A pending SIGINT is handled before anything is committed.
  await interruptionPoint();
  // Both files or neither: an output that fails leaves the other's old contents in place too.
  writeFilesAtomic([
    { path: o.out, bytes: encodeNpy(values, shape, 'float64') },
    ...(o.variance !== undefined && r.variance ? [{ path: o.variance, bytes: encodeNpy(r.variance, [m], 'float64') }] : []),
  ]);
  const acc = testLabels ? r.mean.map((p) => accuracy(p, [m, k], testLabels.data)) : null;
  const seconds = (performance.now() - t0) / 1000;
  const adapter = r.backend === 'webgpu' ? describeAdapter((await getGpu())!.adapter) : null;
  if (r.solverReason && !o.json) io.err(`webntk: ${r.solverReason}\n`);
  for (const w of r.warnings) io.err(`webntk: warning: ${w}\n`);
  if (r.suggestedRidge !== undefined) {
    const rel = r.meanDiagonal > 0 ? ` or --ridge-rel ${(r.suggestedRidge / r.meanDiagonal).toPrecision(2)} (relative to the mean diagonal ${r.meanDiagonal.toPrecision(4)} of K_XX)` : '';
    io.err(
      `webntk: warning: try --ridge ${r.suggestedRidge.toPrecision(2)}${rel}; ` +
        '`webntk select` chooses the depth and the relative ridge by cross-validation\n',
    );
  }
  if (o.json) {
    io.out(
      JSON.stringify({
        out: o.out,
        shape,
        times: r.times ? r.times.map((t) => (t === Infinity ? 'inf' : t)) : null,
        ridge: r.ridge,
        ...(r.relativeRidge !== undefined ? { relativeRidge: r.relativeRidge } : {}),
        accuracy: acc,
        solver: r.solver,
        ...(r.solverReason ? { solverReason: r.solverReason } : {}),
        cg: r.cg ?? null,
        ...(r.kernelPasses !== undefined ? { kernelPasses: r.kernelPasses, kernelPassSeconds: r.kernelPassSeconds, kernelProduct: r.kernelProduct } : {}),
        ...(r.nystrom ? { nystrom: r.nystrom } : {}),
        conditionNumber: r.conditionNumber,
        suggestedRidge: r.suggestedRidge ?? null,
        warnings: r.warnings,
        backend: r.backend,
        adapter,
        seconds,
      }) + '\n',
    );
  } else if (!o.quiet) {
    const where = r.backend === 'webgpu' ? `kernels on webgpu (${adapter})` : 'kernels on the cpu';
    io.err(
      `wrote ${o.out}: ${o.kernel} predictions [${shape.join(', ')}] (${name ?? 'custom spec'}, ${where}, ` +
        `${r.solver} solve${r.cg ? ` (${r.cg.iterations} iterations${r.kernelPasses !== undefined ? `, ${r.kernelPasses} passes over the blocks of K_XX, multiplied on the ${r.kernelProduct}` : ''}, relative residual ${r.cg.relativeResidual.toExponential(1)}, ${r.cg.preconditioner} preconditioner)` : ''}` +
          `${r.nystrom ? ` (${r.nystrom.landmarks} landmarks by ${nystromChoice(r.nystrom)}, ${r.nystrom.iterations} CG iterations, K_nM in ${r.nystrom.storage})` : ''}, ` +
          `condition number${r.cg ? ' (preconditioned, Lanczos estimate)' : r.nystrom ? ' of K_MM (Cholesky estimate)' : ''} ${r.conditionNumber.toExponential(2)}, ${seconds.toFixed(2)} s)\n`,
    );
    if (acc) {
      acc.forEach((a, i) => io.out(`test accuracy${r.times ? ` at t = ${r.times[i]}` : ''}: ${(100 * a).toFixed(2)}%\n`));
    }
  }
}

/** How the landmarks were chosen, for the summary line. */
function nystromChoice(s: NystromSummary): string {
  if (s.choice === 'uniform') return `uniform draw, seed ${s.seed}`;
  const left = `residual trace ${(s.residualTrace ?? 0).toExponential(2)} of tr K`;
  return s.choice === 'pivoted-cholesky' ? `pivoted Cholesky, ${left}` : `randomly pivoted Cholesky, seed ${s.seed}, ${left}`;
}

/**
 * A saved state that passed the fingerprint but not solveCg's own check (its ridge or rebuilt
 * preconditioner differ: another backend under --backend auto, say) is named by its flag and path.
 */
async function predictOrNameCheckpoint<T>(path: string | undefined, resume: CgState | null, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (resume && path !== undefined && e instanceof InputError && e.message.startsWith(RESUME_MISMATCH)) {
      throw new InputError(`--cg-checkpoint ${path}: the saved state${e.message.slice(RESUME_MISMATCH.length)}; delete it or give another path to start over`);
    }
    throw e;
  }
}
