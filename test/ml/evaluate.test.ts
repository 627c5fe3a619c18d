// evaluate: baseline and filtered training curves, compute gain, net gain and "not reached".
import { beforeAll, describe, expect, test } from 'vitest';
import type { DataRaterConfig } from '../../src/ml/config.js';
import { evaluate, stepsToReach } from '../../src/ml/evaluate.js';
import { innerTrainingFlopsPerExample, raterFlopsPerExample } from '../../src/ml/flops.js';
import { validateConfig } from '../../src/ml/config.js';
import { tf } from '../../src/ml/tf.js';
import { noiseLines, proseLines } from './fixtures/corpus.js';
import { useBackend } from './helpers.js';

const CONFIG: Partial<DataRaterConfig> = {
  sequenceLength: 32,
  innerContext: 3,
  innerEmbeddingSize: 4,
  innerHidden: 16,
  innerOptimizer: 'adam',
  innerLearningRate: 0.01,
  seed: 3,
};
const PROSE = proseLines(60, 11);
const NOISE = noiseLines(60, 12);
const HELDOUT = proseLines(24, 13);

describe('stepsToReach', () => {
  const curve = { steps: [0, 10, 20, 30], heldoutLoss: [5, 4, 3, 2.5] };

  test('interpolates between evaluations', () => {
    expect(stepsToReach(curve, 3.5)).toBeCloseTo(15, 10);
    expect(stepsToReach(curve, 3)).toBe(20);
  });

  test('returns the first step already below', () => {
    expect(stepsToReach(curve, 6)).toBe(0);
  });

  test('returns null when never reached', () => {
    expect(stepsToReach(curve, 2)).toBeNull();
  });
});

describe('evaluate', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  test('clean filtering against noisy baseline', async () => {
    const events: Array<{ run: string; step: number }> = [];
    const rater = validateConfig({ sequenceLength: 32 });
    const options = {
      config: CONFIG,
      baseline: [...PROSE, ...NOISE],
      filtered: PROSE,
      heldout: HELDOUT,
      steps: 40,
      batchSize: 8,
      evalInterval: 10,
      rater,
      scoredExamples: 120,
      onProgress: (event: { run: string; step: number }) => events.push(event),
    };
    const before = tf.memory().numTensors;
    const result = await evaluate(options);
    expect(tf.memory().numTensors).toBe(before);

    expect(result.baseline.steps).toEqual([0, 10, 20, 30, 40]);
    expect(result.filtered.steps).toEqual([0, 10, 20, 30, 40]);
    // Same initialization: both curves start at the same loss, near ln 256 for a fresh model.
    expect(result.filtered.heldoutLoss[0]).toBe(result.baseline.heldoutLoss[0]);
    expect(result.baseline.heldoutLoss[0]).toBeGreaterThan(4.5);
    expect(result.baselineFinalLoss).toBeLessThan(result.baseline.heldoutLoss[0]!);
    expect(events).toHaveLength(10);
    expect(events[0]).toMatchObject({ run: 'baseline', step: 0 });
    expect(events.at(-1)).toMatchObject({ run: 'filtered', step: 40 });

    // FLOP accounting.
    const config = validateConfig(CONFIG);
    expect(result.innerStepFlops).toBe(innerTrainingFlopsPerExample(config) * 8);
    expect(result.raterFlops).toBe(raterFlopsPerExample(rater) * 120);
    expect(result.raterCostInSteps).toBeCloseTo(result.raterFlops / result.innerStepFlops, 10);

    // Training only on text like the held-out set reaches the noisy baseline's loss early.
    expect(result.reached).toBe(true);
    expect(result.stepsToBaseline).toBeLessThan(40);
    expect(result.gain).toBeCloseTo(1 - result.stepsToBaseline! / 40, 12);
    expect(result.netGain).toBeCloseTo(result.gain! - result.raterCostInSteps / 40, 12);

    // Deterministic for a fixed seed.
    const again = await evaluate({ ...options, onProgress: undefined });
    expect(again.baseline).toEqual(result.baseline);
    expect(again.filtered).toEqual(result.filtered);
  });

  test('reuses a given baseline curve', async () => {
    const options = {
      config: CONFIG,
      baseline: [...PROSE, ...NOISE],
      filtered: PROSE,
      heldout: HELDOUT,
      steps: 25,
      batchSize: 8,
      evalInterval: 10,
    };
    const full = await evaluate(options);
    const events: string[] = [];
    const reused = await evaluate({
      ...options,
      baselineCurve: full.baseline,
      onProgress: (event) => events.push(event.run),
    });
    expect(reused).toEqual(full);
    expect(events).toEqual(['filtered', 'filtered', 'filtered', 'filtered']);

    const shifted = { steps: [0, 10, 20], heldoutLoss: [5, 4, 3] };
    await expect(evaluate({ ...options, baselineCurve: shifted })).rejects.toThrow(
      'evaluate: baselineCurve must hold finite losses at steps 0, 10, 20, 25',
    );
  });

  test('reports not reached as null', async () => {
    const result = await evaluate({
      config: CONFIG,
      baseline: PROSE,
      filtered: NOISE,
      heldout: HELDOUT,
      steps: 30,
      batchSize: 8,
      evalInterval: 10,
    });
    expect(result.reached).toBe(false);
    expect(result.stepsToBaseline).toBeNull();
    expect(result.gain).toBeNull();
    expect(result.netGain).toBeNull();
    expect(result.raterFlops).toBe(0);
    expect(result.filteredFinalLoss).toBeGreaterThan(result.baselineFinalLoss);
  });

  test('validates its options', async () => {
    const base = {
      config: CONFIG,
      baseline: PROSE,
      filtered: PROSE,
      heldout: HELDOUT,
      steps: 5,
      batchSize: 8,
      evalInterval: 1,
    };
    await expect(evaluate({ ...base, steps: 0 })).rejects.toThrow(
      'evaluate: steps must be a positive integer, got 0',
    );
    await expect(evaluate({ ...base, filtered: PROSE.slice(0, 3) })).rejects.toThrow(
      'evaluate: filtered has 3 examples, fewer than batchSize 8',
    );
    await expect(evaluate({ ...base, heldout: [] })).rejects.toMatchObject({
      code: 'INVALID_DATA',
    });
    await expect(evaluate({ ...base, config: { innerHidden: -1 } })).rejects.toThrow(/innerHidden/);
  });
});
