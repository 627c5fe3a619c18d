// `datarater demo`: the whole workflow on the SpamAssassin corpus through the GraphQL API, then a
// short report. Sizes are chosen to finish in a few minutes on a 2-core machine; --messages and
// --steps scale it up.
import { classifyChunk } from '../corpus/index.js';
import type { ServerConnection } from './client.js';
import {
  CURATE_DATASET,
  EVALUATE_CURATION,
  importCorpus,
  runJob,
  SCORE_DATASET,
  START_META_TRAINING,
} from './commands.js';
import type { TrainingPointView } from './follow.js';

/**
 * Engine config of the demo: a small rater and inner model, two inner models on two worker
 * threads, sequences as long as the demo's 128-byte chunks.
 */
export const DEMO_CONFIG = {
  sequenceLength: 128,
  raterWidth: 16,
  raterBlocks: 1,
  innerEmbeddingSize: 16,
  innerHidden: 32,
  innerBatchSize: 8,
  outerBatchSize: 8,
  populationSize: 2,
  workers: 2,
  checkpointInterval: 20,
  probeSize: 64,
  resetPeriod: 50,
};

export interface DemoOptions {
  /** Messages of the corpus to import (a seeded sample); null imports all 6,046. */
  messages: number | null;
  /** Outer steps of meta-training. */
  steps: number;
  /** Inner training steps of each evaluation run. */
  evaluationSteps: number;
  /** Share of the TRAIN split the curation drops. */
  discardFraction: number;
  seed: number;
}

export const DEFAULT_DEMO_OPTIONS: DemoOptions = {
  messages: 300,
  steps: 120,
  evaluationSteps: 100,
  discardFraction: 0.25,
  seed: 1,
};

interface ScoredExample {
  text: string;
  source: string | null;
  score: number;
}

/** Runs the demo and returns the report as text lines. */
export async function runDemo(server: ServerConnection, options: DemoOptions): Promise<string[]> {
  const started = Date.now();
  const suffix = new Date().toISOString().replace(/[:.]/g, '-');
  const datasetName = `spamassassin-demo-${suffix}`;

  process.stderr.write(`Importing ${options.messages ?? 'all'} SpamAssassin messages...\n`);
  const { datasetId, imported } = await importCorpus(server, {
    dataset: datasetName,
    shape: 'CHUNKS',
    chunkBytes: 128,
    heldoutFraction: 0.1,
    seed: options.seed,
    maxMessages: options.messages ?? undefined,
  });

  const points: TrainingPointView[] = [];
  const training = await runJob(
    server,
    START_META_TRAINING,
    {
      input: {
        raterName: 'spamassassin-demo',
        trainingDatasetId: datasetId,
        config: { ...DEMO_CONFIG, outerSteps: options.steps },
        seed: options.seed,
      },
    },
    'meta-train',
    false,
    (added) => points.push(...added),
  );
  const versionId = await versionGlobalId(server, training.id);

  await runJob(server, SCORE_DATASET, { raterVersionId: versionId, datasetId }, 'score', false);
  const curation = await runJob(
    server,
    CURATE_DATASET,
    {
      input: {
        datasetId,
        raterVersionId: versionId,
        strategy: 'BATCH_TOP_K',
        discardFraction: options.discardFraction,
        batchSize: 64,
        seed: options.seed,
        name: `${datasetName} curated`,
      },
    },
    'curate',
    false,
  );
  const curationId = await curationGlobalId(server, curation.id);
  const evaluation = await runJob(
    server,
    EVALUATE_CURATION,
    {
      input: {
        curationId,
        steps: options.evaluationSteps,
        batchSize: 16,
        evalEvery: Math.max(1, Math.round(options.evaluationSteps / 5)),
        seed: options.seed,
      },
    },
    'evaluate',
    false,
  );

  const examples = await readScoredExamples(server, datasetId, versionId);
  const result = await evaluationResult(server, evaluation.id);
  return formatReport({
    imported,
    raterVersionId: versionId,
    points,
    examples,
    evaluation: result,
    discardFraction: options.discardFraction,
    seconds: (Date.now() - started) / 1000,
  });
}

async function versionGlobalId(server: ServerConnection, jobId: string): Promise<string> {
  const data = await server.request<{ job: { raterVersion: { id: string } } }>(
    'query ($id: ID!) { job(id: $id) { raterVersion { id } } }',
    { id: jobId },
  );
  return data.job.raterVersion.id;
}

async function curationGlobalId(server: ServerConnection, jobId: string): Promise<string> {
  const data = await server.request<{ job: { curation: { id: string } } }>(
    'query ($id: ID!) { job(id: $id) { curation { id } } }',
    { id: jobId },
  );
  return data.job.curation.id;
}

interface EvaluationView {
  computeGain: number | null;
  computeGainVsRandomDrop: number | null;
  randomDropGain: number | null;
  finalLoss: { baseline: number; curated: number; randomDrop: number };
  examples: { baseline: number; curated: number; heldout: number };
}

async function evaluationResult(server: ServerConnection, jobId: string): Promise<EvaluationView> {
  const data = await server.request<{ job: { evaluation: { result: EvaluationView } } }>(
    'query ($id: ID!) { job(id: $id) { evaluation { result } } }',
    { id: jobId },
  );
  return data.job.evaluation.result;
}

/** Pages through the dataset's examples with their scores (1,000 per request). */
async function readScoredExamples(
  server: ServerConnection,
  datasetId: string,
  raterVersionId: string,
): Promise<ScoredExample[]> {
  const examples: ScoredExample[] = [];
  let after: string | null = null;
  for (;;) {
    const data: {
      dataset: {
        examples: {
          nodes: { text: string; source: string | null; score: number | null }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      };
    } = await server.request(
      `query ($id: ID!, $after: String, $version: ID!) {
         dataset(id: $id) {
           examples(first: 1000, after: $after) {
             nodes { text source score(raterVersionId: $version) }
             pageInfo { hasNextPage endCursor }
           }
         }
       }`,
      { id: datasetId, after, version: raterVersionId },
    );
    for (const node of data.dataset.examples.nodes) {
      if (node.score !== null) examples.push({ ...node, score: node.score });
    }
    if (!data.dataset.examples.pageInfo.hasNextPage) return examples;
    after = data.dataset.examples.pageInfo.endCursor;
  }
}

function formatReport(input: {
  imported: number;
  raterVersionId: string;
  points: TrainingPointView[];
  examples: ScoredExample[];
  evaluation: EvaluationView;
  discardFraction: number;
  seconds: number;
}): string[] {
  const { points, examples, evaluation } = input;
  const lines: string[] = [];
  lines.push(`DataRater demo: ${input.imported} examples, ${input.seconds.toFixed(0)} s in all.`);
  lines.push('');

  const window = Math.max(1, Math.min(10, Math.floor(points.length / 4)));
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const head = points.slice(0, window);
  const tail = points.slice(-window);
  lines.push(`Meta-training (${points.length} outer steps recorded):`);
  lines.push(
    `  outer loss ${mean(head.map((p) => p.outerLoss)).toFixed(4)} (first ${window} steps) -> ` +
      `${mean(tail.map((p) => p.outerLoss)).toFixed(4)} (last ${window})`,
  );
  lines.push(
    `  weight ESS ${mean(tail.map((p) => p.ess)).toFixed(2)}, meta-gradient norm ` +
      `${mean(tail.map((p) => p.metaGradNorm)).toFixed(4)} (last ${window}); ` +
      `${points.filter((p) => p.skipped).length} steps skipped`,
  );
  lines.push('');

  lines.push('Mean score by source:');
  for (const row of groupMeans(examples, (e) => e.source ?? '(none)')) lines.push(row);
  lines.push('Mean score by chunk kind (regex classes, for this report only):');
  for (const row of groupMeans(examples, (e) => classifyChunk(e.text))) lines.push(row);
  lines.push('');

  const sorted = [...examples].sort((a, b) => a.score - b.score);
  lines.push('Lowest-scored examples:');
  for (const example of sorted.slice(0, 3)) lines.push(describeExample(example));
  lines.push('Highest-scored examples:');
  for (const example of sorted.slice(-3).reverse()) lines.push(describeExample(example));
  lines.push('');

  const gain = (value: number | null) =>
    value === null ? 'not reached' : `${(100 * value).toFixed(1)}%`;
  lines.push(
    `Evaluation (drop ${100 * input.discardFraction}% of ${evaluation.examples.baseline} TRAIN ` +
      `examples by batch top-K, keep ${evaluation.examples.curated}):`,
  );
  lines.push(
    `  final held-out loss: full ${evaluation.finalLoss.baseline.toFixed(4)}, curated ` +
      `${evaluation.finalLoss.curated.toFixed(4)}, random drop ` +
      `${evaluation.finalLoss.randomDrop.toFixed(4)}`,
  );
  lines.push(
    `  compute gain: vs full data ${gain(evaluation.computeGain)}, vs random drop of the same ` +
      `size ${gain(evaluation.computeGainVsRandomDrop)} (random drop vs full data: ` +
      `${gain(evaluation.randomDropGain)})`,
  );
  lines.push(
    "  (compute gain: the share of the full-data run's training steps that the curated run saves " +
      "to reach the full-data run's final held-out loss)",
  );
  lines.push(
    `Rater version: ${input.raterVersionId} (use it as --rater-version or raterVersionId)`,
  );
  return lines;
}

function groupMeans(
  examples: ScoredExample[],
  keyOf: (example: ScoredExample) => string,
): string[] {
  const groups = new Map<string, { sum: number; count: number }>();
  for (const example of examples) {
    const key = keyOf(example);
    const group = groups.get(key) ?? { sum: 0, count: 0 };
    group.sum += example.score;
    group.count += 1;
    groups.set(key, group);
  }
  return [...groups.entries()]
    .map(([key, group]) => ({ key, mean: group.sum / group.count, count: group.count }))
    .sort((a, b) => b.mean - a.mean)
    .map((row) => `  ${row.key.padEnd(12)} ${row.mean.toFixed(4).padStart(9)}  (${row.count})`);
}

function describeExample(example: ScoredExample): string {
  const text = JSON.stringify(example.text.slice(0, 90));
  return `  ${example.score.toFixed(4).padStart(9)}  ${(example.source ?? '').padEnd(11)} ${text}`;
}
