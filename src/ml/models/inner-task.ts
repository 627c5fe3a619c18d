/**
 * Inner models: what the population learns while the rater weights its data. Each task is a
 * parameter list plus a per-example loss; the meta-gradient code needs nothing else.
 *
 * - `language-model`: for every byte, predict it from the `innerContext` bytes before it
 *   (embedding → concatenated context → hidden layer → 256-way softmax). Works on any text.
 * - `classification`: embed each byte with the `innerContext - 1` bytes before it, apply the hidden
 *   layer, average over the text, and classify into `numClasses` labels.
 */
import type { DataRaterConfig } from '../config.js';
import { BYTE_VALUES, VOCAB_SIZE, type BatchTensors } from '../featurize.js';
import { activate } from '../ops/activations.js';
import { oneHotFloat } from '../ops/one-hot.js';
import { softmaxCrossEntropy } from '../ops/softmax.js';
import { tf } from '../tf.js';
import { checkBatchShape, contextEmbeddings, dense, maskedMean } from './layers.js';
import { byName, param, type ParamSpec } from './params.js';

/** Config fields that define an inner model. */
export type InnerArchitecture = Pick<
  DataRaterConfig,
  | 'task'
  | 'sequenceLength'
  | 'numClasses'
  | 'innerContext'
  | 'innerEmbeddingSize'
  | 'innerHidden'
  | 'innerActivation'
>;

/** Parameter specs of the inner model, in the order every inner parameter list uses. */
export function innerParamSpecs(config: InnerArchitecture): ParamSpec[] {
  const inputWidth = config.innerContext * config.innerEmbeddingSize;
  const outputs = config.task === 'language-model' ? BYTE_VALUES : config.numClasses;
  return [
    {
      name: 'embedding',
      shape: [VOCAB_SIZE, config.innerEmbeddingSize],
      init: { kind: 'normal', std: 1 },
    },
    {
      name: 'hidden.kernel',
      shape: [inputWidth, config.innerHidden],
      init: { kind: 'normal', std: 1 / Math.sqrt(inputWidth) },
    },
    { name: 'hidden.bias', shape: [config.innerHidden], init: { kind: 'zeros' } },
    {
      name: 'output.kernel',
      shape: [config.innerHidden, outputs],
      init: { kind: 'normal', std: 1 / Math.sqrt(config.innerHidden) },
    },
    { name: 'output.bias', shape: [outputs], init: { kind: 'zeros' } },
  ];
}

/**
 * Per-example loss of the inner model.
 *
 * - `language-model`: mean next-byte negative log-likelihood (nats) over the text's bytes;
 *   0 for an empty text.
 * - `classification`: cross-entropy of the label; `batch.labels` is required.
 *
 * @param params inner parameters in {@link innerParamSpecs} order
 * @returns float32 [B]
 */
export function innerExampleLosses(
  config: InnerArchitecture,
  params: readonly tf.Tensor[],
  batch: BatchTensors,
): tf.Tensor1D {
  checkBatchShape('innerExampleLosses', batch.ids, batch.mask, config.sequenceLength);
  const p = byName(innerParamSpecs(config), params);
  switch (config.task) {
    case 'language-model':
      return languageModelLosses(config, p, batch);
    case 'classification':
      return classificationLosses(config, p, batch);
    default: {
      const unknown: never = config.task;
      throw new Error(`innerExampleLosses: unknown task ${JSON.stringify(unknown)}`);
    }
  }
}

function languageModelLosses(
  config: InnerArchitecture,
  p: Record<string, tf.Tensor>,
  batch: BatchTensors,
): tf.Tensor1D {
  const [size, length] = batch.ids.shape;
  const features = contextEmbeddings(param(p, 'embedding'), batch.ids, config.innerContext, false); // [B·L, C·E]
  const hidden = activate(
    config.innerActivation,
    dense(features, param(p, 'hidden.kernel'), param(p, 'hidden.bias')),
  ); // [B·L, H]
  const logits = dense(hidden, param(p, 'output.kernel'), param(p, 'output.bias')); // [B·L, 256]
  // Padding has id 256, outside the 256 byte values, so its target row is all zeros (loss 0).
  const targets = oneHotFloat(tf.reshape(batch.ids, [size * length]), BYTE_VALUES) as tf.Tensor2D;
  const nll = tf.reshape(softmaxCrossEntropy(logits, targets), [size, length]); // [B, L]
  const total = tf.sum(tf.mul(nll, batch.mask), 1); // [B]
  const count = tf.maximum(tf.sum(batch.mask, 1), 1); // [B]
  return tf.div(total, count) as tf.Tensor1D;
}

function classificationLosses(
  config: InnerArchitecture,
  p: Record<string, tf.Tensor>,
  batch: BatchTensors,
): tf.Tensor1D {
  if (batch.labels === null) {
    throw new Error(
      'innerExampleLosses: the classification task needs labels, got a batch without them',
    );
  }
  const [size, length] = batch.ids.shape;
  const features = contextEmbeddings(param(p, 'embedding'), batch.ids, config.innerContext, true); // [B·L, C·E]
  const hidden = activate(
    config.innerActivation,
    dense(features, param(p, 'hidden.kernel'), param(p, 'hidden.bias')),
  ); // [B·L, H]
  const pooled = maskedMean(tf.reshape(hidden, [size, length, config.innerHidden]), batch.mask); // [B, H]
  const logits = dense(pooled, param(p, 'output.kernel'), param(p, 'output.bias')); // [B, K]
  const targets = oneHotFloat(batch.labels, config.numClasses) as tf.Tensor2D; // [B, K]
  return softmaxCrossEntropy(logits, targets);
}

/** Estimated forward FLOPs of the inner model on one example. */
export function innerForwardFlopsPerExample(config: InnerArchitecture): number {
  const length = config.sequenceLength;
  const inputWidth = config.innerContext * config.innerEmbeddingSize;
  const hidden = 2 * inputWidth * config.innerHidden + 12 * config.innerHidden;
  if (config.task === 'language-model') {
    return length * (hidden + 2 * config.innerHidden * BYTE_VALUES + 10 * BYTE_VALUES);
  }
  return length * hidden + 2 * config.innerHidden * config.numClasses;
}

/**
 * Estimated FLOPs of one training step of the inner model per example: forward, backward (about
 * twice the forward) and the embedding gradient's one-hot matMul.
 */
export function innerTrainingFlopsPerExample(config: InnerArchitecture): number {
  const scatter =
    2 * (config.sequenceLength + config.innerContext) * VOCAB_SIZE * config.innerEmbeddingSize;
  return 3 * innerForwardFlopsPerExample(config) + scatter;
}
