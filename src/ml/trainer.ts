/**
 * Meta-training of a DataRater: a population of inner models, a truncated differentiable unroll,
 * per-model Adam on the rater with global-norm clipping, averaged updates and staggered resets.
 *
 * One outer step:
 *   1. reset the inner models whose turn it is (model i every resetPeriod steps, offset by
 *      i·resetPeriod/M, so the population spans early, middle and late training);
 *   2. draw T training batches and one held-out batch per model (seeded);
 *   3. per model (in parallel worker threads when configured): T weighted inner updates, the
 *      held-out loss after them and its meta-gradient;
 *   4. unless a meta-gradient is non-finite: clip each by global norm, take one Adam step per
 *      model from the shared η with that model's own Adam state, and set η to their mean;
 *   5. keep every model's updated parameters (reset those that became non-finite);
 *   6. every checkpointInterval steps, score the probe set and report the Spearman correlation
 *      with the previous probe scores.
 */
import { ensureBackend, type BackendInfo, type BackendName } from './backend.js';
import { validateConfig, type DataRaterConfig } from './config.js';
import { MlError } from './errors.js';
import { packBatch, type ByteBatch } from './featurize.js';
import {
  allFinite,
  adamStep,
  clipByGlobalNorm,
  createAdamState,
  globalNorm,
  meanOf,
} from './meta/adam.js';
import { unpackCheckpoint, packCheckpoint, type TrainerState } from './meta/checkpoint.js';
import {
  encodeData,
  fingerprintData,
  type EncodedSplit,
  type MetaTrainingData,
} from './meta/data.js';
import {
  runModelJob,
  type InnerState,
  type ModelJob,
  type ModelResult,
} from './meta/model-step.js';
import { PopulationPool } from './meta/pool.js';
import { innerParamSpecs } from './models/inner-task.js';
import { initParams } from './models/params.js';
import { raterParamSpecs } from './models/rater.js';
import { Prng } from './prng.js';
import { packRater, TensorRater, type Rater } from './scoring.js';
import { spearman } from './stats.js';

/** Statistics of one outer step, passed to `onStep` and returned by {@link MetaTrainer.step}. */
export interface StepReport {
  /** Outer steps completed, including this one. */
  step: number;
  /** Mean held-out loss over the population after the T-step unroll, or null if any was not finite. */
  outerLoss: number | null;
  /** Held-out loss of each model (null where not finite). */
  outerLosses: Array<number | null>;
  /** Mean global norm of the meta-gradients before clipping, or null if any was not finite. */
  metaGradNorm: number | null;
  /** Global norm of each model's meta-gradient before clipping (null where not finite). */
  metaGradNorms: Array<number | null>;
  /** Mean effective sample size 1/Σw² of the inner batches' weights (1 to innerBatchSize). */
  ess: number;
  /** Smallest effective sample size of any inner batch this step. */
  essMin: number;
  /** True when the rater was not updated because a meta-gradient or outer loss was not finite. */
  skipped: boolean;
  /** Reason the step was skipped, or null. */
  skipReason: string | null;
  /** Inner models re-initialized during this step (scheduled, or after non-finite values). */
  resets: number[];
  /** Spearman correlation of probe-set scores between the last two probe evaluations, or null. */
  scoreAutocorrelation: number | null;
  /** True when the probe set was scored at the end of this step. */
  probeEvaluated: boolean;
  /** Wall-clock time of the step in milliseconds. */
  durationMs: number;
}

/** Options of {@link MetaTrainer.create} and {@link MetaTrainer.restore}. */
export interface MetaTrainerOptions {
  /** Called after every outer step with its report. */
  onStep?: (report: StepReport) => void;
  /** Restore only: overrides the stored `workers` (does not change results). */
  workers?: number;
  /** Restore only: overrides the stored `backend` (results may then differ in the last bits). */
  backend?: BackendName;
}

/** Salt that separates the probe-set draw from the main random stream. */
const PROBE_SEED_SALT = 0x5eed;

/** Meta-trains a DataRater; see the file comment for the algorithm. */
export class MetaTrainer {
  /** The validated configuration. */
  readonly config: DataRaterConfig;
  /** The backend the run computes on. */
  readonly backend: BackendInfo;

  private state: TrainerState;
  private prng: Prng;
  private readonly train: EncodedSplit;
  private readonly heldout: EncodedSplit;
  private readonly probeIndices: Int32Array;
  private readonly pool: PopulationPool | null;
  private readonly onStep: ((report: StepReport) => void) | null;
  private disposed = false;

  private constructor(
    state: TrainerState,
    backend: BackendInfo,
    splits: { train: EncodedSplit; heldout: EncodedSplit },
    pool: PopulationPool | null,
    options: MetaTrainerOptions,
  ) {
    this.config = state.config;
    this.backend = backend;
    this.state = state;
    this.prng = new Prng(state.prngState);
    this.train = splits.train;
    this.heldout = splits.heldout;
    this.pool = pool;
    this.onStep = options.onStep ?? null;
    const probeCount = Math.min(this.config.probeSize, this.train.bytes.length);
    this.probeIndices = new Prng(this.config.seed + PROBE_SEED_SALT).sampleWithoutReplacement(
      this.train.bytes.length,
      probeCount,
    );
  }

  /**
   * Validates `config`, starts its backend and worker threads, and initializes the rater and the
   * population from `config.seed`. Throws `ConfigError` or `MlError` (`INVALID_DATA`,
   * `BACKEND_UNAVAILABLE`, `WORKER_FAILED`).
   */
  static async create(
    config: Partial<DataRaterConfig>,
    data: MetaTrainingData,
    options: MetaTrainerOptions = {},
  ): Promise<MetaTrainer> {
    const full = validateConfig(config);
    const splits = encodeData(full, data);
    const prng = new Prng(full.seed);
    const rater = initParams(raterParamSpecs(full), prng);
    const models = Array.from({ length: full.populationSize }, () => freshModel(full, prng));
    const state: TrainerState = {
      config: full,
      rater,
      metaStates: models.map(() => createAdamState(rater)),
      models,
      prngState: prng.state(),
      step: 0,
      probeScores: null,
      autocorrelation: null,
      dataFingerprint: fingerprintData(splits.train, splits.heldout),
    };
    const trainer = await MetaTrainer.start(state, splits, options);
    trainer.state.probeScores = trainer.scoreProbe();
    return trainer;
  }

  /**
   * Continues a run from {@link checkpoint} bytes; the following steps equal those the original
   * run would have taken. `data` must be the data the checkpoint was written with: a mismatch
   * throws `MlError` `INVALID_DATA`, malformed bytes `INVALID_CHECKPOINT`.
   */
  static async restore(
    bytes: Uint8Array,
    data: MetaTrainingData,
    options: MetaTrainerOptions = {},
  ): Promise<MetaTrainer> {
    const stored = unpackCheckpoint(bytes);
    const config = validateConfig({
      ...stored.config,
      workers: options.workers ?? stored.config.workers,
      backend: options.backend ?? stored.config.backend,
    });
    const splits = encodeData(config, data);
    const fingerprint = fingerprintData(splits.train, splits.heldout);
    if (fingerprint !== stored.dataFingerprint) {
      throw new MlError(
        'INVALID_DATA',
        `The checkpoint was written for different training data (fingerprint ${stored.dataFingerprint}, ` +
          `got ${fingerprint}); pass the same train and heldout examples in the same order`,
      );
    }
    return MetaTrainer.start({ ...stored, config }, splits, options);
  }

  private static async start(
    state: TrainerState,
    splits: { train: EncodedSplit; heldout: EncodedSplit },
    options: MetaTrainerOptions,
  ): Promise<MetaTrainer> {
    const backend = await ensureBackend(state.config.backend);
    const threads = Math.min(state.config.workers, state.config.populationSize);
    // NOTE: the tensorflow backend computes in the calling thread; one native TensorFlow per
    // worker thread would compete for the same GPU or cores.
    const pool =
      threads > 1 && backend.name !== 'tensorflow'
        ? await PopulationPool.start(state.config, backend.name, threads)
        : null;
    return new MetaTrainer(state, backend, splits, pool, options);
  }

  /** Outer steps completed so far. */
  get completedSteps(): number {
    return this.state.step;
  }

  /** Worker threads computing meta-gradients (0 when they run in the calling thread). */
  get workerThreads(): number {
    return this.pool?.size ?? 0;
  }

  /** Runs one outer step and returns its report (also passed to `onStep`). */
  async step(): Promise<StepReport> {
    this.assertUsable('step');
    const started = performance.now();
    const { config } = this;
    const resets = this.applyScheduledResets();

    const jobs: ModelJob[] = this.state.models.map((inner, modelIndex) => ({
      modelIndex,
      inner,
      train: Array.from({ length: config.unrollSteps }, () =>
        this.sample(this.train, config.innerBatchSize),
      ),
      heldout: this.sample(this.heldout, config.outerBatchSize),
    }));
    const results = await this.computeMetaGradients(jobs);

    const skipReason = this.updateRater(results);
    results.forEach((result, i) => {
      if (isFiniteState(result.inner)) {
        this.state.models[i] = result.inner;
      } else {
        this.state.models[i] = freshModel(config, this.prng);
        resets.push(i);
      }
    });
    this.state.step += 1;
    this.state.prngState = this.prng.state();

    const probeEvaluated = this.state.step % config.checkpointInterval === 0;
    if (probeEvaluated) {
      this.evaluateProbe();
    }
    const report = buildReport(
      this.state,
      results,
      skipReason,
      resets,
      probeEvaluated,
      performance.now() - started,
    );
    this.onStep?.(report);
    return report;
  }

  /**
   * Runs outer steps until `config.outerSteps` are complete (or `steps` more, when given), stopping
   * early when `signal` aborts. Returns the reports of the steps it ran.
   */
  async run(options: { steps?: number; signal?: AbortSignal } = {}): Promise<StepReport[]> {
    const target =
      options.steps === undefined ? this.config.outerSteps : this.state.step + options.steps;
    const reports: StepReport[] = [];
    while (this.state.step < target && options.signal?.aborted !== true) {
      reports.push(await this.step());
    }
    return reports;
  }

  /** Serializes the full state; {@link MetaTrainer.restore} continues from it bit-identically. */
  checkpoint(): Uint8Array {
    this.assertUsable('checkpoint');
    return packCheckpoint({ ...this.state, prngState: this.prng.state() });
  }

  /** Serializes the current rater (weights, architecture, training config) for {@link loadRater}. */
  exportRater(): Uint8Array {
    this.assertUsable('exportRater');
    return packRater(this.config, this.state.rater, {
      trainingConfig: this.config,
      step: this.state.step,
    });
  }

  /** Returns the current rater as a scorer; the caller disposes it. */
  currentRater(): Rater {
    this.assertUsable('currentRater');
    return new TensorRater(this.config, this.state.rater, {
      trainingConfig: this.config,
      step: this.state.step,
    });
  }

  /** Returns a copy of the rater parameters η (in rater parameter order). */
  raterParameters(): Float32Array[] {
    return this.state.rater.map((values) => Float32Array.from(values));
  }

  /** Stops the worker threads. The trainer cannot step afterwards. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.pool?.close();
  }

  private async computeMetaGradients(jobs: ModelJob[]): Promise<ModelResult[]> {
    if (this.pool !== null) {
      return this.pool.run(this.state.rater, jobs);
    }
    return jobs.map((job) => runModelJob(this.config, this.state.rater, job));
  }

  /** Applies the Adam steps and the average; returns why the update was skipped, or null. */
  private updateRater(results: readonly ModelResult[]): string | null {
    const bad = results.find(
      (result) => !allFinite(result.metaGradient) || !Number.isFinite(result.outerLoss),
    );
    if (bad !== undefined) {
      return (
        `model ${bad.modelIndex}: ` +
        (Number.isFinite(bad.outerLoss)
          ? 'the meta-gradient has non-finite values'
          : `the outer loss is ${bad.outerLoss}`)
      );
    }
    const settings = {
      learningRate: this.config.metaLearningRate,
      beta1: this.config.metaAdamBeta1,
      beta2: this.config.metaAdamBeta2,
      epsilon: this.config.metaAdamEpsilon,
    };
    const candidates = results.map((result, i) =>
      adamStep(
        this.state.rater,
        clipByGlobalNorm(result.metaGradient, this.config.clipNorm),
        this.state.metaStates[i]!,
        settings,
      ),
    );
    this.state.rater = meanOf(candidates);
    return null;
  }

  private applyScheduledResets(): number[] {
    const { resetPeriod, populationSize } = this.config;
    const step = this.state.step;
    const resets: number[] = [];
    if (resetPeriod === 0 || step === 0) {
      return resets;
    }
    for (let i = 0; i < populationSize; i++) {
      const offset = Math.round((i * resetPeriod) / populationSize);
      if (step >= offset && (step - offset) % resetPeriod === 0) {
        this.state.models[i] = freshModel(this.config, this.prng);
        resets.push(i);
      }
    }
    return resets;
  }

  private sample(split: EncodedSplit, size: number): ByteBatch {
    const indices = this.prng.sampleWithoutReplacement(split.bytes.length, size);
    return packBatch(split.bytes, indices, this.config.sequenceLength, split.labels);
  }

  private scoreProbe(): Float32Array {
    const rater = new TensorRater(this.config, this.state.rater, {
      trainingConfig: null,
      step: this.state.step,
    });
    try {
      const probe = Array.from(this.probeIndices, (index) => this.train.bytes[index]!);
      const scores = new Float32Array(probe.length);
      const batch = 64;
      for (let start = 0; start < probe.length; start += batch) {
        scores.set(rater.scoreEncoded(probe, start, Math.min(start + batch, probe.length)), start);
      }
      return scores;
    } finally {
      rater.dispose();
    }
  }

  private evaluateProbe(): void {
    const scores = this.scoreProbe();
    const previous = this.state.probeScores;
    if (previous !== null && previous.length === scores.length && scores.length >= 2) {
      const correlation = spearman(previous, scores);
      this.state.autocorrelation = Number.isFinite(correlation) ? correlation : null;
    }
    this.state.probeScores = scores;
  }

  private assertUsable(method: string): void {
    if (this.disposed) {
      throw new MlError('INVALID_ARGUMENT', `MetaTrainer.${method}: the trainer was disposed`);
    }
  }
}

function freshModel(config: DataRaterConfig, prng: Prng): InnerState {
  return { params: initParams(innerParamSpecs(config), prng), m: null, v: null, step: 0 };
}

function isFiniteState(state: InnerState): boolean {
  return (
    allFinite(state.params) &&
    (state.m === null || allFinite(state.m)) &&
    (state.v === null || allFinite(state.v))
  );
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function buildReport(
  state: TrainerState,
  results: readonly ModelResult[],
  skipReason: string | null,
  resets: number[],
  probeEvaluated: boolean,
  durationMs: number,
): StepReport {
  const outerLosses = results.map((result) => finiteOrNull(result.outerLoss));
  const metaGradNorms = results.map((result) => finiteOrNull(globalNorm(result.metaGradient)));
  const essValues = results.flatMap((result) => result.ess);
  return {
    step: state.step,
    outerLoss: meanOrNull(outerLosses),
    outerLosses,
    metaGradNorm: meanOrNull(metaGradNorms),
    metaGradNorms,
    ess: essValues.reduce((sum, value) => sum + value, 0) / essValues.length,
    essMin: Math.min(...essValues),
    skipped: skipReason !== null,
    skipReason,
    resets: [...new Set(resets)].sort((a, b) => a - b),
    scoreAutocorrelation: state.autocorrelation,
    probeEvaluated,
    durationMs,
  };
}

function meanOrNull(values: ReadonlyArray<number | null>): number | null {
  if (values.some((value) => value === null)) {
    return null;
  }
  return (values as number[]).reduce((sum, value) => sum + value, 0) / values.length;
}
