/**
 * Log-sum-exp, softmax, log-softmax and softmax cross-entropy built on the safe `exp`, with the
 * max shift taken through `constantMax`: the shift cancels out of every result, so treating it
 * as a constant changes no derivative, and `tf.max`'s tie-sharing gradient never enters.
 */
import { tf } from '../tf.js';
import { constantMax, exp, expOfKnownValue } from './exp.js';

type GradientFunction = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/**
 * log Σ e^x along `axis` (default last). Float32, any rank; the reduced axis is kept with size 1
 * when `keepDims` is true.
 */
export function logSumExp(x: tf.Tensor, axis = -1, keepDims = false): tf.Tensor {
  const shift = constantMax(x, axis);
  const sum = tf.sum(exp(tf.sub(x, shift)), axis, true);
  const result = tf.add(tf.log(sum), shift);
  return keepDims ? result : tf.squeeze(result, [normalizeAxis(axis, x.rank)]);
}

/** x - logSumExp(x) along `axis` (default last); same shape as `x`. */
export function logSoftmax<T extends tf.Tensor>(x: T, axis = -1): T {
  return tf.sub(x, logSumExp(x, axis, true)) as T;
}

/** e^x / Σ e^x along `axis` (default last); same shape as `x`, sums to 1 along `axis`. */
export function softmax<T extends tf.Tensor>(x: T, axis = -1): T {
  const shifted = exp(tf.sub(x, constantMax(x, axis)));
  return tf.div(shifted, tf.sum(shifted, axis, true)) as T;
}

/**
 * One fused op, so the forward pass records a single tape node and keeps no [N, C] intermediates;
 * its gradient (softmax(x)·Σy - y) is built from the safe softmax, so it is exact at every order.
 */
const fusedCrossEntropy = tf.customGrad((...args: unknown[]) => {
  const logits = args[0] as tf.Tensor2D;
  const labels = args[1] as tf.Tensor2D;
  const save = args[2] as tf.GradSaveFunc;

  // Forward pass with plain ops: nothing here is on the tape.
  const shift = tf.max(logits, -1, true); // [N, 1]
  const exponentials = tf.exp(tf.sub(logits, shift)); // [N, C]
  const lse = tf.add(tf.log(tf.sum(exponentials, -1)), tf.squeeze(shift, [1])); // [N]
  const loss = tf.sub(tf.mul(lse, tf.sum(labels, -1)), tf.sum(tf.mul(labels, logits), -1)); // [N]
  save([logits, labels, shift, exponentials]);

  const gradFunc: GradientFunction = (dy, saved) => {
    const [x, y, savedShift, savedExponentials] = saved as [
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
    ];
    // softmax(x), differentiable in x, reusing the forward pass's exponentials.
    const shifted = expOfKnownValue(tf.sub(x, savedShift), savedExponentials); // [N, C]
    const probabilities = tf.div(shifted, tf.sum(shifted, -1, true)); // [N, C]
    const upstream = tf.expandDims(dy, 1); // [N, 1]
    const dLogits = tf.mul(upstream, tf.sub(tf.mul(probabilities, tf.sum(y, -1, true)), y)); // [N, C]
    return [dLogits, tf.zerosLike(y)];
  };
  return { value: loss, gradFunc };
});

/**
 * Cross-entropy -Σ_c labels[n, c] · log softmax(logits[n])_c per row. Labels are constants: no
 * gradient flows to them.
 *
 * @param logits float32 [N, C]
 * @param labels float32 [N, C], one-hot or any distribution; an all-zero row gives loss 0
 * @returns float32 [N]
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor2D): tf.Tensor1D {
  if (logits.rank !== 2 || labels.rank !== 2 || !sameShape(logits.shape, labels.shape)) {
    throw new Error(
      `softmaxCrossEntropy: logits and labels must both be [N, C], got [${logits.shape}] and [${labels.shape}]`,
    );
  }
  return fusedCrossEntropy(logits, labels) as tf.Tensor1D;
}

function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}
