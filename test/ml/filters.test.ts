// Filters on score arrays: batch top-K, quantile, threshold and the acceptance probability rule.
import { describe, expect, test } from 'vitest';
import {
  acceptanceFilter,
  acceptanceProbabilities,
  batchTopK,
  binomialCdf,
  quantileFilter,
  regularizedIncompleteBeta,
  thresholdFilter,
} from '../../src/ml/filters.js';
import { Prng } from '../../src/ml/prng.js';

function randomScores(n: number, seed: number): Float32Array {
  const prng = new Prng(seed);
  return Float32Array.from({ length: n }, () => prng.nextNormal());
}

function exactBinomialCdf(k: number, n: number, q: number): number {
  let total = 0;
  let coefficient = 1;
  for (let i = 0; i <= k; i++) {
    total += coefficient * q ** i * (1 - q) ** (n - i);
    coefficient = (coefficient * (n - i)) / (i + 1);
  }
  return total;
}

describe('batchTopK', () => {
  test('keeps the top of every shuffled batch', () => {
    const scores = randomScores(103, 1);
    const kept = batchTopK(scores, { discardFraction: 0.25, batchSize: 10, seed: 5 });
    // Ten full batches keep round(7.5) = 8 each; the last 3 keep round(2.25) = 2.
    expect(kept.length).toBe(10 * 8 + 2);
    const keptSet = new Set(kept);
    const order = new Prng(5).permutation(103);
    for (let start = 0; start < 103; start += 10) {
      const batch = Array.from(order.subarray(start, start + 10));
      const inBatch = batch.filter((i) => keptSet.has(i));
      const lowestKept = Math.min(...inBatch.map((i) => scores[i]!));
      const highestDropped = Math.max(
        ...batch.filter((i) => !keptSet.has(i)).map((i) => scores[i]!),
      );
      expect(lowestKept).toBeGreaterThanOrEqual(highestDropped);
    }
    expect(Array.from(kept)).toEqual(Array.from(kept).sort((a, b) => a - b));
  });

  test('is deterministic per seed', () => {
    const scores = randomScores(200, 2);
    const options = { discardFraction: 0.5, batchSize: 8 };
    expect(batchTopK(scores, { ...options, seed: 1 })).toEqual(
      batchTopK(scores, { ...options, seed: 1 }),
    );
    expect(batchTopK(scores, { ...options, seed: 1 })).not.toEqual(
      batchTopK(scores, { ...options, seed: 2 }),
    );
  });

  test('is a rank cut, not a global threshold', () => {
    // Half the examples score far higher; batch top-K still keeps some of the low half.
    const scores = Float32Array.from({ length: 100 }, (_, i) => (i < 50 ? 10 + i : i));
    const kept = batchTopK(scores, { discardFraction: 0.5, batchSize: 10, seed: 3 });
    expect(Array.from(kept).some((i) => i >= 50)).toBe(true);
  });

  test('rejects invalid arguments with the value', () => {
    const scores = randomScores(10, 1);
    for (const discardFraction of [0, 1, -0.1, 1.5, Number.NaN]) {
      expect(() => batchTopK(scores, { discardFraction, batchSize: 4, seed: 1 })).toThrow(
        `batchTopK: discardFraction must be in (0, 1), for example 0.25, got ${discardFraction}`,
      );
    }
    expect(() => batchTopK(scores, { discardFraction: 0.5, batchSize: 0, seed: 1 })).toThrow(
      'batchSize must be an integer >= 1, got 0',
    );
    expect(() => batchTopK(scores, { discardFraction: 0.5, batchSize: 2.5, seed: 1 })).toThrow(
      'got 2.5',
    );
    const withNaN = Float32Array.from([1, 2, Number.NaN]);
    expect(() => batchTopK(withNaN, { discardFraction: 0.5, batchSize: 2, seed: 1 })).toThrow(
      'batchTopK: scores[2] is NaN',
    );
  });
});

describe('quantileFilter and thresholdFilter', () => {
  test('quantileFilter keeps the global top fraction', () => {
    const scores = randomScores(1000, 4);
    const kept = quantileFilter(scores, { discardFraction: 0.3 });
    expect(kept.length).toBe(700);
    const keptSet = new Set(kept);
    const lowestKept = Math.min(...Array.from(kept, (i) => scores[i]!));
    const highestDropped = Math.max(...Array.from(scores).filter((_, i) => !keptSet.has(i)));
    expect(lowestKept).toBeGreaterThanOrEqual(highestDropped);
  });

  test('quantileFilter breaks ties by index', () => {
    expect(Array.from(quantileFilter([1, 1, 1, 1], { discardFraction: 0.5 }))).toEqual([0, 1]);
  });

  test('thresholdFilter keeps scores at or above', () => {
    expect(Array.from(thresholdFilter([0.5, -1, 2, 0.5], { threshold: 0.5 }))).toEqual([0, 2, 3]);
    expect(() => thresholdFilter([1], { threshold: Number.NaN })).toThrow(
      'threshold must be a finite number, got NaN',
    );
  });
});

describe('acceptance probability', () => {
  test('binomialCdf matches direct summation', () => {
    for (const [k, n, q] of [
      [0, 9, 0.3],
      [2, 9, 0.3],
      [2, 9, 0.9],
      [5, 20, 0.5],
      [0, 1, 0.2],
      [30, 99, 0.25],
    ] as const) {
      expect(binomialCdf(k, n, q)).toBeCloseTo(exactBinomialCdf(k, n, q), 12);
    }
    expect(binomialCdf(-1, 5, 0.5)).toBe(0);
    expect(binomialCdf(5, 5, 0.5)).toBe(1);
    expect(regularizedIncompleteBeta(0.5, 2, 2)).toBeCloseTo(0.5, 14);
  });

  test('probabilities rise with the score', () => {
    const scores = randomScores(500, 6);
    const probabilities = acceptanceProbabilities(scores, { discardFraction: 0.5, batchSize: 10 });
    const order = Array.from({ length: 500 }, (_, i) => i).sort((i, j) => scores[i]! - scores[j]!);
    for (let r = 1; r < order.length; r++) {
      expect(probabilities[order[r]!]!).toBeGreaterThanOrEqual(probabilities[order[r - 1]!]!);
    }
    expect(probabilities[order[0]!]).toBe(0);
    expect(probabilities[order.at(-1)!]).toBe(1);
  });

  test('keeps K/B on average', () => {
    // Mean of the probabilities: K/B up to O(1/n). Bernoulli draws: 20000 examples, binomial
    // standard deviation at most 0.0036, so the 0.015 tolerance is more than four of them.
    const scores = randomScores(20_000, 7);
    for (const [batchSize, discardFraction] of [
      [10, 0.7],
      [16, 0.25],
      [32, 0.9],
      [5, 0.5],
    ] as const) {
      const keep = Math.round(batchSize * (1 - discardFraction));
      const probabilities = acceptanceProbabilities(scores, { discardFraction, batchSize });
      const mean = probabilities.reduce((sum, p) => sum + p, 0) / probabilities.length;
      expect(mean, `B=${batchSize} rho=${discardFraction}`).toBeCloseTo(keep / batchSize, 3);
      const kept = acceptanceFilter(scores, { discardFraction, batchSize, seed: batchSize });
      expect(
        Math.abs(kept.length / scores.length - keep / batchSize),
        `B=${batchSize}`,
      ).toBeLessThan(0.015);
    }
  });

  test('matches simulated batch top-K per quantile', () => {
    // Run batch top-K over 20 shuffles; in each tenth of the score range the kept frequency
    // should match the mean acceptance probability (20 x 1000 draws per tenth: standard
    // deviation at most 0.0035, tolerance 0.02).
    const n = 10_000;
    const scores = randomScores(n, 8);
    const options = { discardFraction: 0.6, batchSize: 10 };
    const counts = new Float64Array(n);
    for (let seed = 0; seed < 20; seed++) {
      for (const index of batchTopK(scores, { ...options, seed })) {
        counts[index] = counts[index]! + 1;
      }
    }
    const probabilities = acceptanceProbabilities(scores, options);
    const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => scores[i]! - scores[j]!);
    for (let decile = 0; decile < 10; decile++) {
      const members = order.slice(decile * 1000, (decile + 1) * 1000);
      const simulated = members.reduce((sum, i) => sum + counts[i]! / 20, 0) / members.length;
      const predicted = members.reduce((sum, i) => sum + probabilities[i]!, 0) / members.length;
      expect(Math.abs(simulated - predicted), `decile ${decile}`).toBeLessThan(0.02);
    }
  });

  test('validates its inputs', () => {
    expect(() => acceptanceProbabilities([1, 2], { discardFraction: 1, batchSize: 4 })).toThrow(
      'acceptanceProbabilities: discardFraction must be in (0, 1), for example 0.25, got 1',
    );
    expect(() =>
      acceptanceFilter([1, 2], { discardFraction: 0.5, batchSize: 4, seed: 0.5 }),
    ).toThrow('seed must be a safe integer, got 0.5');
    expect(() =>
      acceptanceProbabilities([1, Number.POSITIVE_INFINITY], {
        discardFraction: 0.5,
        batchSize: 4,
      }),
    ).toThrow('scores[1] is Infinity');
  });
});
