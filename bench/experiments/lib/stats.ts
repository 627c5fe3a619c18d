// Summary statistics for the experiment reports: means, spreads, ROC AUC and their formatting.
import { ranks } from '../../../src/ml/index.js';

/** Arithmetic mean; NaN for an empty sample. */
export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

/** Sample standard deviation (n − 1 in the denominator); 0 for fewer than two values. */
export function standardDeviation(values: ArrayLike<number>): number {
  if (values.length < 2) return 0;
  const center = mean(values);
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i]! - center) ** 2;
  return Math.sqrt(squares / (values.length - 1));
}

/**
 * Area under the ROC curve for separating `positive` scores (expected higher) from `negative`
 * ones: P(positive > negative) + ½ P(tie), computed as the Mann–Whitney U statistic on average
 * ranks, so tied scores count one half. Returns NaN when either sample is empty.
 */
export function rocAuc(positive: ArrayLike<number>, negative: ArrayLike<number>): number {
  const positives = positive.length;
  const negatives = negative.length;
  if (positives === 0 || negatives === 0) return Number.NaN;

  const all = new Float64Array(positives + negatives);
  all.set(Array.from(positive), 0);
  all.set(Array.from(negative), positives);
  const rank = ranks(all);
  let positiveRankSum = 0;
  for (let i = 0; i < positives; i++) positiveRankSum += rank[i]!;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Mean, spread and range of one number measured once per seed. */
export interface SeedSummary {
  mean: number;
  std: number;
  min: number;
  max: number;
  perSeed: number[];
}

export function summarizeSeeds(perSeed: number[]): SeedSummary {
  return {
    mean: mean(perSeed),
    std: standardDeviation(perSeed),
    min: Math.min(...perSeed),
    max: Math.max(...perSeed),
    perSeed,
  };
}

/** Formats a number with `digits` decimals, or a dash for null and NaN. */
export function formatNumber(value: number | null, digits = 3): string {
  return value === null || Number.isNaN(value) ? '–' : value.toFixed(digits);
}

/** Formats a fraction as a percentage with one decimal. */
export function formatPercent(value: number): string {
  return `${(100 * value).toFixed(1)}%`;
}

/** Formats "mean ± std" of a seed summary. */
export function formatSummary(summary: SeedSummary, digits = 3): string {
  return `${formatNumber(summary.mean, digits)} ± ${formatNumber(summary.std, digits)}`;
}
