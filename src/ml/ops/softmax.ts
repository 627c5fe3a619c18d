/**
 * Log-sum-exp, softmax, log-softmax and softmax cross-entropy built on the safe `exp`, with the
 * max shift taken through `constantMax`: the shift cancels out of every result, so treating it
 * as a constant changes no derivative, and `tf.max`'s tie-sharing gradient never enters.
 */
import { tf } from '../tf.js';
import { constantMax, exp } from './exp.js';

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
  return exp(logSoftmax(x, axis));
}

/**
 * Cross-entropy -Σ_c labels[n, c] · log softmax(logits[n])_c per row.
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
  // -Σ y·(x - lse) = lse·Σy - Σ y·x, which avoids materializing the log-softmax.
  const lse = logSumExp(logits, -1);
  return tf.sub(tf.mul(lse, tf.sum(labels, -1)), tf.sum(tf.mul(labels, logits), -1)) as tf.Tensor1D;
}

function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}
