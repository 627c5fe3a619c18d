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
import { activate } from '../ops/activations.js';
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
    const conv = conv1dSame(
      x,
      param(p, `block${block}.kernel`),
      param(p, `block${block}.bias`),
      config.raterKernelSize,
    );
    x = tf.mul(tf.add(x, activate(config.raterActivation, conv)), mask3) as tf.Tensor3D;
  }

  const pooled = logMeanExpPool(x, poolMask, config.raterPoolTemperature); // [B, W]
  const score = dense(pooled, param(p, 'head.kernel'), param(p, 'head.bias')); // [B, 1]
  return tf.reshape(score, [batch]);
}

/** Estimated forward FLOPs of scoring one example (matMuls and per-element work of the blocks). */
export function raterFlopsPerExample(config: RaterArchitecture): number {
  const length = config.sequenceLength;
  const width = config.raterWidth;
  const convolution = 2 * config.raterKernelSize * width * width + 12 * width; // matMul + activation
  return length * (config.raterBlocks * convolution + 8 * width) + 2 * width;
}
