/**
 * The DataRater network φ_η: one real score per example, non-causal over the example's bytes.
 *
 *   ids [B, L] → byte embedding [B, L, W] → raterBlocks × (x + act(conv_K(x))) · mask
 *     → log-mean-exp pooling over positions [B, W] → linear head → score [B]
 *
 * Pooling is smooth on purpose (max-pooling's tie gradient made rater gradients wrong).
 */
import type { DataRaterConfig } from '../config.js';
import { VOCAB_SIZE } from '../featurize.js';
import { activate, type ActivationName } from '../ops/activations.js';
import { embeddingLookup } from '../ops/embedding.js';
import { logMeanExpPool } from '../ops/pooling.js';
import { tf } from '../tf.js';
import { checkBatchShape, conv1dSame, dense } from './layers.js';
import { byName, param, type ParamSpec } from './params.js';

/** Config fields that define the rater's architecture. */
export type RaterArchitecture = Pick<
  DataRaterConfig,
  | 'sequenceLength'
  | 'raterWidth'
  | 'raterBlocks'
  | 'raterKernelSize'
  | 'raterActivation'
  | 'raterPoolTemperature'
>;

/** Config fields of {@link RaterArchitecture}, for copying them out of a full config. */
export const RATER_ARCHITECTURE_FIELDS = [
  'sequenceLength',
  'raterWidth',
  'raterBlocks',
  'raterKernelSize',
  'raterActivation',
  'raterPoolTemperature',
] as const satisfies readonly (keyof RaterArchitecture)[];

/** Parameter specs of the rater, in the order every rater parameter list uses. */
export function raterParamSpecs(config: RaterArchitecture): ParamSpec[] {
  const width = config.raterWidth;
  const fanIn = config.raterKernelSize * width;
  const specs: ParamSpec[] = [
    { name: 'embedding', shape: [VOCAB_SIZE, width], init: { kind: 'normal', std: 1 } },
  ];
  for (let block = 0; block < config.raterBlocks; block++) {
    specs.push(
      {
        name: `block${block}.kernel`,
        shape: [fanIn, width],
        init: { kind: 'normal', std: 1 / Math.sqrt(fanIn) },
      },
      { name: `block${block}.bias`, shape: [width], init: { kind: 'zeros' } },
    );
  }
  // A small head keeps the first scores close together, so early weights are near uniform.
  specs.push(
    {
      name: 'head.kernel',
      shape: [width, 1],
      init: { kind: 'normal', std: 0.1 / Math.sqrt(width) },
    },
    { name: 'head.bias', shape: [1], init: { kind: 'zeros' } },
  );
  return specs;
}

/**
 * How the rater is evaluated: `differentiable` (the default) uses only second-order-safe ops and
 * is what meta-training differentiates; `inference` uses faster fused kernels (tf.conv1d,
 * tf.sigmoid) that must not be differentiated twice. The two agree to float32 rounding.
 */
export type RaterMode = 'differentiable' | 'inference';

/**
 * Scores a batch.
 *
 * @param params rater parameters in {@link raterParamSpecs} order
 * @param ids int32 [B, L]
 * @param mask float32 [B, L]
 * @returns float32 [B], one score per row
 */
export function raterScores(
  config: RaterArchitecture,
  params: readonly tf.Tensor[],
  ids: tf.Tensor2D,
  mask: tf.Tensor2D,
  mode: RaterMode = 'differentiable',
): tf.Tensor1D {
  checkBatchShape('raterScores', ids, mask, config.sequenceLength);
  const p = byName(raterParamSpecs(config), params);
  const [batch, length] = ids.shape;
  const width = config.raterWidth;

  // Position 0 always takes part in pooling, so an empty text is scored from the padding id.
  const firstPosition = tf.concat([tf.ones([batch, 1]), tf.zeros([batch, length - 1])], 1);
  const poolMask = tf.maximum(mask, firstPosition) as tf.Tensor2D; // [B, L]
  const mask3 = tf.expandDims(poolMask, 2); // [B, L, 1]

  const embedded = embeddingLookup(param(p, 'embedding'), tf.reshape(ids, [batch * length]));
  let x = tf.mul(tf.reshape(embedded, [batch, length, width]), mask3) as tf.Tensor3D; // [B, L, W]
  for (let block = 0; block < config.raterBlocks; block++) {
    const kernel = param<tf.Tensor2D>(p, `block${block}.kernel`);
    const bias = param<tf.Tensor1D>(p, `block${block}.bias`);
    const activated =
      mode === 'inference'
        ? fastActivation(
            config.raterActivation,
            fastConv1dSame(x, kernel, bias, config.raterKernelSize),
          )
        : activate(config.raterActivation, conv1dSame(x, kernel, bias, config.raterKernelSize));
    x = tf.mul(tf.add(x, activated), mask3) as tf.Tensor3D;
  }

  const pooled = logMeanExpPool(x, poolMask, config.raterPoolTemperature); // [B, W]
  const score = dense(pooled, param(p, 'head.kernel'), param(p, 'head.bias')); // [B, 1]
  return tf.reshape(score, [batch]);
}

/** {@link conv1dSame} through tf.conv1d (fast on wasm, but its filter gradient is missing there). */
function fastConv1dSame(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D,
  kernelSize: number,
): tf.Tensor3D {
  const channels = x.shape[2];
  const filter = tf.reshape(kernel, [kernelSize, channels, kernel.shape[1]]) as tf.Tensor3D;
  return tf.add(tf.conv1d(x, filter, 1, 'same'), bias);
}

/** The activations with tfjs's fused kernels, for inference only. */
function fastActivation(name: ActivationName, x: tf.Tensor3D): tf.Tensor3D {
  switch (name) {
    case 'gelu':
      return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    default: {
      const unknown: never = name;
      throw new Error(`fastActivation: unknown activation ${JSON.stringify(unknown)}`);
    }
  }
}

/** Estimated forward FLOPs of scoring one example (matMuls and per-element work of the blocks). */
export function raterFlopsPerExample(config: RaterArchitecture): number {
  const length = config.sequenceLength;
  const width = config.raterWidth;
  const convolution = 2 * config.raterKernelSize * width * width + 12 * width; // matMul + activation
  return length * (config.raterBlocks * convolution + 8 * width) + 2 * width;
}
