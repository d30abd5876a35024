/**
 * contrastlab: numerical checks of what the theory of contrastive learning claims about
 * optimisation. The main entry point: light (no plotting stack, no gpu.js, no mathjs until a
 * high-precision closed form is asked for). The heavy parts are subpath entry points:
 *   contrastlab/plot    figures (Vega-Lite specs, SVG/PNG rendering, a study's figures)
 *   contrastlab/gpujs   the gpu.js backend (needs gpu.js 2.x, installed on request)
 *   contrastlab/claims  the claims catalogue and its runner
 * Deep imports are internal.
 */
export * from './core/errors.ts';
export {
  type Matrix, type Matrix32, type Matrix64, type DType, type FloatArray,
  matrix, zeros, fromRows, toRows, get, set, transpose, block, rowRange, gatherRows, toContiguous, clone,
  isContiguous, frobeniusNorm, dtypeOf, shapeStr,
} from './core/matrix.ts';
export { Rng, type RngState } from './core/random.ts';
export { normalizeRows, rowNorms, tangentProject } from './core/sphere.ts';
export { binomial, combinations, DEFAULT_MAX_BATCHES } from './core/combinatorics.ts';
export { hungarian, minWeightPerfectMatching, type AssignmentResult, type PerfectMatchingResult } from './core/assignment.ts';

export {
  type Backend, type Kernels, type PairSpec, type PairExclusion, type PairLseResult, type PairGradCoefficients, type PairGradResult,
  type SigmoidSpec, type PairSigmoidResult,
  createCpuBackend, createReferenceBackend, defaultBackend, type CpuBackendOptions,
} from './backend/index.ts';

export {
  type LossAndGrad, type MatrixLike, asMatrix, type ObjectiveOptions, type ObjectiveName, type ObjectiveSpec, type BatchSet, type MinibatchOptions, type GclOptions,
  OBJECTIVE_NAMES, evaluateObjective, riemannianGrad, infonceLossAndGrad, infonceUvLossAndGrad, minibatchLossAndGrad,
  gclBimodalLossAndGrad, gclUnimodalLossAndGrad, validateBatchList,
  sigmoidLossAndGrad, SIGMOID_DEFAULT_T, SIGMOID_DEFAULT_B, type SigmoidOptions, type SigmoidLossAndGrad,
} from './objectives/index.ts';

export { shardedInfonceGrad, shardBounds, type ShardedOptions, type ShardedResult } from './objectives/sharded.ts';
export { similarityStats, type SimilarityStats } from './analysis/similarity.ts';
export { simplexEtf, etfGram, haarOrthogonal, rotateRows } from './optima/etf.ts';
export { crossPolytope, crossPolytopeGram, crossPolytopeAntipode } from './optima/crossPolytope.ts';
export {
  etfInfonce, allBatchesInfonce, partitionInfonce, crossPolytopeInfonce,
  etfInfonceBig, allBatchesInfonceBig, partitionInfonceBig, crossPolytopeInfonceBig,
} from './optima/closedForms.ts';
export { gramDistance, type OptimumKind, type GramDistanceResult } from './optima/gramDistance.ts';
export { knownOptimum, type KnownOptimum } from './optima/known.ts';

export { solveExact, type ExactSolverOptions, type ExactSolverResult, type TraceRow, type SphereMode } from './solver/exact.ts';

export { parseNpy, serializeNpy, readNpyFile, writeNpyFile, npyToMatrix, matrixToNpy, type NpyArray } from './io/npy.ts';
export { writeFileAtomic, StagedDir } from './io/atomic.ts';
export { fromNdarray, toNdarray } from './interop/ndarray.ts';

export {
  makeSampler, SAMPLER_KINDS, batchLoss, batchOfOrder, cutIntoBatches,
  type Sampler, type SamplerContext, type SamplerSpec, type SamplerState, type SamplerStep,
} from './samplers/index.ts';
export { spectralBatches, spectralBatchesWithInfo, spectralAffinity, type SpectralOptions, type SpectralResult } from './samplers/spectral.ts';

export { sgd, momentum, adamw, lars, chain, applyUpdates, constantSchedule, warmupCosine, sqrtBatchScaling } from './optim/transforms.ts';
export type { GradientTransformation, Params, Schedule, UpdateOptions } from './optim/types.ts';

export {
  type ExperimentSpec, type StudySpec, type DataSpec, type ModelSpec, type ObjectiveSpec as ExperimentObjectiveSpec, type TrainEstimatorSpec, type OptimizerSpec, type FigureSpec, type MetricName,
  validateExperiment, validateStudy, configHash, canonicalJson, METRICS,
} from './experiments/spec.ts';
export { train, initialState, totalSteps, type RunRecord, type RunState, type RunTraceRow, type TrainOptions } from './experiments/train.ts';
export { runStudy, runStudyParallel, summariseStudyDir, type ParallelStudyOptions, type RunFinal, type StudyOptions, type StudyResult } from './experiments/study.ts';
export { stats, summariseTraces, stepsToThreshold, type Stats } from './experiments/summary.ts';
export { PRESETS, findPreset, type PresetInfo } from './experiments/presets/index.ts';
export { expandStudy, isCompactStudy, type CompactStudy } from './experiments/studyLanguage.ts';
export { buildReport, writeReport, reportKind, type ReportKind, type ReportOptions, type ReportPage, type ReportFigureInfo } from './report/html.ts';
export { encodeState, decodeState } from './io/codec.ts';


export { makeEstimator, type Estimator, type EstimatorInput, type EstimatorOutput, type Modality } from './estimators/index.ts';
export type { EstimatorSpec } from './estimators/spec.ts';
export { freeEmbeddings, linearEncoder, mlpEncoder, type Model, type ModelOutput } from './models/index.ts';
export { syntheticDataset, augment, twoViews, evalViews, type SyntheticSpec, type SyntheticDataset, type AugmentSpec } from './data/synthetic.ts';
export { augmentView, type Dataset, type ViewAugmentSpec } from './data/dataset.ts';
export { imageAugment, DEFAULT_IMAGE_AUGMENT, type ImageAugmentSpec } from './data/image.ts';
export { mnistDataset, loadMnist, type MnistSpec, type MnistDataset } from './data/mnist.ts';
export { npyDataset, type NpyDataSpec, type NpyDataset } from './data/npyData.ts';
export { knnAccuracy, linearProbeAccuracy, twoViewRecallAt1, downstreamMetrics } from './analysis/downstream.ts';
export { nesterov, isVectorShaped } from './optim/transforms.ts';
export { regularPolygon, gramMatrix, lossAlongRotation, minimiserEndPoints, type LabelledObjective, type RotationSliceOptions, type RotationSliceRow, type EndPointOptions, type EndPoint } from './analysis/choFigure1.ts';
// Types cost nothing at run time: the spec type is here; the builders and renderer are in contrastlab/plot.
export type { VegaLiteSpec } from './plot/spec.ts';
export { sweepRows, biasCurveRows, BIAS_ESTIMATOR_LABELS, type SweepRow, type SweepOptions, type BiasCurveRow } from './analysis/curves.ts';
export { estimatorBias, estimatorBiasAt, fitPowerLaw, type BiasOptions, type BiasAtOptions, type BiasAtRow, type BiasExact, type BiasReport, type BiasRow, type BiasEstimate, type PowerLawFit } from './analysis/bias.ts';
export { diagnose, type DiagnoseOptions, type Diagnosis, type ObjectiveDiagnosis, type BatchSizeDiagnosis, type BiasDiagnosis, type Histogram, type Moments } from './analysis/diagnose.ts';
export { gradcheck, mistakeGradient, emulateShardedStep, fitScale, gradcheckTolerance, GRADCHECK_OBJECTIVES, type GradcheckOptions, type GradcheckReport, type GradcheckVerdict, type GradcheckObjective, type CandidateResult, type CandidateGradientName, type MistakeName, type EmulatorFlags, type EmulatedStep } from './analysis/gradcheck.ts';
