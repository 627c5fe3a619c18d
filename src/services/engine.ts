// The one module of the services layer that calls the TensorFlow.js engine (src/ml). It adapts
// the engine's API to what the job handlers need and turns engine errors about input into
// BAD_USER_INPUT.
import {
  acceptanceFilter,
  batchTopK,
  ConfigError,
  evaluate,
  initBackend,
  loadRater,
  MetaTrainer,
  MlError,
  Prng,
  quantileFilter,
  stepsToReach,
  thresholdFilter,
  validateConfig,
  type BackendInfo,
  type BackendName,
  type DataRaterConfig,
  type EvaluationResult,
  type Example,
  type RaterArchitecture,
  type StepReport,
} from '../ml/index.js';
import { packCheckpoint, unpackCheckpoint } from '../ml/meta/checkpoint.js';
import { sizeOf } from '../ml/models/params.js';
import { RATER_ARCHITECTURE_FIELDS, raterParamSpecs } from '../ml/models/rater.js';
import { requireArray, unpackContainer } from '../ml/serialize.js';
import { badInput } from './errors.js';

export type EngineConfig = DataRaterConfig;

export type CurationStrategy =
  'BATCH_TOP_K' | 'GLOBAL_QUANTILE' | 'THRESHOLD' | 'ACCEPTANCE_PROBABILITY';

/** One outer step of meta-training, as stored in the training curve. */
export interface TrainingPoint {
  step: number;
  outerLoss: number;
  metaGradNorm: number;
  ess: number;
  scoreAutocorrelation: number | null;
  skipped: boolean;
}

export interface TextSet {
  texts: string[];
  /** Class index per text for classification, else null. */
  labels: number[] | null;
}

export interface TrainingData {
  train: TextSet;
  heldout: TextSet;
}

/** Starts the TensorFlow.js backend of this process. */
export function initEngineBackend(name: BackendName): Promise<BackendInfo> {
  return initBackend(name);
}

/** Complete engine config from overrides; BAD_USER_INPUT names an invalid field and its value. */
export function validateEngineConfig(partial: Record<string, unknown>): EngineConfig {
  try {
    return validateConfig(partial as Partial<DataRaterConfig>);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw badInput(`${error.message}.`, { field: error.field, value: error.value ?? null });
    }
    throw error;
  }
}

/** Engine errors about the data, config or weights, which a retry cannot fix. */
export function isPermanentEngineError(error: unknown): boolean {
  if (!(error instanceof MlError)) return false;
  return error.code !== 'WORKER_FAILED' && error.code !== 'BACKEND_UNAVAILABLE';
}

/** A meta-trainer as the training job drives it. */
export interface EngineTrainer {
  /** Outer steps completed. */
  readonly step: number;
  /** Runs one outer step; returns its curve point, or null when its losses were not finite. */
  runStep(): Promise<{ point: TrainingPoint | null; report: StepReport }>;
  /** Full trainer state, for restoreTrainer. */
  checkpoint(): Uint8Array;
  /** Serialized rater weights, for loadRaterWeights. */
  exportRater(): Uint8Array;
  dispose(): Promise<void>;
}

/**
 * Starts a meta-trainer from `config`. With `warmStart` (the weights of a READY rater version of
 * the same architecture) the rater starts from those weights instead of a random initialization.
 */
export async function createTrainer(
  config: EngineConfig,
  data: TrainingData,
  warmStart: Uint8Array | null,
): Promise<EngineTrainer> {
  const examples = toMetaTrainingData(data);
  const trainer = await MetaTrainer.create(config, examples);
  if (!warmStart) return wrapTrainer(trainer);

  const state = withRaterWeights(trainer.checkpoint(), warmStart);
  await trainer.dispose();
  return wrapTrainer(await MetaTrainer.restore(state, examples));
}

/** Continues a run from a checkpoint, computing on `backend` (this worker's backend). */
export async function restoreTrainer(
  state: Uint8Array,
  data: TrainingData,
  backend: BackendName,
): Promise<EngineTrainer> {
  return wrapTrainer(await MetaTrainer.restore(state, toMetaTrainingData(data), { backend }));
}

function wrapTrainer(trainer: MetaTrainer): EngineTrainer {
  return {
    get step() {
      return trainer.completedSteps;
    },
    async runStep() {
      const report = await trainer.step();
      return { point: toTrainingPoint(report), report };
    },
    checkpoint: () => trainer.checkpoint(),
    exportRater: () => trainer.exportRater(),
    dispose: () => trainer.dispose(),
  };
}

/**
 * Converts a step report to its curve point. The API's curve has non-null losses, so a step whose outer loss or
 * meta-gradient norm was not finite (the engine skipped its update) yields no point.
 */
function toTrainingPoint(report: StepReport): TrainingPoint | null {
  if (report.outerLoss === null || report.metaGradNorm === null) return null;
  return {
    step: report.step,
    outerLoss: report.outerLoss,
    metaGradNorm: report.metaGradNorm,
    ess: report.ess,
    scoreAutocorrelation: report.scoreAutocorrelation,
    skipped: report.skipped,
  };
}

function toMetaTrainingData(data: TrainingData): { train: Example[]; heldout: Example[] } {
  const examples = (set: TextSet): Example[] =>
    set.labels ? set.texts.map((text, i) => ({ text, label: set.labels![i]! })) : set.texts.slice();
  return { train: examples(data.train), heldout: examples(data.heldout) };
}

/**
 * Replaces the rater weights in a step-0 checkpoint with those of an exported rater.
 *
 * NOTE: MetaTrainer has no warm-start option, so this edits its checkpoint through the engine's
 * own serialization modules. The probe scores are cleared, so the first score autocorrelation is
 * measured between two probe evaluations of the warm-started rater.
 */
function withRaterWeights(checkpoint: Uint8Array, raterBytes: Uint8Array): Uint8Array {
  const state = unpackCheckpoint(checkpoint);
  const container = unpackContainer(raterBytes, 'datarater-rater');
  const rater = raterParamSpecs(state.config).map((spec) =>
    requireArray(container, spec.name, sizeOf(spec.shape)),
  );
  return packCheckpoint({ ...state, rater, probeScores: null, autocorrelation: null });
}

export interface EngineRater {
  /** Scores texts in batches of `batchSize`; one finite score per text. */
  score(texts: string[], batchSize: number): Promise<Float32Array>;
  dispose(): void;
}

/** Loads exported rater weights on the active backend. */
export async function loadRaterWeights(weights: Uint8Array): Promise<EngineRater> {
  const rater = await loadRater(weights);
  return {
    score: (texts, batchSize) => rater.score(texts, { batchSize }),
    dispose: () => rater.dispose(),
  };
}

export interface FilterParameters {
  discardFraction: number | null;
  batchSize: number | null;
  threshold: number | null;
  seed: number;
}

/** Indices (ascending) of the scores a strategy keeps, by the engine's filter functions. */
export function selectKept(
  strategy: CurationStrategy,
  scores: Float32Array,
  parameters: FilterParameters,
): Int32Array {
  const { discardFraction, batchSize, threshold, seed } = parameters;
  switch (strategy) {
    case 'BATCH_TOP_K':
      return batchTopK(scores, { discardFraction: discardFraction!, batchSize: batchSize!, seed });
    case 'GLOBAL_QUANTILE':
      return quantileFilter(scores, { discardFraction: discardFraction! });
    case 'THRESHOLD':
      return thresholdFilter(scores, { threshold: threshold! });
    case 'ACCEPTANCE_PROBABILITY':
      return acceptanceFilter(scores, {
        discardFraction: discardFraction!,
        batchSize: batchSize!,
        seed,
      });
    default: {
      const unknown: never = strategy;
      throw new Error(`selectKept: unknown strategy ${String(unknown)}`);
    }
  }
}

/** `count` texts drawn without replacement with `seed`, in their original order. */
export function seededSubset(texts: readonly string[], count: number, seed: number): string[] {
  const indices = new Prng(seed).sampleWithoutReplacement(texts.length, count);
  return Array.from(indices)
    .sort((a, b) => a - b)
    .map((index) => texts[index]!);
}

export interface ComparisonInput {
  config: EngineConfig;
  budget: { steps: number; batchSize: number; evalEvery: number; seed: number };
  runs: { baseline: string[]; curated: string[]; randomDrop: string[] };
  heldout: string[];
  /** Examples the rater scored to produce the curation, for the net compute gain. */
  scoredExamples: number;
  onProgress(fraction: number, message: string): void;
}

export interface ComparisonResult {
  /** Compute gain of the curated run over the baseline; null when it never reached it. */
  computeGain: number | null;
  netComputeGain: number | null;
  /** Compute gain of the curated run over a random drop of the same size. */
  computeGainVsRandomDrop: number | null;
  /** Compute gain of the random drop over the baseline (the control). */
  randomDropGain: number | null;
  curves: {
    baseline: { steps: number[]; heldoutLoss: number[] };
    curated: { steps: number[]; heldoutLoss: number[] };
    randomDrop: { steps: number[]; heldoutLoss: number[] };
  };
  finalLoss: { baseline: number; curated: number; randomDrop: number };
  curated: Omit<EvaluationResult, 'baseline' | 'filtered'>;
}

/**
 * Trains fresh inner models with the same budget and seed on the baseline, the curated subset
 * and a random drop of the curated subset's size, and measures the compute gains. The baseline
 * run is trained twice (the engine compares two runs per call); with one seed it is identical.
 */
export async function compareTraining(input: ComparisonInput): Promise<ComparisonResult> {
  const { config, budget, runs, heldout } = input;
  const rater = Object.fromEntries(
    RATER_ARCHITECTURE_FIELDS.map((field) => [field, config[field]]),
  ) as unknown as RaterArchitecture;
  const evaluations = budget.steps / budget.evalEvery + 1;
  let done = 0;
  const common = {
    config,
    heldout,
    steps: budget.steps,
    batchSize: budget.batchSize,
    evalInterval: budget.evalEvery,
    seed: budget.seed,
    onProgress: (event: { run: string; step: number; heldoutLoss: number }) => {
      done += 1;
      input.onProgress(
        Math.min(1, done / (4 * evaluations)),
        `Evaluation: ${event.run} run at step ${event.step}, held-out loss ${event.heldoutLoss.toFixed(4)}.`,
      );
    },
  };

  const curated = await evaluate({
    ...common,
    baseline: runs.baseline,
    filtered: runs.curated,
    rater,
    scoredExamples: input.scoredExamples,
  });
  const control = await evaluate({ ...common, baseline: runs.baseline, filtered: runs.randomDrop });

  const randomDropFinal = control.filteredFinalLoss;
  const stepsToRandom = stepsToReach(curated.filtered, randomDropFinal);
  const { baseline: baselineCurve, filtered: curatedCurve, ...summary } = curated;
  return {
    computeGain: curated.gain,
    netComputeGain: curated.netGain,
    computeGainVsRandomDrop: stepsToRandom === null ? null : 1 - stepsToRandom / budget.steps,
    randomDropGain: control.gain,
    curves: { baseline: baselineCurve, curated: curatedCurve, randomDrop: control.filtered },
    finalLoss: {
      baseline: curated.baselineFinalLoss,
      curated: curated.filteredFinalLoss,
      randomDrop: randomDropFinal,
    },
    curated: summary,
  };
}
