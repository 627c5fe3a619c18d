/**
 * The differentiable core of meta-training: T weighted inner updates, the outer loss after them,
 * and its gradient with respect to the rater's parameters (the meta-gradient).
 *
 * For inner step t with training batch B_t:
 *   w = softmax(φ_η(B_t) / temperature)          weights of the batch, summing to 1
 *   g_t = ∇_θ Σ_i w_i ℓ(x_i; θ_t)                  nested tf.grads, recorded on the outer tape
 *   θ_{t+1}, s_{t+1} = Θ(θ_t, s_t, g_t)            differentiable SGD or Adam
 * and the outer loss is the mean inner loss of θ_T on the held-out batch. The meta-gradient is
 * d(outer loss)/dη back through all T updates, which needs exact second derivatives of every op
 * in the inner model: hence the safe op set in `ops/`.
 */
import type { BatchTensors } from '../featurize.js';
import { softmax } from '../ops/softmax.js';
import { tf } from '../tf.js';
import { innerUpdate, type InnerOptimizerSettings, type InnerTensors } from './inner-optimizer.js';

/** The pieces of one meta-learning problem: a scorer, an inner loss and an inner optimiser. */
export interface UnrollProblem {
  /** Scores of a batch: float32 [B] from rater parameters. */
  scores(rater: readonly tf.Tensor[], batch: BatchTensors): tf.Tensor1D;
  /** Per-example inner losses: float32 [B] from inner parameters. */
  exampleLosses(inner: readonly tf.Tensor[], batch: BatchTensors): tf.Tensor1D;
  /** Inner optimiser. */
  optimizer: InnerOptimizerSettings;
  /** Softmax temperature applied to the scores. */
  temperature: number;
}

/** Result of {@link unroll}. */
export interface UnrollOutput {
  /** Mean inner loss of θ_T on the held-out batch: float32 scalar. */
  outerLoss: tf.Scalar;
  /** θ_T and the optimiser state after the T updates. */
  final: InnerTensors;
  /** Effective sample size 1/Σw² of each inner step's weights: float32 [T]. */
  ess: tf.Tensor1D;
}

/**
 * Runs `train.length` weighted inner updates from `inner` and evaluates the outer loss on
 * `heldout`. Inside a `tf.grads` over `rater` every step is on the tape; outside it is a plain
 * (first-order) weighted training run.
 */
export function unroll(
  problem: UnrollProblem,
  rater: readonly tf.Tensor[],
  inner: InnerTensors,
  train: readonly BatchTensors[],
  heldout: BatchTensors,
): UnrollOutput {
  let state = inner;
  const essValues: tf.Scalar[] = [];
  for (const batch of train) {
    const scores = problem.scores(rater, batch); // [B]
    const weights = softmax(tf.div(scores, problem.temperature)); // [B]
    essValues.push(tf.div(1, tf.sum(tf.square(weights))));

    const weightedLoss = (...params: tf.Tensor[]): tf.Scalar =>
      tf.sum(tf.mul(weights, problem.exampleLosses(params, batch)));
    const grads = tf.grads(weightedLoss)(state.params);
    state = innerUpdate(problem.optimizer, state, grads);
  }
  const outerLoss = tf.mean(problem.exampleLosses(state.params, heldout)) as tf.Scalar;
  const ess = essValues.length > 0 ? (tf.stack(essValues) as tf.Tensor1D) : tf.tensor1d([]);
  return { outerLoss, final: state, ess };
}

/** Result of {@link metaGradient}; every tensor belongs to the caller, who must dispose it. */
export interface MetaGradientOutput extends UnrollOutput {
  /** d(outer loss)/dη, one tensor per rater parameter, same shapes. */
  grads: tf.Tensor[];
}

/**
 * Computes the outer loss after the unroll and its exact gradient with respect to `rater`.
 * The returned tensors survive enclosing `tf.tidy` calls; dispose them with
 * {@link disposeMetaGradient}.
 */
export function metaGradient(
  problem: UnrollProblem,
  rater: readonly tf.Tensor[],
  inner: InnerTensors,
  train: readonly BatchTensors[],
  heldout: BatchTensors,
): MetaGradientOutput {
  let keptOutput: Pick<UnrollOutput, 'final' | 'ess'> | null = null;
  const outerLossOf = (...raterParams: tf.Tensor[]): tf.Scalar => {
    const output = unroll(problem, raterParams, inner, train, heldout);
    // These outlive the gradient computation's tidy scopes, so keep them for the caller.
    keptOutput = { final: keepInner(output.final), ess: tf.keep(output.ess) };
    return output.outerLoss;
  };
  const { value, grads } = tf.valueAndGrads(outerLossOf)([...rater]);
  const { final, ess } = keptOutput as unknown as Pick<UnrollOutput, 'final' | 'ess'>;
  return { outerLoss: value as tf.Scalar, grads, final, ess };
}

/** Disposes every tensor of a {@link MetaGradientOutput}. */
export function disposeMetaGradient(output: MetaGradientOutput): void {
  tf.dispose([output.outerLoss, output.ess, ...output.grads]);
  disposeInner(output.final);
}

/** Disposes the tensors of an inner state. */
export function disposeInner(state: InnerTensors): void {
  tf.dispose([...state.params, ...(state.m ?? []), ...(state.v ?? [])]);
}

function keepInner(state: InnerTensors): InnerTensors {
  return {
    params: state.params.map((t) => tf.keep(t)),
    m: state.m?.map((t) => tf.keep(t)) ?? null,
    v: state.v?.map((t) => tf.keep(t)) ?? null,
    step: state.step,
  };
}
