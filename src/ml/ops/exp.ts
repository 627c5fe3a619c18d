/**
 * `exp`, `stopGradient` and `constantMax`, the primitives the rest of the second-order-safe op set
 * is built from.
 *
 * Why `exp` needs its own gradient: in tfjs-core 4.22 the gradient of the `Exp` kernel multiplies
 * by the op's saved *output*. The engine puts the tape node of that saved copy before the op's own
 * node, so a second backward pass visits the op before any gradient has come back through the
 * copy, and that gradient is lost: `tf.grad` of a `tf.grad` of `tf.exp` either throws "Cannot
 * compute gradient" or silently drops terms. The same holds for `Sigmoid`, `Tanh`, `Elu`, `Softmax`
 * and `LogSoftmax`. Saved *inputs* work, so this `exp` takes its derivative through its input x:
 * d exp(x) = dy · exp(x), where the second factor is again this op (given the value it already
 * computed, so nothing is recomputed). Every order of derivative stays on the tape.
 */
import { tf } from '../tf.js';

type GradientFunction = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

const safeExp = tf.customGrad((...args: unknown[]) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const value = tf.exp(x);
  save([x, value]);
  const gradFunc: GradientFunction = (dy, saved) =>
    tf.mul(dy, expOfKnownValue(saved[0]!, saved[1]!));
  return { value, gradFunc };
});

const knownExp = tf.customGrad((...args: unknown[]) => {
  const x = args[0] as tf.Tensor;
  const value = args[1] as tf.Tensor;
  const save = args[2] as tf.GradSaveFunc;
  save([x, value]);
  const gradFunc: GradientFunction = (dy, saved) => [
    tf.mul(dy, expOfKnownValue(saved[0]!, saved[1]!)),
    // The value is a constant here: all of its dependence on x flows through the first input.
    tf.zerosLike(saved[1]!),
  ];
  return { value: tf.clone(value), gradFunc };
});

/** Elementwise e^x, any shape, float32; derivatives of every order are exact. */
export function exp<T extends tf.Tensor>(x: T): T {
  return safeExp(x) as T;
}

/**
 * e^x where `value` already holds e^x (computed without a gradient): returns a copy of `value`
 * whose derivatives with respect to `x` are those of {@link exp}. Saves recomputing e^x in
 * gradients.
 */
export function expOfKnownValue<T extends tf.Tensor>(x: T, value: tf.Tensor): T {
  return knownExp(x, value) as T;
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
