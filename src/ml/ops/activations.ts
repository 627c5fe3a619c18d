/**
 * Elementwise activations whose derivatives of every order are exact under nested `tf.grad`
 * (see `exp.ts` for why `tf.sigmoid`, `tf.tanh` and `tf.elu` are not). All take and return
 * float32 tensors of any shape.
 */
import { tf } from '../tf.js';
import { exp } from './exp.js';

/**
 * log(1 + e^x), computed as relu(x) + log1p(e^-|x|) so it never overflows. tfjs's relu and abs
 * gradients at exactly 0 (0 and -1) combine to the correct slope 1/2 there.
 */
export function softplus<T extends tf.Tensor>(x: T): T {
  return tf.add(tf.relu(x), tf.log1p(exp(tf.neg(tf.abs(x))))) as T;
}

/** 1 / (1 + e^-x), as exp(-softplus(-x)) so it neither overflows nor loses derivatives. */
export function sigmoid<T extends tf.Tensor>(x: T): T {
  return exp(tf.neg(softplus(tf.neg(x)))) as T;
}

/** log(sigmoid(x)) = -softplus(-x). */
export function logSigmoid<T extends tf.Tensor>(x: T): T {
  return tf.neg(softplus(tf.neg(x))) as T;
}

/** Hyperbolic tangent, as 2·sigmoid(2x) - 1. */
export function tanh<T extends tf.Tensor>(x: T): T {
  return tf.sub(tf.mul(sigmoid(tf.mul(x, 2)), 2), 1) as T;
}

/** GELU in its sigmoid form x·sigmoid(1.702x) (Hendrycks and Gimpel, 2016): smooth everywhere. */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, sigmoid(tf.mul(x, 1.702))) as T;
}

/** Activation names accepted by the config fields `raterActivation` and `innerActivation`. */
export type ActivationName = 'gelu' | 'relu' | 'tanh';

/**
 * Applies a named activation. `relu` is exact too (its gradient is built from its input and its
 * second derivative is zero), but its kinks make finite-difference checks noisy; `gelu` is smooth.
 */
export function activate<T extends tf.Tensor>(name: ActivationName, x: T): T {
  switch (name) {
    case 'gelu':
      return gelu(x);
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tanh(x);
    default: {
      const unknown: never = name;
      throw new Error(`activate: unknown activation ${JSON.stringify(unknown)}`);
    }
  }
}
