/**
 * The inner models' optimisers, written with differentiable tensor ops so the meta-gradient
 * flows through every update. Only ops with input-built gradients are used (mul, add, div,
 * square, sqrt), so second derivatives are exact.
 */
import type { DataRaterConfig } from '../config.js';
import { tf } from '../tf.js';

/** Settings of an inner optimiser. */
export type InnerOptimizerSettings = Pick<
  DataRaterConfig,
  'innerOptimizer' | 'innerLearningRate' | 'innerAdamBeta1' | 'innerAdamBeta2' | 'innerAdamEpsilon'
>;

/** An inner model's parameters and optimiser state as tensors (m and v only for Adam). */
export interface InnerTensors {
  params: tf.Tensor[];
  /** Adam first moments, one per parameter, or null for SGD. */
  m: tf.Tensor[] | null;
  /** Adam second moments, one per parameter, or null for SGD. */
  v: tf.Tensor[] | null;
  /** Updates applied so far (Adam's t). */
  step: number;
}

/**
 * Applies one update θ' = Θ(θ, s, g).
 *
 * - SGD: θ' = θ - lr·g.
 * - Adam: m' = β1·m + (1-β1)·g, v' = β2·v + (1-β2)·g², θ' = θ - lr·m̂ / sqrt(v̂ + ε²) with the
 *   bias-corrected m̂, v̂. ε sits inside the square root (unlike textbook Adam's sqrt(v̂) + ε) so
 *   the update stays differentiable where v̂ = 0, for example at embedding rows of bytes that
 *   never occurred; elsewhere the two differ by less than ε.
 *
 * Returns new tensors; the inputs are not disposed.
 */
export function innerUpdate(
  settings: InnerOptimizerSettings,
  state: InnerTensors,
  grads: readonly tf.Tensor[],
): InnerTensors {
  if (grads.length !== state.params.length) {
    throw new Error(`innerUpdate: expected ${state.params.length} gradients, got ${grads.length}`);
  }
  const lr = settings.innerLearningRate;
  if (settings.innerOptimizer === 'sgd') {
    const params = state.params.map((theta, i) => tf.sub(theta, tf.mul(grads[i]!, lr)));
    return { params, m: null, v: null, step: state.step + 1 };
  }

  const { innerAdamBeta1: beta1, innerAdamBeta2: beta2, innerAdamEpsilon: epsilon } = settings;
  const step = state.step + 1;
  const correction1 = 1 - beta1 ** step;
  const correction2 = 1 - beta2 ** step;
  const m: tf.Tensor[] = [];
  const v: tf.Tensor[] = [];
  const params = state.params.map((theta, i) => {
    const g = grads[i]!;
    const previousM = state.m?.[i] ?? tf.zerosLike(theta);
    const previousV = state.v?.[i] ?? tf.zerosLike(theta);
    const nextM = tf.add(tf.mul(previousM, beta1), tf.mul(g, 1 - beta1));
    const nextV = tf.add(tf.mul(previousV, beta2), tf.mul(tf.square(g), 1 - beta2));
    m.push(nextM);
    v.push(nextV);
    const denominator = tf.sqrt(tf.add(tf.div(nextV, correction2), epsilon * epsilon));
    return tf.sub(theta, tf.mul(tf.div(tf.div(nextM, correction1), denominator), lr));
  });
  return { params, m, v, step };
}
