/**
 * The second-order-safe op set: every op on the meta-gradient path comes from here or is a tfjs
 * op whose gradient is built from its inputs (add, sub, mul, div, matMul, sum, mean, square, log,
 * log1p, sqrt, relu, abs, reshape, slice, concat, pad, gather through `embeddingLookup`).
 */
export { constantMax, exp, expOfKnownValue, stopGradient } from './exp.js';
export {
  activate,
  gelu,
  logSigmoid,
  sigmoid,
  softplus,
  tanh,
  type ActivationName,
} from './activations.js';
export { logSoftmax, logSumExp, softmax, softmaxCrossEntropy } from './softmax.js';
export { logMeanExpPool } from './pooling.js';
export { embeddingLookup } from './embedding.js';
export { matMul } from './matmul.js';
export { oneHotFloat } from './one-hot.js';
