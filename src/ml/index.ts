/**
 * DataRater engine: meta-learns a rater with exact meta-gradients in TensorFlow.js. Pure library:
 * texts and numbers in, numbers and bytes out; no database, no GraphQL.
 *
 * Typical use by a job runner:
 *
 *   await initBackend('wasm');                       // or 'cpu', or 'tensorflow' with tfjs-node(-gpu)
 *   await selfCheck();                               // rejects a broken backend, naming the stage
 *   const trainer = await MetaTrainer.create(config, { train, heldout }, { onStep });
 *   const report = await trainer.step();             // one outer step: outerLoss, metaGradNorm, ess, ...
 *   const bytes = trainer.checkpoint();              // Uint8Array, the full state
 *   const again = await MetaTrainer.restore(bytes, { train, heldout }); // continues bit-identically
 *   const raterBytes = trainer.exportRater();        // Uint8Array: weights + architecture + config
 *   await trainer.dispose();                         // stops worker threads
 *   const rater = await loadRater(raterBytes);
 *   const scores = await rater.score(texts, { batchSize: 64 }); // Float32Array aligned with texts
 *   const kept = batchTopK(scores, { discardFraction: 0.25, batchSize: 64, seed: 1 });
 *   const result = await evaluate({ config, baseline, filtered, heldout, steps, batchSize, evalInterval });
 *
 * Guarantees:
 * - Seeded: the same config, data and seed give bit-identical runs on the same backend, with or
 *   without worker threads, and across checkpoint/restore.
 * - No NaN leaves the engine silently: non-finite meta-gradients skip the step (reported in
 *   `StepReport.skipped`), non-finite scores throw `NonFiniteScoreError`.
 * - Errors the engine raises on purpose are `MlError`s with a stable `code`.
 * - Tensor memory is released: repeated steps and scoring calls leave `tf.memory().numTensors`
 *   unchanged.
 */
export {
  activeBackend,
  ensureBackend,
  initBackend,
  resolveBackend,
  TENSORFLOW_PACKAGES,
  type BackendInfo,
  type BackendName,
} from './backend.js';
export { selfCheck, type SelfCheckReport, type SelfCheckStage } from './self-check.js';
export {
  DEFAULT_CONFIG,
  validateConfig,
  type DataRaterConfig,
  type InnerOptimizerName,
  type InnerTaskName,
} from './config.js';
export type { ActivationName } from './ops/activations.js';
export { ConfigError, MlError, NonFiniteScoreError, type MlErrorCode } from './errors.js';
export { MetaTrainer, type MetaTrainerOptions, type StepReport } from './trainer.js';
export type { Example, MetaTrainingData } from './meta/data.js';
export { loadRater, type Rater, type RaterMetadata, type ScoreOptions } from './scoring.js';
export type { RaterArchitecture } from './models/rater.js';
export {
  acceptanceFilter,
  acceptanceProbabilities,
  batchTopK,
  binomialCdf,
  quantileFilter,
  thresholdFilter,
  type AcceptanceOptions,
  type BatchTopKOptions,
} from './filters.js';
export {
  evaluate,
  stepsToReach,
  type EvaluationOptions,
  type EvaluationResult,
  type EvaluationRun,
  type LossCurve,
} from './evaluate.js';
export {
  innerForwardFlopsPerExample,
  innerTrainingFlopsPerExample,
  metaStepFlops,
  parameterCounts,
  raterFlopsPerExample,
} from './flops.js';
export { encodeText, featurize, PAD_ID, VOCAB_SIZE, type ByteBatch } from './featurize.js';
export { Prng, type PrngState } from './prng.js';
export { pearson, ranks, spearman } from './stats.js';
