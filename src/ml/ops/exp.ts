/**
 * `exp` and `stopGradient`, the two primitives the rest of the second-order-safe op set is built
 * from.
 *
 * Why `exp` needs its own gradient: in tfjs-core 4.22 the gradient of the `Exp` kernel multiplies
 * by the op's saved *output*. The engine records that saved copy on the tape after the op node, so
 * a second backward pass never routes gradient through it: `tf.grad` of a `tf.grad` of `tf.exp`
 * either throws "Cannot compute gradient" or silently drops terms. The same holds for `Sigmoid`,
 * `Tanh`, `Elu`, `Softmax` and `LogSoftmax`. Saved *inputs* are recorded before the op node and
 * work, so this `exp` saves its input and computes its gradient by calling itself again: every
 * order of derivative stays on the tape.
 */
import { tf } from '../tf.js';

type GradientFunction = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

const safeExp = tf.customGrad((...args: unknown[]) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  save([x]);
  const gradFunc: GradientFunction = (dy, saved) => tf.mul(dy, exp(saved[0]!));
  return { value: tf.exp(x), gradFunc };
});

/** Elementwise e^x, any shape, float32; derivatives of every order are exact. */
export function exp<T extends tf.Tensor>(x: T): T {
  return safeExp(x) as T;
}

/**
 * Returns `x` unchanged but with a zero gradient, so `x` is a constant to every `tf.grad` above
 * it.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const shape = x.shape;
  const constant = tf.customGrad((...args: unknown[]) => {
    const input = args[0] as tf.Tensor;
    const gradFunc: GradientFunction = () => tf.zeros(shape);
    return { value: tf.clone(input), gradFunc };
  });
  return constant(x) as T;
}

/**
 * Returns the max of `x` along `axis` (kept with size 1) as a constant: the max is computed inside
 * the custom op, so no `Max` node, with its tie-sharing gradient, ever reaches the tape.
 */
export function constantMax(x: tf.Tensor, axis: number): tf.Tensor {
  const shape = x.shape;
  const constant = tf.customGrad((...args: unknown[]) => {
    const input = args[0] as tf.Tensor;
    const gradFunc: GradientFunction = () => tf.zeros(shape);
    return { value: tf.max(input, axis, true), gradFunc };
  });
  return constant(x);
}
