// The one module of the services layer that calls the TensorFlow.js engine (src/ml). It adapts
// the engine's API to what the job handlers need and turns engine errors about input into
// BAD_USER_INPUT.
import { initBackend, type BackendInfo, type BackendName } from '../ml/backend.js';
import { validateConfig, type DataRaterConfig } from '../ml/config.js';
import { ConfigError, MlError } from '../ml/errors.js';
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
  runStep(): Promise<TrainingPoint>;
  /** Full trainer state, for restoreTrainer. */
  checkpoint(): Uint8Array;
  /** Serialized rater weights, for loadRaterWeights. */
  exportRater(): Uint8Array;
  dispose(): void;
}

export async function createTrainer(
  _config: EngineConfig,
  _data: TrainingData,
  _warmStart: Uint8Array | null,
): Promise<EngineTrainer> {
  throw new Error('TODO: the engine MetaTrainer is not wired in yet');
}

export async function restoreTrainer(
  _state: Uint8Array,
  _data: TrainingData,
): Promise<EngineTrainer> {
  throw new Error('TODO: the engine MetaTrainer is not wired in yet');
}

export interface EngineRater {
  /** Scores texts in batches of `batchSize`; one finite score per text. */
  score(texts: string[], batchSize: number): Promise<Float32Array>;
  dispose(): void;
}

export async function loadRaterWeights(_weights: Uint8Array): Promise<EngineRater> {
  throw new Error('TODO: the engine rater is not wired in yet');
}

export interface FilterParameters {
  discardFraction: number | null;
  batchSize: number | null;
  threshold: number | null;
  seed: number;
}

/** Indices (ascending) of the scores a strategy keeps. */
export function selectKept(
  _strategy: CurationStrategy,
  _scores: Float32Array,
  _parameters: FilterParameters,
): Uint32Array {
  throw new Error('TODO: the engine filters are not wired in yet');
}

/** `count` texts drawn without replacement with `seed`, in their original order. */
export function seededSubset(_texts: string[], _count: number, _seed: number): string[] {
  throw new Error('TODO: the engine PRNG is not wired in yet');
}

export interface ComparisonInput {
  config: EngineConfig;
  budget: { steps: number; batchSize: number; evalEvery: number; seed: number };
  runs: { baseline: string[]; curated: string[]; randomDrop: string[] };
  heldout: string[];
  /** Examples the rater scored to produce the curation, for the net compute gain. */
  scoredExamples: number;
  signal: AbortSignal;
  onProgress(fraction: number, message: string): void;
}

export interface ComparisonResult {
  computeGain: number | null;
  [key: string]: unknown;
}

export async function compareTraining(_input: ComparisonInput): Promise<ComparisonResult> {
  throw new Error('TODO: the engine evaluate is not wired in yet');
}
