/**
 * One inner model's share of an outer step, on plain arrays: the unit of work that runs either in
 * the calling thread or in a worker thread, with bit-identical results either way.
 */
import type { DataRaterConfig } from '../config.js';
import { batchToTensors, disposeBatch, type ByteBatch } from '../featurize.js';
import { innerExampleLosses, innerParamSpecs } from '../models/inner-task.js';
import { paramsToTensors, tensorsToArrays } from '../models/params.js';
import { raterParamSpecs, raterScores } from '../models/rater.js';
import { tf } from '../tf.js';
import type { InnerTensors } from './inner-optimizer.js';
import { disposeInner, disposeMetaGradient, metaGradient, type UnrollProblem } from './unroll.js';

/** An inner model's parameters and optimiser state as arrays (m and v only for Adam). */
export interface InnerState {
  params: Float32Array[];
  m: Float32Array[] | null;
  v: Float32Array[] | null;
  /** Updates applied since the last reset. */
  step: number;
}

/** Input of {@link runModelJob}. */
export interface ModelJob {
  /** Position of the model in the population (carried through to the result). */
  modelIndex: number;
  inner: InnerState;
  /** One training batch per inner step (T batches). */
  train: ByteBatch[];
  heldout: ByteBatch;
}

/** Output of {@link runModelJob}. */
export interface ModelResult {
  modelIndex: number;
  /** d(outer loss)/dη, in rater parameter order. */
  metaGradient: Float32Array[];
  /** Held-out loss after the T updates. */
  outerLoss: number;
  /** The model after the T updates (to keep training from). */
  inner: InnerState;
  /** 1/Σw² of each inner step's weights. */
  ess: number[];
}

/** Builds the meta-learning problem of the real rater and inner task described by `config`. */
export function createProblem(config: DataRaterConfig): UnrollProblem {
  return {
    scores: (rater, batch) => raterScores(config, rater, batch.ids, batch.mask),
    exampleLosses: (inner, batch) => innerExampleLosses(config, inner, batch),
    optimizer: config,
    temperature: config.temperature,
  };
}

/**
 * Computes one model's meta-gradient, outer loss and updated state. Leaves the tensor count of
 * the engine unchanged.
 */
export function runModelJob(
  config: DataRaterConfig,
  rater: readonly Float32Array[],
  job: ModelJob,
): ModelResult {
  const problem = createProblem(config);
  const raterTensors = paramsToTensors(raterParamSpecs(config), rater);
  const inner = innerStateToTensors(config, job.inner);
  const train = job.train.map(batchToTensors);
  const heldout = batchToTensors(job.heldout);
  try {
    const output = metaGradient(problem, raterTensors, inner, train, heldout);
    try {
      return {
        modelIndex: job.modelIndex,
        metaGradient: tensorsToArrays(output.grads),
        outerLoss: output.outerLoss.dataSync()[0]!,
        inner: innerStateToArrays(output.final),
        ess: Array.from(output.ess.dataSync()),
      };
    } finally {
      disposeMetaGradient(output);
    }
  } finally {
    tf.dispose(raterTensors);
    disposeInner(inner);
    train.forEach(disposeBatch);
    disposeBatch(heldout);
  }
}

/** Creates tensors for an inner state; the caller disposes them. */
export function innerStateToTensors(config: DataRaterConfig, state: InnerState): InnerTensors {
  const specs = innerParamSpecs(config);
  return {
    params: paramsToTensors(specs, state.params),
    m: state.m === null ? null : paramsToTensors(specs, state.m),
    v: state.v === null ? null : paramsToTensors(specs, state.v),
    step: state.step,
  };
}

/** Reads an inner state back into arrays. */
export function innerStateToArrays(state: InnerTensors): InnerState {
  return {
    params: tensorsToArrays(state.params),
    m: state.m === null ? null : tensorsToArrays(state.m),
    v: state.v === null ? null : tensorsToArrays(state.v),
    step: state.step,
  };
}
