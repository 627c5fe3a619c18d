/**
 * The single entry point to TensorFlow.js for `src/ml`.
 *
 * The Node bundle of `@tensorflow/tfjs-core` 4.22 registers no gradient functions, so `tf.grad`
 * fails with "gradient function not found" for every kernel. Importing the `@tensorflow/tfjs`
 * union bundle registers them (it shares the one `tfjs-core` instance through `require`).
 * Modules of `src/ml` import `tf` from here and never from the packages directly.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';

export { tf };
