/**
 * Start-up self-check of the active backend: runs the real rater and inner-model graphs forward,
 * backward and double-backward (the meta-gradient) on tiny inputs and checks the results for
 * finiteness, against analytic values and against finite differences, so a backend with a missing
 * kernel or wrong numerics is rejected at start-up with the failing stage named, instead of
 * failing in the middle of a job.
 */
import { resolveBackend, type BackendInfo, type BackendName } from './backend.js';
import { validateConfig, type DataRaterConfig } from './config.js';
import { MlError } from './errors.js';
import { batchToTensors, disposeBatch, featurize, type BatchTensors } from './featurize.js';
import type { InnerTensors } from './meta/inner-optimizer.js';
import { createProblem } from './meta/model-step.js';
import { disposeInner, disposeMetaGradient, metaGradient, unroll } from './meta/unroll.js';
import { innerExampleLosses, innerParamSpecs } from './models/inner-task.js';
import { initParams, paramsToTensors, type ParamSpec } from './models/params.js';
import { raterParamSpecs, raterScores } from './models/rater.js';
import { gelu } from './ops/activations.js';
import { embeddingLookup } from './ops/embedding.js';
import { Prng } from './prng.js';
import { tf } from './tf.js';

/** Outcome of one stage of {@link selfCheck}. */
export interface SelfCheckStage {
  stage: string;
  detail: string;
  durationMs: number;
}

/** Result of a passed {@link selfCheck}. */
export interface SelfCheckReport {
  backend: BackendInfo;
  stages: SelfCheckStage[];
  durationMs: number;
}

/** Tolerance of the finite-difference checks, relative to the gradient norm. */
const FINITE_DIFFERENCE_TOLERANCE = 1e-2;

const CHECK_CONFIG: Partial<DataRaterConfig> = {
  sequenceLength: 12,
  raterWidth: 6,
  raterBlocks: 1,
  raterKernelSize: 3,
  innerContext: 3,
  innerEmbeddingSize: 4,
  innerHidden: 8,
  innerOptimizer: 'sgd',
  innerLearningRate: 1,
  unrollSteps: 2,
  workers: 1,
};

const CHECK_TEXTS = [
  'hello world',
  'zzzzzzzzzzzz',
  'the cat sat',
  '12345 6789',
  '',
  '\u00e9t\u00e9 \u4e2d',
];

/**
 * Checks `backend`, or the active backend when none is given (wasm when none is active), and
 * returns what each stage measured. Throws an `MlError` with code `SELF_CHECK_FAILED` whose
 * message names the backend, the failing stage and the values that were wrong.
 */
export async function selfCheck(options: { backend?: BackendName } = {}): Promise<SelfCheckReport> {
  const backend = await resolveBackend(options.backend);
  const started = performance.now();
  const config = validateConfig({ ...CHECK_CONFIG, backend: backend.requested });
  const stages: SelfCheckStage[] = [];
  const before = tf.memory().numTensors;

  const run = (stage: string, check: () => string): void => {
    const stageStart = performance.now();
    let detail: string;
    try {
      detail = check();
    } catch (error) {
      const reason =
        error instanceof SelfCheckFailure ? error.message : `it threw: ${(error as Error).message}`;
      throw new MlError(
        'SELF_CHECK_FAILED',
        `selfCheck: backend "${backend.name}" failed stage "${stage}": ${reason}. ` +
          'Choose another backend (for example "cpu") or report the failing op.',
      );
    }
    stages.push({ stage, detail, durationMs: performance.now() - stageStart });
  };

  run('second derivative of exp/sigmoid (gelu)', checkSecondDerivative);
  run('embedding gather and scatter gradient', checkEmbeddingGradient);

  const prng = new Prng(1);
  const raterSpecs = raterParamSpecs(config);
  const rater = initParams(raterSpecs, prng);
  rater[rater.length - 2] = rater[rater.length - 2]!.map(() => prng.nextNormal());
  const innerSpecs = innerParamSpecs(config);
  const inner = initParams(innerSpecs, prng);
  const batches = [0, 2, 3].map((offset) =>
    batchToTensors(
      featurize(
        CHECK_TEXTS.map((_, i) => CHECK_TEXTS[(i + offset) % CHECK_TEXTS.length]!),
        12,
      ),
    ),
  );
  try {
    run('rater forward', () => checkRaterForward(config, raterSpecs, rater, batches[0]!));
    run('inner model forward', () => checkInnerForward(config, innerSpecs, inner, batches[0]!));
    run('rater backward', () => checkRaterBackward(config, raterSpecs, rater, batches[0]!, prng));
    run('meta-gradient (double backward)', () =>
      checkMetaGradient(config, raterSpecs, rater, innerSpecs, inner, batches, prng),
    );
  } finally {
    batches.forEach(disposeBatch);
  }
  run('tensor leaks', () => {
    const leaked = tf.memory().numTensors - before;
    ensure(leaked === 0, `${leaked} tensors were not disposed`);
    return 'none';
  });
  return { backend, stages, durationMs: performance.now() - started };
}

class SelfCheckFailure extends Error {}

function ensure(condition: boolean, message: string): void {
  if (!condition) {
    throw new SelfCheckFailure(message);
  }
}

function checkSecondDerivative(): string {
  // d²/dx² x·sigmoid(1.702x) at x = 2; tfjs's own sigmoid gradient gives about 0.118 here.
  const s = 1.702;
  const sig = 1 / (1 + Math.exp(-s * 2));
  const expected = 2 * s * sig * (1 - sig) + 2 * s * s * sig * (1 - sig) * (1 - 2 * sig);
  const second = tf.grad((x: tf.Tensor) => tf.sum(tf.grad((y: tf.Tensor) => gelu(y))(x)));
  const result = tf.tidy(() => second(tf.scalar(2)));
  const got = result.dataSync()[0]!;
  result.dispose();
  ensure(Math.abs(got - expected) < 1e-4, `got ${got}, expected ${expected.toFixed(6)}`);
  return `${got.toFixed(6)} (expected ${expected.toFixed(6)})`;
}

function checkEmbeddingGradient(): string {
  const gradient = tf.tidy(() => {
    const table = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const ids = tf.tensor1d([2, 0, 2, 2], 'int32');
    return tf.grad((t: tf.Tensor) => tf.sum(tf.square(embeddingLookup(t as tf.Tensor2D, ids))))(
      table,
    );
  });
  const got = Array.from(gradient.dataSync());
  gradient.dispose();
  const expected = [2, 4, 0, 0, 30, 36];
  ensure(
    got.every((value, i) => Math.abs(value - expected[i]!) < 1e-5),
    `got [${got}], expected [${expected}]`,
  );
  return 'exact';
}

function checkRaterForward(
  config: DataRaterConfig,
  specs: ParamSpec[],
  rater: Float32Array[],
  batch: BatchTensors,
): string {
  const scores = readTensor(() =>
    raterScores(config, paramsToTensors(specs, rater), batch.ids, batch.mask),
  );
  ensure(scores.every(Number.isFinite), `non-finite scores [${scores}]`);
  return `scores [${Array.from(scores, (s) => s.toFixed(3)).join(', ')}]`;
}

function checkInnerForward(
  config: DataRaterConfig,
  specs: ParamSpec[],
  inner: Float32Array[],
  batch: BatchTensors,
): string {
  const losses = readTensor(() => innerExampleLosses(config, paramsToTensors(specs, inner), batch));
  ensure(losses.every(Number.isFinite), `non-finite losses [${losses}]`);
  // A fresh byte model is close to uniform over 256 values; the empty text has loss 0.
  ensure(
    losses.every((loss) => loss === 0 || (loss > 3 && loss < 9)),
    `implausible losses [${losses}] (ln 256 ≈ 5.5)`,
  );
  return `losses [${Array.from(losses, (l) => l.toFixed(3)).join(', ')}]`;
}

function checkRaterBackward(
  config: DataRaterConfig,
  specs: ParamSpec[],
  rater: Float32Array[],
  batch: BatchTensors,
  prng: Prng,
): string {
  const weights = tf.tensor1d([0.3, -1, 0.7, 2, -0.4, 1.1]);
  try {
    const objective = (params: readonly tf.Tensor[]): tf.Scalar =>
      tf.sum(tf.mul(raterScores(config, params, batch.ids, batch.mask), weights));
    return compareWithFiniteDifferences(specs, rater, objective, prng);
  } finally {
    weights.dispose();
  }
}

function checkMetaGradient(
  config: DataRaterConfig,
  raterSpecs: ParamSpec[],
  rater: Float32Array[],
  innerSpecs: ParamSpec[],
  inner: Float32Array[],
  batches: BatchTensors[],
  prng: Prng,
): string {
  const problem = createProblem(config);
  const state: InnerTensors = {
    params: paramsToTensors(innerSpecs, inner),
    m: null,
    v: null,
    step: 0,
  };
  const train = [batches[1]!, batches[2]!];
  const heldout = batches[0]!;
  try {
    const objective = (params: readonly tf.Tensor[]): tf.Scalar =>
      unroll(problem, params, state, train, heldout).outerLoss;
    const gradient = (params: readonly tf.Tensor[]): tf.Tensor[] => {
      const output = metaGradient(problem, params, state, train, heldout);
      const grads = output.grads.map((g) => tf.clone(g));
      disposeMetaGradient(output);
      return grads;
    };
    return compareWithFiniteDifferences(raterSpecs, rater, objective, prng, gradient);
  } finally {
    disposeInner(state);
  }
}

/**
 * Compares the autodiff directional derivative of `objective` along a random unit direction with
 * a Richardson-extrapolated central difference (steps 0.1 and 0.05).
 */
function compareWithFiniteDifferences(
  specs: ParamSpec[],
  point: Float32Array[],
  objective: (params: readonly tf.Tensor[]) => tf.Scalar,
  prng: Prng,
  gradientOf?: (params: readonly tf.Tensor[]) => tf.Tensor[],
): string {
  const params = paramsToTensors(specs, point);
  const gradTensors = gradientOf
    ? gradientOf(params)
    : tf.tidy(() => tf.grads((...p: tf.Tensor[]) => objective(p))([...params]));
  const grads = gradTensors.map((g) => Float32Array.from(g.dataSync()));
  tf.dispose([...params, ...gradTensors]);
  ensure(
    grads.every((g) => g.every(Number.isFinite)),
    'the gradient has non-finite values',
  );

  const direction = point.map((values) => values.map(() => prng.nextNormal()));
  const norm = Math.sqrt(direction.reduce((sum, d) => sum + d.reduce((s, x) => s + x * x, 0), 0));
  const analytic = grads.reduce(
    (sum, g, i) => sum + g.reduce((s, x, j) => s + (x * direction[i]![j]!) / norm, 0),
    0,
  );
  const gradientNorm = Math.sqrt(
    grads.reduce((sum, g) => sum + g.reduce((s, x) => s + x * x, 0), 0),
  );
  ensure(gradientNorm > 0, 'the gradient is exactly zero');

  const valueAt = (step: number): number => {
    const shifted = paramsToTensors(
      specs,
      point.map((values, i) => values.map((x, j) => x + (step * direction[i]![j]!) / norm)),
    );
    const value = readTensor(() => objective(shifted))[0]!;
    tf.dispose(shifted);
    return value;
  };
  const difference = (h: number): number => (valueAt(h) - valueAt(-h)) / (2 * h);
  const numeric = (4 * difference(0.05) - difference(0.1)) / 3;
  const error = Math.abs(numeric - analytic) / gradientNorm;
  ensure(
    error < FINITE_DIFFERENCE_TOLERANCE,
    `directional derivative ${analytic.toExponential(4)} vs finite difference ${numeric.toExponential(4)} ` +
      `(error ${error.toExponential(2)} of the gradient norm, limit ${FINITE_DIFFERENCE_TOLERANCE})`,
  );
  return `directional derivative ${analytic.toExponential(4)}, finite difference ${numeric.toExponential(4)}`;
}

function readTensor(compute: () => tf.Tensor): Float32Array {
  const result = tf.tidy(compute);
  const values = Float32Array.from(result.dataSync() as Float32Array);
  result.dispose();
  return values;
}
