/**
 * Evaluation of a curation: train fresh inner models from scratch on the unfiltered and on the
 * filtered training data with the same budget (steps × batch size), initialization and seed, and
 * compare their held-out loss curves.
 *
 * Compute gain = 1 - (steps the filtered run needs to reach the baseline's final held-out loss)
 * / (baseline steps). Net gain also charges the rater's inference FLOPs for every example it
 * scored, discarded ones included, converted to inner training steps through both models' FLOP
 * estimates. When the filtered run never reaches the baseline's final loss both gains are null
 * and `reached` is false: undefined, not zero.
 */
import { ensureBackend } from './backend.js';
import { validateConfig, type DataRaterConfig } from './config.js';
import { MlError } from './errors.js';
import { batchToTensors, disposeBatch, packBatch } from './featurize.js';
import { encodeData, type EncodedSplit, type Example } from './meta/data.js';
import { innerUpdate, type InnerTensors } from './meta/inner-optimizer.js';
import { disposeInner } from './meta/unroll.js';
import {
  innerExampleLosses,
  innerParamSpecs,
  innerTrainingFlopsPerExample,
} from './models/inner-task.js';
import { initParams, paramsToTensors } from './models/params.js';
import { raterFlopsPerExample, type RaterArchitecture } from './models/rater.js';
import { Prng } from './prng.js';
import { tf } from './tf.js';

/** Name of one of the two training runs (in progress events). */
export type EvaluationRun = 'baseline' | 'filtered';

/** Input of {@link evaluate}. */
export interface EvaluationOptions {
  /** Inner model, optimiser, sequence length and seed (other fields are ignored). */
  config: Partial<DataRaterConfig>;
  /** Unfiltered training examples. */
  baseline: readonly Example[];
  /** Filtered training examples (usually a subset of `baseline`). */
  filtered: readonly Example[];
  /** Held-out examples the loss curves are measured on. */
  heldout: readonly Example[];
  /** Training steps of each run. */
  steps: number;
  /** Examples per training step. */
  batchSize: number;
  /** Steps between held-out evaluations (the curves also include step 0 and the last step). */
  evalInterval: number;
  /** Seed of initialization and batch sampling (default: `config.seed`). */
  seed?: number;
  /** Architecture of the rater that produced `filtered`, to charge its inference cost. */
  rater?: RaterArchitecture;
  /** Examples the rater scored to produce `filtered`, discarded ones included (default: baseline size). */
  scoredExamples?: number;
  /**
   * Held-out curve of the unfiltered run from an earlier call with the same config, seed,
   * baseline, heldout, steps, batchSize and evalInterval. When given, the baseline is not trained
   * again, so several filters can be compared with one baseline run. Its steps must match this
   * call's evaluation schedule.
   */
  baselineCurve?: LossCurve;
  /** Called after every held-out evaluation. */
  onProgress?: (event: { run: EvaluationRun; step: number; heldoutLoss: number }) => void;
}

/** Held-out loss at a series of training steps. */
export interface LossCurve {
  steps: number[];
  heldoutLoss: number[];
}

/** Output of {@link evaluate}. */
export interface EvaluationResult {
  baseline: LossCurve;
  filtered: LossCurve;
  /** Held-out loss of the baseline run after all steps. */
  baselineFinalLoss: number;
  /** Held-out loss of the filtered run after all steps. */
  filteredFinalLoss: number;
  /** True when the filtered run reached the baseline's final loss within the budget. */
  reached: boolean;
  /**
   * Steps the filtered run needed to reach the baseline's final loss (linear interpolation
   * between evaluations), or null when not reached.
   */
  stepsToBaseline: number | null;
  /** 1 - stepsToBaseline / steps, or null when not reached. */
  gain: number | null;
  /** Estimated rater FLOPs spent on scoring (0 without `rater`). */
  raterFlops: number;
  /** Estimated FLOPs of one inner training step at `batchSize`. */
  innerStepFlops: number;
  /** raterFlops expressed in inner training steps. */
  raterCostInSteps: number;
  /** 1 - (stepsToBaseline + raterCostInSteps) / steps, or null when not reached. */
  netGain: number | null;
}

/**
 * Trains the two runs and measures the gains; see the file comment. Throws `ConfigError` for a bad
 * config and `MlError` `INVALID_ARGUMENT` / `INVALID_DATA` for bad options or examples.
 */
export async function evaluate(options: EvaluationOptions): Promise<EvaluationResult> {
  const config = validateConfig({ ...options.config, workers: 1 });
  checkOptions(options);
  await ensureBackend(config.backend);
  const seed = options.seed ?? config.seed;

  const { train: baselineSplit, heldout } = encodeData(
    { ...config, innerBatchSize: 1, outerBatchSize: 1 },
    { train: options.baseline, heldout: options.heldout },
  );
  const { train: filteredSplit } = encodeData(
    { ...config, innerBatchSize: 1, outerBatchSize: 1 },
    { train: options.filtered, heldout: options.heldout },
  );

  const baseline =
    options.baselineCurve ??
    (await trainCurve(config, options, seed, baselineSplit, heldout, 'baseline'));
  const filtered = await trainCurve(config, options, seed, filteredSplit, heldout, 'filtered');

  const baselineFinalLoss = baseline.heldoutLoss.at(-1)!;
  const stepsToBaseline = stepsToReach(filtered, baselineFinalLoss);
  const innerStepFlops = innerTrainingFlopsPerExample(config) * options.batchSize;
  const scored = options.scoredExamples ?? options.baseline.length;
  const raterFlops = options.rater === undefined ? 0 : raterFlopsPerExample(options.rater) * scored;
  const raterCostInSteps = raterFlops / innerStepFlops;
  return {
    baseline,
    filtered,
    baselineFinalLoss,
    filteredFinalLoss: filtered.heldoutLoss.at(-1)!,
    reached: stepsToBaseline !== null,
    stepsToBaseline,
    gain: stepsToBaseline === null ? null : 1 - stepsToBaseline / options.steps,
    raterFlops,
    innerStepFlops,
    raterCostInSteps,
    netGain:
      stepsToBaseline === null ? null : 1 - (stepsToBaseline + raterCostInSteps) / options.steps,
  };
}

/**
 * Returns the first step at which `curve` is at or below `target`, interpolating linearly between
 * the evaluation before and the one that crossed; null when it never does.
 */
export function stepsToReach(curve: LossCurve, target: number): number | null {
  for (let i = 0; i < curve.steps.length; i++) {
    const loss = curve.heldoutLoss[i]!;
    if (loss > target) {
      continue;
    }
    if (i === 0) {
      return curve.steps[0]!;
    }
    const previousLoss = curve.heldoutLoss[i - 1]!;
    const previousStep = curve.steps[i - 1]!;
    const fraction = (previousLoss - target) / (previousLoss - loss);
    return previousStep + fraction * (curve.steps[i]! - previousStep);
  }
  return null;
}

async function trainCurve(
  config: DataRaterConfig,
  options: EvaluationOptions,
  seed: number,
  train: EncodedSplit,
  heldout: EncodedSplit,
  run: EvaluationRun,
): Promise<LossCurve> {
  // Both runs start from the same initial parameters and the same sampling stream.
  const initPrng = new Prng(seed);
  const samplePrng = new Prng(seed + 1);
  const specs = innerParamSpecs(config);
  let state: InnerTensors = {
    params: paramsToTensors(specs, initParams(specs, initPrng)),
    m: null,
    v: null,
    step: 0,
  };
  const curve: LossCurve = { steps: [], heldoutLoss: [] };
  const record = (step: number): void => {
    const heldoutLoss = heldoutMeanLoss(config, state, heldout, options.batchSize);
    curve.steps.push(step);
    curve.heldoutLoss.push(heldoutLoss);
    options.onProgress?.({ run, step, heldoutLoss });
  };

  try {
    record(0);
    for (let step = 1; step <= options.steps; step++) {
      const indices = samplePrng.sampleWithoutReplacement(train.bytes.length, options.batchSize);
      const next = trainingStep(
        config,
        state,
        packBatch(train.bytes, indices, config.sequenceLength, train.labels),
      );
      disposeInner(state);
      state = next;
      if (step % options.evalInterval === 0 || step === options.steps) {
        record(step);
        // Yield so a server stays responsive during long evaluations.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    disposeInner(state);
  }
  return curve;
}

/** One plain (unweighted, first-order) training step; returns new tensors owned by the caller. */
function trainingStep(
  config: DataRaterConfig,
  state: InnerTensors,
  batch: ReturnType<typeof packBatch>,
): InnerTensors {
  const tensors = batchToTensors(batch);
  try {
    const flat = tf.tidy(() => {
      const grads = tf.grads((...params: tf.Tensor[]) =>
        tf.mean(innerExampleLosses(config, params, tensors)),
      )(state.params);
      const next = innerUpdate(config, state, grads);
      return [...next.params, ...(next.m ?? []), ...(next.v ?? [])];
    });
    const count = state.params.length;
    const adam = flat.length > count;
    return {
      params: flat.slice(0, count),
      m: adam ? flat.slice(count, 2 * count) : null,
      v: adam ? flat.slice(2 * count) : null,
      step: state.step + 1,
    };
  } finally {
    disposeBatch(tensors);
  }
}

function heldoutMeanLoss(
  config: DataRaterConfig,
  state: InnerTensors,
  heldout: EncodedSplit,
  batchSize: number,
): number {
  let total = 0;
  for (let start = 0; start < heldout.bytes.length; start += batchSize) {
    const end = Math.min(start + batchSize, heldout.bytes.length);
    const indices = Array.from({ length: end - start }, (_, i) => start + i);
    const tensors = batchToTensors(
      packBatch(heldout.bytes, indices, config.sequenceLength, heldout.labels),
    );
    const sum = tf.tidy(() => tf.sum(innerExampleLosses(config, state.params, tensors)));
    total += sum.dataSync()[0]!;
    sum.dispose();
    disposeBatch(tensors);
  }
  return total / heldout.bytes.length;
}

function checkOptions(options: EvaluationOptions): void {
  const positiveInteger = (name: string, value: unknown): void => {
    if (!Number.isInteger(value) || (value as number) < 1) {
      throw new MlError(
        'INVALID_ARGUMENT',
        `evaluate: ${name} must be a positive integer, got ${String(value)}`,
      );
    }
  };
  positiveInteger('steps', options.steps);
  positiveInteger('batchSize', options.batchSize);
  positiveInteger('evalInterval', options.evalInterval);
  for (const split of ['baseline', 'filtered', 'heldout'] as const) {
    if (!Array.isArray(options[split]) || options[split].length === 0) {
      throw new MlError('INVALID_DATA', `evaluate: ${split} must be a non-empty array of examples`);
    }
  }
  for (const split of ['baseline', 'filtered'] as const) {
    if (options[split].length < options.batchSize) {
      throw new MlError(
        'INVALID_DATA',
        `evaluate: ${split} has ${options[split].length} examples, fewer than batchSize ${options.batchSize}; ` +
          'lower batchSize so both runs spend the same budget',
      );
    }
  }
  if (options.baselineCurve !== undefined) {
    checkBaselineCurve(options.baselineCurve, options.steps, options.evalInterval);
  }
  if (
    options.scoredExamples !== undefined &&
    !(Number.isInteger(options.scoredExamples) && options.scoredExamples >= 0)
  ) {
    throw new MlError(
      'INVALID_ARGUMENT',
      `evaluate: scoredExamples must be a non-negative integer, got ${String(options.scoredExamples)}`,
    );
  }
}

/** Checks that `curve` was measured on the schedule 0, evalInterval, 2·evalInterval, …, steps. */
function checkBaselineCurve(curve: LossCurve, steps: number, evalInterval: number): void {
  const expected = [0];
  for (let step = evalInterval; step < steps; step += evalInterval) {
    expected.push(step);
  }
  expected.push(steps);
  const matches =
    Array.isArray(curve?.steps) &&
    Array.isArray(curve.heldoutLoss) &&
    curve.heldoutLoss.length === expected.length &&
    curve.steps.length === expected.length &&
    curve.steps.every((step, i) => step === expected[i]) &&
    curve.heldoutLoss.every((loss) => Number.isFinite(loss));
  if (!matches) {
    throw new MlError(
      'INVALID_ARGUMENT',
      `evaluate: baselineCurve must hold finite losses at steps ${expected.join(', ')} ` +
        `(steps ${steps}, evalInterval ${evalInterval}), got steps ${String(curve?.steps)}; ` +
        'pass the baseline curve of a call with the same steps and evalInterval',
    );
  }
}
