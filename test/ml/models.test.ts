// The rater and inner models: shapes, modes, masking and FLOP estimates.
import { beforeAll, describe, expect, test } from 'vitest';
import { validateConfig } from '../../src/ml/config.js';
import { batchToTensors, disposeBatch, featurize } from '../../src/ml/featurize.js';
import {
  innerForwardFlopsPerExample,
  metaStepFlops,
  parameterCounts,
  raterFlopsPerExample,
} from '../../src/ml/flops.js';
import { innerExampleLosses, innerParamSpecs } from '../../src/ml/models/inner-task.js';
import { initParams, paramsToTensors } from '../../src/ml/models/params.js';
import { raterParamSpecs, raterScores } from '../../src/ml/models/rater.js';
import { Prng } from '../../src/ml/prng.js';
import { tf } from '../../src/ml/tf.js';
import { take, TEST_BACKENDS, useBackend } from './helpers.js';

const TEXTS = [
  '',
  'a',
  'hello world, hello bytes',
  '\u00e9\u00e9\u00e9 \u4e2d\u6587',
  'x'.repeat(100),
];

describe.each(TEST_BACKENDS)('rater on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test.each(['gelu', 'relu', 'tanh'] as const)(
    'inference mode matches with %s',
    (raterActivation) => {
      const config = validateConfig({
        sequenceLength: 24,
        raterWidth: 8,
        raterBlocks: 2,
        raterKernelSize: 5,
        raterActivation,
      });
      const specs = raterParamSpecs(config);
      const prng = new Prng(2);
      const params = initParams(specs, prng);
      params[params.length - 2] = params[params.length - 2]!.map(() => prng.nextNormal());
      const weights = paramsToTensors(specs, params);
      const batch = batchToTensors(featurize(TEXTS, 24));
      const exact = take(tf.tidy(() => raterScores(config, weights, batch.ids, batch.mask)));
      const fast = take(
        tf.tidy(() => raterScores(config, weights, batch.ids, batch.mask, 'inference')),
      );
      expect(exact.every(Number.isFinite)).toBe(true);
      fast.forEach((score, i) =>
        expect(Math.abs(score - exact[i]!), `text ${i}`).toBeLessThan(
          1e-4 * Math.max(1, Math.abs(exact[i]!)),
        ),
      );
      tf.dispose(weights);
      disposeBatch(batch);
    },
  );

  test('scores ignore bytes past the padding', () => {
    // The same text padded to different positions of the batch scores the same.
    const config = validateConfig({
      sequenceLength: 16,
      raterWidth: 8,
      raterBlocks: 1,
      raterKernelSize: 3,
    });
    const specs = raterParamSpecs(config);
    const weights = paramsToTensors(specs, initParams(specs, new Prng(3)));
    const batch = batchToTensors(featurize(['abc', 'abcdefghijklmnopqrstuvwxyz', 'abc'], 16));
    const scores = take(tf.tidy(() => raterScores(config, weights, batch.ids, batch.mask)));
    expect(scores[0]).toBe(scores[2]);
    expect(scores[0]).not.toBe(scores[1]);
    tf.dispose(weights);
    disposeBatch(batch);
  });

  test('rejects a batch of the wrong length', () => {
    const config = validateConfig({ sequenceLength: 16 });
    const specs = raterParamSpecs(config);
    const weights = paramsToTensors(specs, initParams(specs, new Prng(3)));
    const batch = batchToTensors(featurize(['abc'], 8));
    expect(() => raterScores(config, weights, batch.ids, batch.mask)).toThrow(
      'raterScores: ids must be int32 [B, 16] and mask float32 of the same shape, got int32 [1,8] and [1,8]',
    );
    tf.dispose(weights);
    disposeBatch(batch);
  });
});

describe('inner models', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  test('fresh language model is near ln 256', () => {
    const config = validateConfig({ sequenceLength: 32 });
    const specs = innerParamSpecs(config);
    const weights = paramsToTensors(specs, initParams(specs, new Prng(4)));
    const batch = batchToTensors(featurize(TEXTS, 32));
    const losses = take(tf.tidy(() => innerExampleLosses(config, weights, batch)));
    expect(losses[0]).toBe(0); // empty text: no byte to predict
    losses.slice(1).forEach((loss) => expect(Math.abs(loss - Math.log(256))).toBeLessThan(1.5));
    tf.dispose(weights);
    disposeBatch(batch);
  });

  test('classification needs labels', () => {
    const config = validateConfig({ sequenceLength: 16, task: 'classification', numClasses: 3 });
    const specs = innerParamSpecs(config);
    const weights = paramsToTensors(specs, initParams(specs, new Prng(5)));
    const unlabelled = batchToTensors(featurize(['abc'], 16));
    expect(() => innerExampleLosses(config, weights, unlabelled)).toThrow(
      'the classification task needs labels',
    );
    const labelled = batchToTensors(featurize(['abc', 'de', ''], 16, [0, 2, 1]));
    const losses = take(tf.tidy(() => innerExampleLosses(config, weights, labelled)));
    expect(losses).toHaveLength(3);
    losses.forEach((loss) => expect(loss).toBeGreaterThan(0));
    losses.forEach((loss) => expect(loss).toBeLessThan(10));
    tf.dispose(weights);
    disposeBatch(unlabelled);
    disposeBatch(labelled);
  });
});

describe('FLOP estimates', () => {
  test('scale with the sequence length', () => {
    const short = validateConfig({ sequenceLength: 128 });
    const long = validateConfig({ sequenceLength: 256 });
    expect(raterFlopsPerExample(long) / raterFlopsPerExample(short)).toBeCloseTo(2, 2);
    expect(innerForwardFlopsPerExample(long) / innerForwardFlopsPerExample(short)).toBeCloseTo(
      2,
      2,
    );
    expect(metaStepFlops(long)).toBeGreaterThan(metaStepFlops(short));
  });

  test('count the default parameters', () => {
    // Rater: 257·32 embedding + 2 blocks of (160·32 + 32) + head 33; inner: 257·16 + 128·64 + 64 + 64·256 + 256.
    expect(parameterCounts(validateConfig())).toEqual({ rater: 18561, inner: 29008 });
  });
});
