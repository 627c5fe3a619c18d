// Featurization, config validation, the seeded PRNG, statistics and the binary container.
import { availableParallelism } from 'node:os';
import { describe, expect, test } from 'vitest';
import { DEFAULT_CONFIG, validateConfig } from '../../src/ml/config.js';
import { ConfigError } from '../../src/ml/errors.js';
import {
  batchToTensors,
  disposeBatch,
  encodeText,
  featurize,
  PAD_ID,
} from '../../src/ml/featurize.js';
import { Prng } from '../../src/ml/prng.js';
import { packContainer, unpackContainer } from '../../src/ml/serialize.js';
import { pearson, ranks, spearman } from '../../src/ml/stats.js';
import { useBackend } from './helpers.js';

describe('featurize', () => {
  test('encodes UTF-8 and truncates by bytes', () => {
    expect(Array.from(encodeText('aé中', 10))).toEqual([0x61, 0xc3, 0xa9, 0xe4, 0xb8, 0xad]);
    expect(Array.from(encodeText('aé中', 2))).toEqual([0x61, 0xc3]);
  });

  test('pads with PAD_ID and masks padding', () => {
    const batch = featurize(['ab', '', 'abcdef'], 4, [1, 0, 1]);
    expect(batch.batchSize).toBe(3);
    expect(Array.from(batch.ids)).toEqual([
      97,
      98,
      PAD_ID,
      PAD_ID,
      PAD_ID,
      PAD_ID,
      PAD_ID,
      PAD_ID,
      97,
      98,
      99,
      100,
    ]);
    expect(Array.from(batch.mask)).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(Array.from(batch.labels!)).toEqual([1, 0, 1]);
    expect(featurize(['x'], 2).labels).toBeNull();
  });

  test('creates int32 ids and float32 mask tensors', async () => {
    await useBackend('wasm');
    const tensors = batchToTensors(featurize(['ab', 'c'], 3, [0, 1]));
    expect(tensors.ids.shape).toEqual([2, 3]);
    expect(tensors.ids.dtype).toBe('int32');
    expect(tensors.mask.dtype).toBe('float32');
    expect(tensors.labels!.dtype).toBe('int32');
    disposeBatch(tensors);
  });
});

describe('validateConfig', () => {
  test('fills defaults', () => {
    const config = validateConfig();
    expect(config).toMatchObject(DEFAULT_CONFIG);
    expect(config.workers).toBe(Math.min(DEFAULT_CONFIG.populationSize, availableParallelism()));
    expect(validateConfig({ populationSize: 1 }).workers).toBe(1);
  });

  test('names the bad field and value', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        { sequenceLength: 0 },
        'Invalid config field "sequenceLength": must be in [1, 65536], got 0',
      ],
      [{ raterWidth: 2.5 }, 'Invalid config field "raterWidth": must be an integer, got 2.5'],
      [{ temperature: 0 }, 'Invalid config field "temperature": must be in (0, 1000000], got 0'],
      [{ innerAdamBeta1: 1 }, 'Invalid config field "innerAdamBeta1": must be in [0, 1), got 1'],
      [
        { metaLearningRate: 'fast' },
        'Invalid config field "metaLearningRate": must be a finite number, got "fast"',
      ],
      [
        { task: 'lm' },
        'Invalid config field "task": must be one of "language-model", "classification", got "lm"',
      ],
      [
        { raterKernelSize: 4 },
        'Invalid config field "raterKernelSize": must be odd so the window is centred, got 4',
      ],
      [
        { unrollStep: 2 },
        'Invalid config field "unrollStep": unknown field (check its spelling), got 2',
      ],
      [
        { backend: 'gpu' },
        'Invalid config field "backend": must be one of "wasm", "cpu", "tensorflow", got "gpu"',
      ],
    ];
    for (const [partial, message] of cases) {
      expect(() => validateConfig(partial)).toThrow(message);
    }
    const error = (() => {
      try {
        validateConfig({ clipNorm: -1 });
      } catch (e) {
        return e as ConfigError;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.field).toBe('clipNorm');
    expect(error!.value).toBe(-1);
    expect(error!.code).toBe('INVALID_CONFIG');
  });
});

describe('Prng', () => {
  test('is deterministic and resumable', () => {
    const a = new Prng(123);
    const first = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => new Prng(123).nextUint32())).toEqual(
      Array(5).fill(first[0]),
    );
    const saved = a.state();
    const continued = Array.from({ length: 5 }, () => a.nextFloat());
    const resumed = new Prng(saved);
    expect(Array.from({ length: 5 }, () => resumed.nextFloat())).toEqual(continued);
  });

  test('samples distinct indices and uniform integers', () => {
    const prng = new Prng(9);
    const sample = prng.sampleWithoutReplacement(50, 20);
    expect(new Set(sample).size).toBe(20);
    expect(Array.from(sample).every((i) => i >= 0 && i < 50)).toBe(true);
    expect(Array.from(prng.permutation(10)).sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
    const counts = new Array(4).fill(0);
    for (let i = 0; i < 40_000; i++) {
      counts[prng.nextInt(4)]++;
    }
    // Each count is Binomial(40000, 1/4): standard deviation about 87, tolerance 500.
    counts.forEach((count) => expect(Math.abs(count - 10_000)).toBeLessThan(500));
  });

  test('normal samples have unit variance', () => {
    const prng = new Prng(4);
    const values = Array.from({ length: 20_000 }, () => prng.nextNormal());
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });
});

describe('stats', () => {
  test('ranks share ties', () => {
    expect(Array.from(ranks([10, 20, 10, 5]))).toEqual([2.5, 4, 2.5, 1]);
  });

  test('pearson and spearman', () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 12);
    expect(Number.isNaN(spearman([1, 1, 1], [1, 2, 3]))).toBe(true);
  });
});

describe('binary container', () => {
  test('round-trips header and arrays exactly', () => {
    const values = Float32Array.from([1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e-45]);
    const bytes = packContainer({ kind: 'test', note: 'é' }, [
      { name: 'a', values },
      { name: 'empty', values: new Float32Array(0) },
    ]);
    const { header, arrays } = unpackContainer(bytes, 'test');
    expect(header).toEqual({ kind: 'test', note: 'é' });
    const read = arrays.get('a')!;
    values.forEach((value, i) => expect(Object.is(read[i], value)).toBe(true));
    expect(arrays.get('empty')!.length).toBe(0);
  });

  test('rejects other kinds and damaged data', () => {
    const bytes = packContainer({ kind: 'test' }, [{ name: 'a', values: new Float32Array(3) }]);
    expect(() => unpackContainer(bytes, 'other')).toThrow(
      'expected a "other" file, got kind "test"',
    );
    expect(() => unpackContainer(bytes.slice(0, -4), 'test')).toThrow(
      'runs past the end of the data',
    );
    const versioned = bytes.slice();
    versioned[4] = 9;
    expect(() => unpackContainer(versioned, 'test')).toThrow('format version 9 is not supported');
  });
});
