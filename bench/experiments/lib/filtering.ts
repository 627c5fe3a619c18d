// Filtering by rater scores against a random-drop control. Fresh inner models are trained with the
// engine's `evaluate` on unfiltered data, on the rater's batch top-K selection and on a random
// subset of the same size, all at the same budget (steps × batch size).
import {
  batchTopK,
  evaluate,
  Prng,
  type DataRaterConfig,
  type EvaluationOptions,
  type EvaluationResult,
  type LossCurve,
  type RaterArchitecture,
} from '../../../src/ml/index.js';
import { runLaneInWorker } from './evaluate-pool.js';
import { progress } from './report.js';

/** Settings of the fresh training runs. */
export interface FilteringOptions {
  /** Inner model, optimiser and sequence length (the rater's training config). */
  config: Partial<DataRaterConfig>;
  /** Unfiltered training examples. */
  train: readonly string[];
  /** Rater scores of `train`, aligned with it. */
  scores: ArrayLike<number>;
  /** Held-out examples the loss curves are measured on. */
  heldout: readonly string[];
  /** Discard fractions ρ to try, each in (0, 1). */
  discardFractions: readonly number[];
  steps: number;
  batchSize: number;
  evalInterval: number;
  seed: number;
  /** Architecture of the rater, to charge its inference cost in the net gain. */
  rater: RaterArchitecture;
}

/** One filtered run compared with the unfiltered baseline. */
export interface FilterRow {
  discardFraction: number;
  filter: 'rater' | 'random';
  keptExamples: number;
  /** Held-out loss after the full budget. */
  finalLoss: number;
  /** Steps needed to reach the baseline's final held-out loss, or null when not reached. */
  stepsToBaseline: number | null;
  /** Compute gain, or null ("not reached"). */
  gain: number | null;
  /** Net compute gain (rater inference charged), or null ("not reached"). */
  netGain: number | null;
  curve: LossCurve;
}

export interface FilteringResult {
  baseline: LossCurve;
  baselineFinalLoss: number;
  /** True when every thread trained the same baseline curve, bit for bit. */
  baselinesIdentical: boolean;
  /** Rater inference cost of scoring the whole training pool, in inner training steps. */
  raterCostInSteps: number;
  rows: FilterRow[];
  seconds: number;
}

/** One filtered training run to make: which filter, at which discard fraction, keeping which examples. */
export interface EvaluationJob {
  discardFraction: number;
  filter: FilterRow['filter'];
  indices: Int32Array;
}

/** The options of `evaluate` that every run of one comparison shares. */
export type SharedEvaluation = Omit<EvaluationOptions, 'filtered' | 'baselineCurve' | 'onProgress'>;

/**
 * Compares the rater's batch top-K selection with a random subset of the same size at every
 * discard fraction. Batch top-K draws batches of B = round(batchSize / (1 − ρ)) examples and keeps
 * the best round(B · (1 − ρ)) ≈ batchSize of each, as in the DataRater paper (Calian et al., arXiv
 * 2505.17895). Net gain charges the rater for scoring the whole training pool once.
 *
 * With `threads` > 1 the runs are split over worker threads (with two, the rater runs go to one and
 * the random drops to the other). Each thread trains the baseline once, and `baselinesIdentical`
 * reports whether those baselines match bit for bit.
 */
export async function compareFilters(
  options: FilteringOptions,
  threads: number,
): Promise<FilteringResult> {
  const started = performance.now();
  const shared: SharedEvaluation = {
    config: options.config,
    baseline: options.train,
    heldout: options.heldout,
    steps: options.steps,
    batchSize: options.batchSize,
    evalInterval: options.evalInterval,
    seed: options.seed,
    rater: options.rater,
    scoredExamples: options.train.length,
  };

  const jobs: EvaluationJob[] = [];
  for (const discardFraction of options.discardFractions) {
    const kept = batchTopK(options.scores, {
      discardFraction,
      batchSize: Math.round(options.batchSize / (1 - discardFraction)),
      seed: options.seed,
    });
    const random = new Prng(options.seed + 7919)
      .sampleWithoutReplacement(options.train.length, kept.length)
      .sort();
    jobs.push({ discardFraction, filter: 'rater', indices: kept });
    jobs.push({ discardFraction, filter: 'random', indices: random });
  }

  const laneCount = Math.max(1, Math.min(threads, jobs.length));
  const lanes = Array.from({ length: laneCount }, (_, lane) =>
    jobs.filter((_job, j) => j % laneCount === lane),
  );
  const results =
    laneCount === 1
      ? [await runLane(shared, lanes[0]!, progress)]
      : await Promise.all(lanes.map((lane) => runLaneInWorker(shared, lane)));

  // Job j is job floor(j / laneCount) of lane j mod laneCount.
  const rows = jobs.map((job, j) => {
    const result = results[j % laneCount]![Math.floor(j / laneCount)]!;
    return toRow(job.discardFraction, job.filter, job.indices.length, result);
  });
  const baselines = results.map((lane) => lane[0]!.baseline);
  return {
    baseline: baselines[0]!,
    baselineFinalLoss: baselines[0]!.heldoutLoss.at(-1)!,
    baselinesIdentical: baselines.every(
      (curve) => JSON.stringify(curve) === JSON.stringify(baselines[0]),
    ),
    raterCostInSteps: results[0]![0]!.raterCostInSteps,
    rows,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Runs `jobs` one after another in this thread: the first trains the baseline, the others reuse
 * its curve. Returns one result per job, in order.
 */
export async function runLane(
  shared: SharedEvaluation,
  jobs: readonly EvaluationJob[],
  log: (message: string) => void,
): Promise<EvaluationResult[]> {
  let baselineCurve: LossCurve | undefined;
  const results: EvaluationResult[] = [];
  for (const job of jobs) {
    const result = await evaluate({
      ...shared,
      filtered: Array.from(job.indices, (index) => shared.baseline[index]!),
      baselineCurve,
    });
    baselineCurve = result.baseline;
    results.push(result);
    const row = toRow(job.discardFraction, job.filter, job.indices.length, result);
    log(`  ${describeRow(row)} (baseline ${result.baselineFinalLoss.toFixed(4)})`);
  }
  return results;
}

function toRow(
  discardFraction: number,
  filter: FilterRow['filter'],
  keptExamples: number,
  result: EvaluationResult,
): FilterRow {
  const random = filter === 'random';
  return {
    discardFraction,
    filter,
    keptExamples,
    finalLoss: result.filteredFinalLoss,
    stepsToBaseline: result.stepsToBaseline,
    gain: result.gain,
    // A random drop needs no rater, so it is charged nothing.
    netGain: random ? result.gain : result.netGain,
    curve: result.filtered,
  };
}

/** Describes a row in one line: discard fraction, filter, final loss and gains. */
export function describeRow(row: FilterRow): string {
  const gain = row.gain === null ? 'not reached' : `${(100 * row.gain).toFixed(1)}%`;
  const net = row.netGain === null ? 'not reached' : `${(100 * row.netGain).toFixed(1)}%`;
  return (
    `discard ${(100 * row.discardFraction).toFixed(0)}% ${row.filter.padEnd(6)}: ` +
    `kept ${row.keptExamples}, held-out loss ${row.finalLoss.toFixed(4)}, gain ${gain}, net ${net}`
  );
}
