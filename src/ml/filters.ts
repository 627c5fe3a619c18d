/**
 * Filters that turn rater scores into a kept subset. Pure functions on score arrays; every one
 * returns the kept example indices in ascending order.
 *
 * - {@link batchTopK}: the DataRater paper's method. Shuffle, cut into batches of `batchSize`, keep
 *   the top round(batchSize · (1 - ρ)) of each batch by score. A rank cut inside each batch.
 * - {@link quantileFilter}: keep the global top (1 - ρ) fraction.
 * - {@link thresholdFilter}: keep scores at or above a threshold.
 * - {@link acceptanceProbabilities} / {@link acceptanceFilter}: the per-example equivalent of batch
 *   top-K for offline pipelines. An example whose score has quantile p is kept with probability
 *   P(at most K-1 of the other B-1 examples score higher) = BinomialCDF(K-1; B-1, 1-p).
 */
import { MlError } from './errors.js';
import { Prng } from './prng.js';
import { ranks } from './stats.js';

/** Options of {@link batchTopK}. */
export interface BatchTopKOptions {
  /** Fraction ρ of each batch to discard, in (0, 1). */
  discardFraction: number;
  /** Examples per drawn batch (B); each keeps K = round(B · (1 - ρ)). */
  batchSize: number;
  /** Seed of the shuffle that forms the batches. */
  seed: number;
}

/** Options of {@link acceptanceProbabilities} and {@link acceptanceFilter}. */
export interface AcceptanceOptions {
  /** Fraction ρ discarded by the batch top-K rule being imitated, in (0, 1). */
  discardFraction: number;
  /** Batch size B of that rule. */
  batchSize: number;
}

/**
 * Batch top-K selection. The last, partial batch of b examples keeps round(b · (1 - ρ)). Ties in
 * score go to the lower index. Throws `MlError` `INVALID_ARGUMENT` for ρ outside (0, 1), a batch
 * size below 1 or a non-finite score (naming its index).
 */
export function batchTopK(scores: ArrayLike<number>, options: BatchTopKOptions): Int32Array {
  checkScores('batchTopK', scores);
  checkDiscardFraction('batchTopK', options.discardFraction);
  checkBatchSize('batchTopK', options.batchSize);
  checkSeed('batchTopK', options.seed);

  const order = new Prng(options.seed).permutation(scores.length);
  const kept: number[] = [];
  for (let start = 0; start < order.length; start += options.batchSize) {
    const batch = Array.from(
      order.subarray(start, Math.min(start + options.batchSize, order.length)),
    );
    const keep = Math.round(batch.length * (1 - options.discardFraction));
    batch.sort((i, j) => scores[j]! - scores[i]! || i - j);
    kept.push(...batch.slice(0, keep));
  }
  return Int32Array.from(kept).sort();
}

/**
 * Keeps the round(n · (1 - ρ)) highest-scoring examples of the whole array (ties to the lower
 * index). Throws like {@link batchTopK}.
 */
export function quantileFilter(
  scores: ArrayLike<number>,
  options: { discardFraction: number },
): Int32Array {
  checkScores('quantileFilter', scores);
  checkDiscardFraction('quantileFilter', options.discardFraction);
  const keep = Math.round(scores.length * (1 - options.discardFraction));
  const order = Array.from({ length: scores.length }, (_, i) => i).sort(
    (i, j) => scores[j]! - scores[i]! || i - j,
  );
  return Int32Array.from(order.slice(0, keep)).sort();
}

/** Keeps every example whose score is at or above `threshold` (a finite number). */
export function thresholdFilter(
  scores: ArrayLike<number>,
  options: { threshold: number },
): Int32Array {
  checkScores('thresholdFilter', scores);
  if (typeof options.threshold !== 'number' || !Number.isFinite(options.threshold)) {
    throw invalidArgument(
      'thresholdFilter',
      'threshold',
      options.threshold,
      'must be a finite number',
    );
  }
  const kept: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (scores[i]! >= options.threshold) {
      kept.push(i);
    }
  }
  return Int32Array.from(kept);
}

/**
 * Per-example probability that batch top-K keeps the example:
 * BinomialCDF(K - 1; B - 1, 1 - p), with K = round(B · (1 - ρ)) and p the score's quantile,
 * (rank - 1) / (n - 1) with tied scores sharing their average rank (p = 1/2 when n = 1).
 * Averaged over the examples it is close to K / B.
 */
export function acceptanceProbabilities(
  scores: ArrayLike<number>,
  options: AcceptanceOptions,
): Float64Array {
  checkScores('acceptanceProbabilities', scores);
  checkDiscardFraction('acceptanceProbabilities', options.discardFraction);
  checkBatchSize('acceptanceProbabilities', options.batchSize);
  const batchSize = options.batchSize;
  const keep = Math.round(batchSize * (1 - options.discardFraction));
  const n = scores.length;
  const rank = ranks(scores);
  const result = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const quantile = n === 1 ? 0.5 : (rank[i]! - 1) / (n - 1);
    result[i] = binomialCdf(keep - 1, batchSize - 1, 1 - quantile);
  }
  return result;
}

/**
 * Keeps each example independently with its {@link acceptanceProbabilities} value, drawing from a
 * PRNG seeded with `seed`.
 */
export function acceptanceFilter(
  scores: ArrayLike<number>,
  options: AcceptanceOptions & { seed: number },
): Int32Array {
  checkSeed('acceptanceFilter', options.seed);
  const probabilities = acceptanceProbabilities(scores, options);
  const prng = new Prng(options.seed);
  const kept: number[] = [];
  for (let i = 0; i < probabilities.length; i++) {
    if (prng.nextFloat() < probabilities[i]!) {
      kept.push(i);
    }
  }
  return Int32Array.from(kept);
}

/**
 * P(X ≤ k) for X ~ Binomial(n, q), through the regularized incomplete beta function:
 * P(X ≤ k) = I_{1-q}(n - k, k + 1).
 */
export function binomialCdf(k: number, n: number, q: number): number {
  if (k < 0) {
    return 0;
  }
  if (k >= n) {
    return 1;
  }
  return regularizedIncompleteBeta(1 - q, n - k, k + 1);
}

/** I_x(a, b) for a, b > 0 and x in [0, 1] (continued fraction, Lentz's method). */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) {
    return 0;
  }
  if (x >= 1) {
    return 1;
  }
  const logFront =
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) {
    return (Math.exp(logFront) * betaContinuedFraction(x, a, b)) / a;
  }
  return 1 - (Math.exp(logFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let result = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    const even = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 / nonZero(1 + even * d, tiny);
    c = nonZero(1 + even / c, tiny);
    result *= d * c;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 / nonZero(1 + odd * d, tiny);
    c = nonZero(1 + odd / c, tiny);
    const delta = d * c;
    result *= delta;
    if (Math.abs(delta - 1) < 1e-15) {
      break;
    }
  }
  return result;
}

function nonZero(value: number, tiny: number): number {
  return Math.abs(value) < tiny ? tiny : value;
}

/** log Γ(x) for x > 0 (Lanczos approximation, g = 7, relative error below 1e-13). */
function logGamma(x: number): number {
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) {
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  const shifted = x - 1;
  let sum = coefficients[0]!;
  for (let i = 1; i < coefficients.length; i++) {
    sum += coefficients[i]! / (shifted + i);
  }
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

function checkScores(caller: string, scores: ArrayLike<number>): void {
  if (scores === null || typeof scores !== 'object' || typeof scores.length !== 'number') {
    throw new MlError(
      'INVALID_ARGUMENT',
      `${caller}: scores must be an array of numbers, got ${String(scores)}`,
    );
  }
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) {
      throw new MlError(
        'INVALID_ARGUMENT',
        `${caller}: scores[${i}] is ${String(scores[i])}; every score must be finite (rescore or drop that example)`,
      );
    }
  }
}

function checkDiscardFraction(caller: string, value: number): void {
  if (typeof value !== 'number' || !(value > 0 && value < 1)) {
    throw invalidArgument(caller, 'discardFraction', value, 'must be in (0, 1), for example 0.25');
  }
}

function checkBatchSize(caller: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw invalidArgument(caller, 'batchSize', value, 'must be an integer >= 1');
  }
}

function checkSeed(caller: string, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw invalidArgument(caller, 'seed', value, 'must be a safe integer');
  }
}

function invalidArgument(
  caller: string,
  field: string,
  value: unknown,
  requirement: string,
): MlError {
  return new MlError(
    'INVALID_ARGUMENT',
    `${caller}: ${field} ${requirement}, got ${String(value)}`,
  );
}
