// Meta-training of one rater with progress lines, then scoring of the training examples.
import {
  loadRater,
  MetaTrainer,
  type DataRaterConfig,
  type StepReport,
} from '../../../src/ml/index.js';
import { progress } from './report.js';

/** What one meta-training run produced. */
export interface RaterRun {
  /** Exported rater (weights, architecture and training config). */
  raterBytes: Uint8Array;
  /** Scores of `scoreTexts`, aligned with them. */
  scores: Float32Array;
  /** The validated configuration the rater was trained with. */
  config: DataRaterConfig;
  /** Per-step statistics, thinned to every `logEvery` steps and the last. */
  trace: Array<Pick<StepReport, 'step' | 'outerLoss' | 'metaGradNorm' | 'ess' | 'essMin'>>;
  /** Steps skipped because of non-finite meta-gradients. */
  skippedSteps: number;
  /** Probe-set Spearman correlation between the last two checkpoints. */
  scoreAutocorrelation: number | null;
  metaTrainingSeconds: number;
  scoringSeconds: number;
}

/**
 * Meta-trains a rater on `data` for `config.outerSteps` steps, printing a line every `logEvery`
 * steps, and scores `scoreTexts` with the exported rater.
 */
export async function trainAndScore(
  config: Partial<DataRaterConfig>,
  data: { train: readonly string[]; heldout: readonly string[] },
  scoreTexts: readonly string[],
  logEvery: number,
): Promise<RaterRun> {
  const started = performance.now();
  const trace: RaterRun['trace'] = [];
  let skippedSteps = 0;
  let lastReport: StepReport | null = null;
  const trainer = await MetaTrainer.create(config, data);
  const total = trainer.config.outerSteps;

  try {
    while (trainer.completedSteps < total) {
      const report = await trainer.step();
      lastReport = report;
      if (report.skipped) skippedSteps += 1;
      if (report.step % logEvery === 0 || report.step === total) {
        const { step, outerLoss, metaGradNorm, ess, essMin } = report;
        trace.push({ step, outerLoss, metaGradNorm, ess, essMin });
        progress(
          `  meta step ${step}/${total}: outer loss ${outerLoss?.toFixed(4) ?? 'non-finite'}, ` +
            `meta-gradient norm ${metaGradNorm?.toExponential(2) ?? 'non-finite'}, ` +
            `ESS ${ess.toFixed(2)} (min ${essMin.toFixed(2)}) of ${trainer.config.innerBatchSize}`,
        );
      }
    }
    const raterBytes = trainer.exportRater();
    const metaTrainingSeconds = (performance.now() - started) / 1000;

    const scoringStarted = performance.now();
    const rater = await loadRater(raterBytes);
    const scores = await rater.score(scoreTexts, { batchSize: 128 });
    rater.dispose();
    return {
      raterBytes,
      scores,
      config: trainer.config,
      trace,
      skippedSteps,
      scoreAutocorrelation: lastReport?.scoreAutocorrelation ?? null,
      metaTrainingSeconds,
      scoringSeconds: (performance.now() - scoringStarted) / 1000,
    };
  } finally {
    await trainer.dispose();
  }
}
