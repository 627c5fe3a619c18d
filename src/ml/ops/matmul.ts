/**
 * 2-D matrix product whose gradients use only untransposed matMuls.
 *
 * tfjs's own MatMul gradient calls `matMul` with `transposeA` or `transposeB`, and the wasm
 * backend (tfjs-backend-wasm 4.22) runs those through a slow path: measured on a 2-core EPYC,
 * [8192, 64]ᵀ × [8192, 256] took 347 ms against 26 ms for the untransposed product of the same
 * size. The wasm product also repacks its right operand on every call, which costs about as much
 * as the product itself when that operand is large ([64, 8192] × [8192, 256]: 99 ms, against
 * 26 ms for [256, 8192] × [8192, 64]). So the backward pass transposes explicitly, keeps the larger
 * factor on the left, and calls this op again: derivatives of every order stay on the fast path
 * and stay exact, because the gradient is linear in dy, a and b.
 */
import { tf } from '../tf.js';

type GradientFunction = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

const product = tf.customGrad((...args: unknown[]) => {
  const a = args[0] as tf.Tensor2D;
  const b = args[1] as tf.Tensor2D;
  const save = args[2] as tf.GradSaveFunc;
  save([a, b]);
  const gradFunc: GradientFunction = (dy, saved) => {
    const [savedA, savedB] = saved as [tf.Tensor2D, tf.Tensor2D];
    return [
      matMul(dy as tf.Tensor2D, tf.transpose(savedB)), // [N, I]
      transposedProduct(savedA, dy as tf.Tensor2D), // [I, O]
    ];
  };
  return { value: tf.matMul(a, b), gradFunc };
});

/**
 * aᵀ · dy for a [N, I] and dy [N, O], computed as (dyᵀ · a)ᵀ when that packs the smaller
 * right operand.
 */
function transposedProduct(a: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
  const inputs = a.shape[1];
  const outputs = dy.shape[1];
  if (outputs <= inputs) {
    return matMul(tf.transpose(a), dy);
  }
  return tf.transpose(matMul(tf.transpose(dy), a));
}

/**
 * a · b.
 *
 * @param a float32 [N, I]
 * @param b float32 [I, O]
 * @returns float32 [N, O]
 */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0]) {
    throw new Error(`matMul: needs [N, I] and [I, O], got [${a.shape}] and [${b.shape}]`);
  }
  return product(a, b) as tf.Tensor2D;
}
