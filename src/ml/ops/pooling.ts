/**
 * Masked log-mean-exp pooling over the positions of a sequence: a smooth maximum.
 *
 * Max-pooling is avoided on purpose: `tf.max` sends the full upstream gradient to every tied
 * element, and byte windows repeat often, which made rater gradients several times too large.
 */
import { tf } from '../tf.js';
import { constantMax, exp } from './exp.js';

/** Value added to masked positions before the max, and their shifted value before `exp`. */
const MASKED_OFFSET = 1e9;
const MASKED_SHIFTED_VALUE = -80;

/**
 * τ · log( Σ_l mask[b, l] · e^(x[b, l, c] / τ) / Σ_l mask[b, l] ) for every batch row b and
 * channel c. As τ → 0 it tends to the masked max, as τ → ∞ to the masked mean.
 *
 * @param x float32 [B, L, C]
 * @param mask float32 [B, L] of 0 and 1; every row needs at least one 1
 * @param temperature τ > 0
 * @returns float32 [B, C]
 */
export function logMeanExpPool(x: tf.Tensor3D, mask: tf.Tensor2D, temperature = 1): tf.Tensor2D {
  const [batch, length] = x.shape;
  if (x.rank !== 3 || mask.rank !== 2 || mask.shape[0] !== batch || mask.shape[1] !== length) {
    throw new Error(
      `logMeanExpPool: x must be [B, L, C] and mask [B, L], got [${x.shape}] and [${mask.shape}]`,
    );
  }
  const mask3 = tf.expandDims(mask, 2); // [B, L, 1]
  const scaled = tf.div(x, temperature); // [B, L, C]

  // Shift by the masked max (a constant) so exp never overflows.
  const excluded = tf.mul(tf.sub(mask3, 1), MASKED_OFFSET); // 0 where kept, -1e9 where masked
  const shift = constantMax(tf.add(scaled, excluded), 1); // [B, 1, C]

  // Masked positions get a fixed shifted value, so their exp is tiny and their gradient exactly 0.
  const shifted = tf.add(
    tf.mul(tf.sub(scaled, shift), mask3),
    tf.mul(tf.sub(1, mask3), MASKED_SHIFTED_VALUE),
  );
  const sum = tf.sum(tf.mul(exp(shifted), mask3), 1); // [B, C]
  const count = tf.sum(mask3, 1); // [B, 1]
  const pooled = tf.add(tf.log(tf.div(sum, count)), tf.squeeze(shift, [1])); // [B, C]
  return tf.mul(pooled, temperature) as tf.Tensor2D;
}
