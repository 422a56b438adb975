/**
 * webntk: infinite-width NNGP and NTK kernels. This entry point is runtime-neutral (browsers, Deno,
 * Node); Node-only code (files, CLI) lives in `webntk/node`.
 */
export { kernel, kernelBlocks, kernelCpu, program, resolveBackend, toSpec } from './api.js';
export type { AdapterSummary, Arch, Backend, BackendChoice, KernelOptions, KernelResult, ProgramInfo } from './api.js';
export { describeAdapter, getGpu, releaseGpu, setGpuProvider } from './gpu/device.js';
export type { GpuContext, GpuProvider } from './gpu/device.js';
export { GpuError } from './gpu/gram.js';
export { benchArch, benchGram, benchGrams, benchInputs, parseBenchCase, BENCH_WARMUP_ROWS } from './bench.js';
export type { BenchCase, BenchRow, BenchRuntimeResult } from './bench.js';
export type { GramBlock, GramResult, KernelKind } from './result.js';
export { InputError, SpecError } from './errors.js';
export { toMatrix } from './matrix.js';
export { encodeNpy, parseNpy } from './io/npy.js';
export type { EncodeNpyOptions, NdArray, NpyArray, NpyByteOrder, NpyDtypeName, NpyWriteDtype } from './io/npy.js';
export type { Matrix2D, MatrixInput } from './matrix.js';
export { PRESETS, findPreset, parsePresetRef, presetSpec } from './spec/presets.js';
export type { Preset } from './spec/presets.js';
export { resolveSpec } from './spec/validate.js';
export type * from './spec/types.js';
export * as stax from './spec/stax.js';
export { monteCarlo } from './mc/montecarlo.js';
export type { MonteCarloOptions, MonteCarloResult } from './mc/montecarlo.js';
export { kappa0, kappa1 } from './cpu/activations.js';
export { asMatrix, NeuralKernel } from './ml.js';
export { accuracy, oneHot, predict, predictFromKernels, predictFromKernelsCg, toTargets, COND_SINGULAR, COND_WARN, DIRECT_MAX_N, EIGEN_FLOOR } from './predict.js';
export type { CgSummary, KernelBlocks, PredictionCore, PredictKernel, PredictOptions, PredictResult, SolverChoice, Targets } from './predict.js';
export type { NeuralKernelOptions } from './ml.js';
export { foldOrder, selectModel, SELECT_MAX_BYTES } from './select.js';
export type { SelectBest, SelectOptions, SelectResult, SelectRow, SelectTest } from './select.js';
export type { MlMatrixLike } from './matrix.js';
export { cuspSlope, cuspSlopeEstimate, kernelProfile } from './analysis/profile.js';
export type { Profile, ProfileOptions } from './analysis/profile.js';
export { circleInterpolant } from './analysis/smoothness.js';
export type { CircleInterpolant, CircleInterpolantOptions } from './analysis/smoothness.js';
export { depthSweep, fitLine, fitPowerLaw } from './analysis/depth.js';
export type { DepthSweep } from './analysis/depth.js';
export { spectralDecay, SPECTRAL_RELATIVE_NOISE } from './analysis/spectral.js';
export type { SpectralDecay, SpectralOptions, ParityFit, PowerLawFit, DegreeStatus } from './analysis/spectral.js';
export {
  conditionFromEigenvalues,
  conditioningVsDepth,
  doubleConstantCondition,
  gramSpectrum,
  lanczos,
  leadingEigenvalues,
  symmetricEigenvalues,
  SPECTRUM_DENSE_MAX_N,
} from './analysis/spectrum.js';
export type { ArchConditioning, ConditioningOptions, DepthConditioning, GramSpectrum, GramSpectrumOptions, LanczosOptions, LanczosResult, LeadingEigenvalues, LeadingEigenvaluesOptions } from './analysis/spectrum.js';
export { FLUCTUATION_FAMILIES, sampledNetworkWork, widthFluctuations } from './analysis/fluctuations.js';
export type { EntryStats, FamilyFit, FluctuationCell, FluctuationFamily, FluctuationFamilyName, FluctuationOptions, FluctuationResult } from './analysis/fluctuations.js';
export { resntkDepthTable, resntkDepthTableOn, twoLayerLimit } from './analysis/infinite.js';
export type { DepthTable, DepthTableOptions, DepthTableRow } from './analysis/infinite.js';
export { infiniteDepthKernel, infiniteDepthLimit, limitSpecs } from './exec/limit.js';
export type { InfiniteDepthLimit, InfiniteDepthParams } from './exec/limit.js';
export { resntkOde, solveResntkOde } from './solve/resntk-ode.js';
export type { OdeSolution } from './solve/resntk-ode.js';
export { parseInfiniteDepthRef, INFINITE_DEPTH_PRESETS } from './spec/presets.js';
