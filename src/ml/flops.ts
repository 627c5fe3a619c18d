/**
 * FLOP estimates for the rater and the inner models, used to charge the rater's inference cost in
 * net compute gain and to express measured throughput as a fraction of a matMul benchmark.
 *
 * They count multiply-adds of matrix products as 2 FLOPs each plus a small per-element allowance
 * for activations and softmax; they are estimates, not measurements.
 */
import type { DataRaterConfig } from './config.js';
import {
  innerForwardFlopsPerExample,
  innerParamSpecs,
  innerTrainingFlopsPerExample,
} from './models/inner-task.js';
import { countParams } from './models/params.js';
import { raterFlopsPerExample, raterParamSpecs } from './models/rater.js';

export { innerForwardFlopsPerExample, innerTrainingFlopsPerExample, raterFlopsPerExample };

/**
 * Estimated FLOPs of one outer meta-training step over the whole population. Per model and inner
 * step: scoring and back-propagating through the rater (3× its forward), one inner training step
 * (forward and backward) and the reverse pass through that step for the meta-gradient (about twice
 * the step again); plus the held-out forward and backward.
 */
export function metaStepFlops(config: DataRaterConfig): number {
  const rater = 3 * raterFlopsPerExample(config) * config.innerBatchSize;
  const innerStep = 3 * innerTrainingFlopsPerExample(config) * config.innerBatchSize;
  const outer = 3 * innerForwardFlopsPerExample(config) * config.outerBatchSize;
  return config.populationSize * (config.unrollSteps * (rater + innerStep) + outer);
}

/** Number of trainable scalars of the rater and of one inner model under `config`. */
export function parameterCounts(config: DataRaterConfig): { rater: number; inner: number } {
  return {
    rater: countParams(raterParamSpecs(config)),
    inner: countParams(innerParamSpecs(config)),
  };
}
