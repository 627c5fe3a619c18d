// The meta-gradient against central finite differences (T = 1, 2, 4; SGD and Adam), against a
// hand-derived closed form, and for tensor leaks.
import { beforeAll, describe, expect, test } from 'vitest';
import { validateConfig, type DataRaterConfig } from '../../src/ml/config.js';
import {
  batchToTensors,
  disposeBatch,
  featurize,
  type BatchTensors,
} from '../../src/ml/featurize.js';
import { innerParamSpecs } from '../../src/ml/models/inner-task.js';
import { initParams, paramsToTensors } from '../../src/ml/models/params.js';
import { raterParamSpecs } from '../../src/ml/models/rater.js';
import { innerUpdate, type InnerTensors } from '../../src/ml/meta/inner-optimizer.js';
import { createProblem, runModelJob, type ModelJob } from '../../src/ml/meta/model-step.js';
import {
  disposeInner,
  disposeMetaGradient,
  metaGradient,
  unroll,
  type UnrollProblem,
} from '../../src/ml/meta/unroll.js';
import { oneHotFloat } from '../../src/ml/ops/one-hot.js';
import { logSoftmax } from '../../src/ml/ops/softmax.js';
import { Prng } from '../../src/ml/prng.js';
import { tf } from '../../src/ml/tf.js';
import { TEST_BACKENDS, useBackend } from './helpers.js';

const TEXTS = [
  'hello world',
  'zzzzzzzzzzzzzz',
  'the cat sat on',
  '12345 67890',
  'abc abc abc',
  '\u0000\u0001\u0002xyz',
  'Quick brown',
  'fox jumps over',
];

function tinyConfig(overrides: Partial<DataRaterConfig>): DataRaterConfig {
  return validateConfig({
    sequenceLength: 12,
    raterWidth: 6,
    raterBlocks: 1,
    raterKernelSize: 3,
    innerContext: 3,
    innerEmbeddingSize: 4,
    innerHidden: 8,
    workers: 1,
    ...overrides,
  });
}

/** Batch of four texts starting at `start` (wrapping around). */
function batchAt(start: number, sequenceLength: number): BatchTensors {
  const texts = Array.from({ length: 4 }, (_, i) => TEXTS[(start + i) % TEXTS.length]!);
  return batchToTensors(featurize(texts, sequenceLength));
}

function dot(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  return a.reduce((sum, x, i) => sum + x.reduce((s, value, j) => s + value * b[i]![j]!, 0), 0);
}

/**
 * Compares the autodiff directional derivative of the outer loss with Richardson-extrapolated
 * central differences (steps 0.1 and 0.05 along a unit direction, error O(h⁴)), along the
 * normalized meta-gradient and two random directions. Float32 rounding of a loss near 5 is about
 * 5e-7, which keeps the difference quotient within about 1e-5 of the truth; the tolerance is
 * 2e-3 · |meta-gradient|, about 15 times the largest error seen.
 */
function checkAgainstFiniteDifferences(
  problem: UnrollProblem,
  raterSpecs: ReturnType<typeof raterParamSpecs>,
  rater: Float32Array[],
  inner: InnerTensors,
  train: BatchTensors[],
  heldout: BatchTensors,
  prng: Prng,
): { gradientNorm: number; errors: number[] } {
  const raterTensors = paramsToTensors(raterSpecs, rater);
  const output = metaGradient(problem, raterTensors, inner, train, heldout);
  const grads = output.grads.map((g) => Float32Array.from(g.dataSync()));
  disposeMetaGradient(output);
  tf.dispose(raterTensors);

  const gradientNorm = Math.sqrt(dot(grads, grads));
  const directions = [
    grads,
    rater.map((p) => p.map(() => prng.nextNormal())),
    rater.map((p) => p.map(() => prng.nextNormal())),
  ];
  const errors = directions.map((direction) => {
    const norm = Math.sqrt(dot(direction, direction));
    const unit = direction.map((d) => d.map((x) => x / norm));
    const analytic = dot(grads, unit);
    const lossAt = (step: number): number => {
      const shifted = paramsToTensors(
        raterSpecs,
        rater.map((p, i) => p.map((x, j) => x + step * unit[i]![j]!)),
      );
      const loss = tf.tidy(() => unroll(problem, shifted, inner, train, heldout).outerLoss);
      const value = loss.dataSync()[0]!;
      tf.dispose([loss, ...shifted]);
      return value;
    };
    const difference = (h: number): number => (lossAt(h) - lossAt(-h)) / (2 * h);
    const extrapolated = (4 * difference(0.05) - difference(0.1)) / 3;
    return Math.abs(extrapolated - analytic);
  });
  return { gradientNorm, errors };
}

/** Runs `steps` unweighted updates so Adam starts from non-zero moments. */
function warmInner(
  problem: UnrollProblem,
  inner: InnerTensors,
  batch: BatchTensors,
  steps: number,
): InnerTensors {
  let state = inner;
  for (let i = 0; i < steps; i++) {
    const previous = state;
    const flat = tf.tidy(() => {
      const grads = tf.grads((...params: tf.Tensor[]) =>
        tf.mean(problem.exampleLosses(params, batch)),
      )(previous.params);
      const next = innerUpdate(problem.optimizer, previous, grads);
      return [...next.params, ...(next.m ?? []), ...(next.v ?? [])];
    });
    const count = previous.params.length;
    const adam = flat.length > count;
    state = {
      params: flat.slice(0, count),
      m: adam ? flat.slice(count, 2 * count) : null,
      v: adam ? flat.slice(2 * count) : null,
      step: previous.step + 1,
    };
    disposeInner(previous);
  }
  return state;
}

describe.each(TEST_BACKENDS)('meta-gradient on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  const cases: Array<{ optimizer: 'sgd' | 'adam'; unrollSteps: number }> =
    backend === 'wasm'
      ? [
          { optimizer: 'sgd', unrollSteps: 1 },
          { optimizer: 'sgd', unrollSteps: 2 },
          { optimizer: 'sgd', unrollSteps: 4 },
          { optimizer: 'adam', unrollSteps: 1 },
          { optimizer: 'adam', unrollSteps: 2 },
          { optimizer: 'adam', unrollSteps: 4 },
        ]
      : [
          // The cpu backend is much slower; one case per optimiser with second-order terms.
          { optimizer: 'sgd', unrollSteps: 2 },
          { optimizer: 'adam', unrollSteps: 2 },
        ];

  test.each(cases)(
    '$optimizer with T = $unrollSteps matches finite differences',
    ({ optimizer, unrollSteps }) => {
      // Adam with the default ε = 1e-8 behaves like sign(g) on its first steps, so its outer loss
      // has kinks finite differences cannot cross; ε = 0.1 keeps it smooth and still exercises m and v.
      const config = tinyConfig({
        innerOptimizer: optimizer,
        innerLearningRate: optimizer === 'sgd' ? 1 : 0.05,
        innerAdamEpsilon: 0.1,
        unrollSteps,
      });
      const prng = new Prng(7 + unrollSteps);
      const raterSpecs = raterParamSpecs(config);
      const rater = initParams(raterSpecs, prng);
      // A unit-scale head makes scores (and so weights) differ clearly between examples.
      rater[rater.length - 2] = rater[rater.length - 2]!.map(() => prng.nextNormal());
      const problem = createProblem(config);
      const before = tf.memory().numTensors;

      let inner: InnerTensors = {
        params: paramsToTensors(innerParamSpecs(config), initParams(innerParamSpecs(config), prng)),
        m: null,
        v: null,
        step: 0,
      };
      const train = Array.from({ length: unrollSteps }, (_, t) =>
        batchAt(3 * t, config.sequenceLength),
      );
      const heldout = batchAt(5, config.sequenceLength);
      if (optimizer === 'adam') {
        inner = warmInner(problem, inner, heldout, 3);
      }

      const { gradientNorm, errors } = checkAgainstFiniteDifferences(
        problem,
        raterSpecs,
        rater,
        inner,
        train,
        heldout,
        prng,
      );
      expect(gradientNorm).toBeGreaterThan(1e-3);
      errors.forEach((error, i) => {
        expect(error, `direction ${i}: error ${error} vs |g| ${gradientNorm}`).toBeLessThan(
          2e-3 * gradientNorm,
        );
      });

      disposeInner(inner);
      train.forEach(disposeBatch);
      disposeBatch(heldout);
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});

describe('meta-gradient closed form', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  test('linear model, squared loss, one SGD step', () => {
    // Scores s = F·η, weights w = softmax(s); inner loss ℓ_i = (x_iᵀθ - y_i)²;
    // θ1 = θ0 - α Σ w_i ∇ℓ_i(θ0); outer loss L = mean_j (x'_jᵀθ1 - y'_j)².
    // dL/dη = -α Fᵀ (diag(w) - w wᵀ) c with c_i = ∇ℓ_i(θ0) · ∇L(θ1).
    const features = [
      [1, 0.5],
      [-0.3, 1.2],
      [0.8, -1],
      [0.1, 0.1],
    ]; // F [4, 2]
    const inputs = [
      [1, 2, 0],
      [0, 1, -1],
      [2, -1, 1],
      [0.5, 0.5, 0.5],
    ]; // x [4, 3]
    const targets = [1, -1, 2, 0];
    const heldInputs = [
      [1, 0, 1],
      [0, 2, 1],
      [-1, 1, 0],
    ];
    const heldTargets = [0.5, 1, -0.5];
    const eta = [0.7, -0.4];
    const theta0 = [0.2, -0.1, 0.3];
    const alpha = 0.1;

    const scores = features.map((f) => f[0]! * eta[0]! + f[1]! * eta[1]!);
    const maxScore = Math.max(...scores);
    const expScores = scores.map((s) => Math.exp(s - maxScore));
    const total = expScores.reduce((a, b) => a + b, 0);
    const w = expScores.map((e) => e / total);
    const dotRow = (row: number[], v: number[]): number =>
      row.reduce((sum, x, k) => sum + x * v[k]!, 0);
    const innerGrads = inputs.map((x, i) =>
      x.map((xk) => 2 * (dotRow(x, theta0) - targets[i]!) * xk),
    );
    const theta1 = theta0.map(
      (t, k) => t - alpha * innerGrads.reduce((sum, g, i) => sum + w[i]! * g[k]!, 0),
    );
    const outerGrad = theta0.map((_, k) =>
      heldInputs.reduce(
        (sum, x, j) =>
          sum + (2 / heldInputs.length) * (dotRow(x, theta1) - heldTargets[j]!) * x[k]!,
        0,
      ),
    );
    const c = innerGrads.map((g) => dotRow(g, outerGrad));
    const wc = w.reduce((sum, wi, i) => sum + wi * c[i]!, 0);
    const jc = w.map((wi, i) => wi * c[i]! - wi * wc); // (diag(w) - w wᵀ) c
    const expected = [0, 1].map(
      (d) => -alpha * features.reduce((sum, f, i) => sum + f[d]! * jc[i]!, 0),
    );

    // The same problem through the engine, with features and inputs passed in the batch masks.
    const toBatch = (rows: number[][], labels: number[]): BatchTensors => ({
      ids: tf.zeros([rows.length, 1], 'int32') as tf.Tensor2D,
      mask: tf.tensor2d(rows),
      labels: tf.tensor1d(labels),
    });
    const problem: UnrollProblem = {
      scores: (rater, batch) =>
        tf.squeeze(
          tf.matMul(tf.slice(batch.mask, [0, 0], [-1, 2]), tf.reshape(rater[0]!, [2, 1])),
          [1],
        ) as tf.Tensor1D,
      exampleLosses: (params, batch) => {
        const inputPart = tf.slice(batch.mask, [0, 2], [-1, 3]);
        const prediction = tf.squeeze(tf.matMul(inputPart, tf.reshape(params[0]!, [3, 1])), [1]);
        return tf.square(tf.sub(prediction, batch.labels!)) as tf.Tensor1D;
      },
      optimizer: {
        innerOptimizer: 'sgd',
        innerLearningRate: alpha,
        innerAdamBeta1: 0.9,
        innerAdamBeta2: 0.999,
        innerAdamEpsilon: 1e-8,
      },
      temperature: 1,
    };
    // Columns 0-1 are rater features (ignored by the inner model), columns 2-4 inner inputs.
    const train = toBatch(
      features.map((f, i) => [...f, ...inputs[i]!]),
      targets,
    );
    const heldout = toBatch(
      heldInputs.map((x) => [0, 0, ...x]),
      heldTargets,
    );
    const rater = [tf.tensor1d(eta)];
    const inner: InnerTensors = { params: [tf.tensor1d(theta0)], m: null, v: null, step: 0 };

    const output = metaGradient(problem, rater, inner, [train], heldout);
    const got = Array.from(output.grads[0]!.dataSync());
    got.forEach((value, d) => expect(value).toBeCloseTo(expected[d]!, 5));
    const outerLoss =
      heldInputs.reduce((sum, x, j) => sum + (dotRow(x, theta1) - heldTargets[j]!) ** 2, 0) / 3;
    expect(output.outerLoss.dataSync()[0]).toBeCloseTo(outerLoss, 5);
    expect(Array.from(output.ess.dataSync())[0]).toBeCloseTo(
      1 / w.reduce((s, wi) => s + wi * wi, 0),
      4,
    );

    disposeMetaGradient(output);
    disposeInner(inner);
    tf.dispose([
      ...rater,
      train.ids,
      train.mask,
      train.labels!,
      heldout.ids,
      heldout.mask,
      heldout.labels!,
    ]);
  });

  test('plain tf.logSoftmax silently breaks the T = 2 meta-gradient', () => {
    // A softmax-regression inner model on mean byte embeddings. With the safe logSoftmax the
    // meta-gradient matches finite differences; with tf.logSoftmax the second-order terms are
    // dropped (or tfjs throws), so the check fails. This is why every op comes from ops/.
    const config = tinyConfig({
      innerOptimizer: 'sgd',
      innerLearningRate: 20,
      unrollSteps: 2,
    });
    const prng = new Prng(3);
    const raterSpecs = raterParamSpecs(config);
    const rater = initParams(raterSpecs, prng);
    rater[rater.length - 2] = rater[rater.length - 2]!.map(() => prng.nextNormal());
    const base = createProblem(config);
    const withLogSoftmax = (logSoftmaxFn: (x: tf.Tensor2D) => tf.Tensor2D): UnrollProblem => ({
      ...base,
      exampleLosses: (params, batch) => {
        const [size] = batch.ids.shape;
        const table = params[0]! as tf.Tensor2D; // [257, 4] used as 4 class logits per byte
        const logits = tf.div(
          tf.sum(
            tf.reshape(
              tf.matMul(oneHotFloat(tf.reshape(batch.ids, [-1]), 257) as tf.Tensor2D, table),
              [size, -1, 4],
            ),
            1,
          ),
          config.sequenceLength,
        ) as tf.Tensor2D;
        const labels = oneHotFloat(tf.fill([size], 1, 'int32'), 4) as tf.Tensor2D;
        return tf.neg(tf.sum(tf.mul(labels, logSoftmaxFn(logits)), 1)) as tf.Tensor1D;
      },
    });
    const run = (logSoftmaxFn: (x: tf.Tensor2D) => tf.Tensor2D): number => {
      const problem = withLogSoftmax(logSoftmaxFn);
      const inner: InnerTensors = {
        params: [tf.randomNormal([257, 4], 0, 1, 'float32', 5)],
        m: null,
        v: null,
        step: 0,
      };
      const train = [batchAt(0, config.sequenceLength), batchAt(4, config.sequenceLength)];
      const heldout = batchAt(2, config.sequenceLength);
      try {
        const { gradientNorm, errors } = checkAgainstFiniteDifferences(
          problem,
          raterSpecs,
          rater,
          inner,
          train,
          heldout,
          new Prng(11),
        );
        return Math.max(...errors) / gradientNorm;
      } catch {
        return Number.POSITIVE_INFINITY; // tfjs could not compute the nested gradient at all
      } finally {
        disposeInner(inner);
        train.forEach(disposeBatch);
        disposeBatch(heldout);
      }
    };
    const safeError = run((x) => logSoftmax(x));
    const plainError = run((x) => tf.logSoftmax(x));
    expect(safeError).toBeLessThan(2e-3);
    expect(plainError).toBeGreaterThan(2e-2);
  });
});

describe('runModelJob', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  test('leaves the tensor count unchanged', () => {
    const config = tinyConfig({ unrollSteps: 2 });
    const prng = new Prng(1);
    const rater = initParams(raterParamSpecs(config), prng);
    let job: ModelJob = {
      modelIndex: 0,
      inner: { params: initParams(innerParamSpecs(config), prng), m: null, v: null, step: 0 },
      train: [featurize(TEXTS.slice(0, 4), 12), featurize(TEXTS.slice(4), 12)],
      heldout: featurize(TEXTS.slice(2, 6), 12),
    };
    job = { ...job, inner: runModelJob(config, rater, job).inner };
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const result = runModelJob(config, rater, job);
      expect(Number.isFinite(result.outerLoss)).toBe(true);
      expect(result.inner.step).toBe(job.inner.step + 2);
      job = { ...job, inner: result.inner };
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
