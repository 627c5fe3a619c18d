// Controlled corruption: does the meta-learned rater score corrupted text low, and does filtering
// by its scores save compute?
//
//   npx tsx bench/experiments/corruption.ts              # default run (3 seeds)
//   npx tsx bench/experiments/corruption.ts --help       # every option
//
// Clean examples are chunks of easy-ham message bodies from SpamAssassin (printable ASCII, mostly
// letters). A share of the training examples is corrupted: byte noise at several rates, a run of
// one repeated byte, or a run of non-printable control bytes. The held-out examples are clean
// chunks of other messages. Per seed, the script meta-trains a rater, scores the training
// examples, and trains fresh inner models on unfiltered, rater-filtered and randomly dropped data.
import { chunkUtf8, seededUnit, spamAssassinExamples } from '../../src/corpus/index.js';
import { initBackend, Prng, validateConfig } from '../../src/ml/index.js';
import { corrupt, type CorruptionKind } from './lib/corrupt.js';
import {
  analyzeScores,
  KINDS,
  printCorruptionReport,
  type SeedResult,
  type TrainExample,
} from './lib/corruption-analysis.js';
import { compareFilters } from './lib/filtering.js';
import { trainAndScore } from './lib/meta-train.js';
import { COMMON_HELP, parseOptions, type CommonOptions } from './lib/options.js';
import { LoadMonitor, progress, writeResult } from './lib/report.js';

const USAGE = `Usage: npx tsx bench/experiments/corruption.ts [options]
${COMMON_HELP}
  --corrupt-share F      share of training examples corrupted, split evenly over the 6 kinds
  --run-share F          share of an example a repeated-byte or control-byte run covers`;

const options = parseOptions(
  process.argv.slice(2),
  {
    seeds: [1, 2, 3],
    config: { sequenceLength: 128, outerSteps: 150, checkpointInterval: 50 },
    trainSize: 3000,
    heldoutSize: 256,
    discardFractions: [0.1, 0.25, 0.5],
    evalSteps: 150,
    evalBatch: 32,
    evalInterval: 25,
    evalThreads: 1,
    logEvery: 25,
    out: 'bench/results/corruption.json',
  },
  ['corrupt-share', 'run-share'],
  USAGE,
);
const corruptShare = fraction('--corrupt-share', options.extra['corrupt-share'] ?? '0.5');
const runShare = fraction('--run-share', options.extra['run-share'] ?? '0.5');

function fraction(name: string, text: string): number {
  const value = Number(text);
  if (!(value > 0 && value <= 1)) {
    throw new Error(`${name}: expected a number in (0, 1], got ${JSON.stringify(text)}`);
  }
  return value;
}

interface CorruptionData {
  train: TrainExample[];
  metaHeldout: string[];
  evalHeldout: string[];
}

/** Clean chunks: printable ASCII (with tab and newline), at least 75% letters and spaces. */
function isClean(chunk: string, sequenceLength: number): boolean {
  if (chunk.length < 0.75 * sequenceLength || !/^[\x20-\x7e\n\t]*$/.test(chunk)) return false;
  const lettersAndSpaces = chunk.match(/[A-Za-z ]/g)?.length ?? 0;
  return lettersAndSpaces >= 0.75 * chunk.length;
}

/**
 * Cuts easy-ham bodies into chunks of `sequenceLength` bytes (at most 4 per message), keeps the
 * clean ones, samples the training and held-out sets by message split and corrupts a share of the
 * training set. Held-out messages are split in two: one half for meta-training, one for evaluation.
 */
async function buildData(seed: number, sequenceLength: number): Promise<CorruptionData> {
  const bodies = await spamAssassinExamples({ shape: 'BODIES', seed, heldoutFraction: 0.2 });
  const trainPool: string[] = [];
  const metaPool: string[] = [];
  const evalPool: string[] = [];
  for (const body of bodies) {
    if (!body.source.startsWith('easy-ham')) continue;
    const chunks = chunkUtf8(body.text, sequenceLength, sequenceLength)
      .slice(0, 4)
      .filter((chunk) => isClean(chunk, sequenceLength));
    if (body.split === 'TRAIN') trainPool.push(...chunks);
    else if (seededUnit('meta-heldout', seed, body.meta.messageId) < 0.5) metaPool.push(...chunks);
    else evalPool.push(...chunks);
  }

  const prng = new Prng(seed);
  const pick = (pool: string[], count: number): string[] => {
    if (pool.length < count) {
      throw new Error(`only ${pool.length} clean chunks available, ${count} requested`);
    }
    return Array.from(prng.sampleWithoutReplacement(pool.length, count), (i) => pool[i]!);
  };
  const clean = pick(trainPool, options.trainSize);
  const corruptedCount = Math.round(corruptShare * clean.length);
  const order = prng.permutation(clean.length);
  const kinds = new Array<CorruptionKind>(clean.length).fill('clean');
  for (let i = 0; i < corruptedCount; i++) kinds[order[i]!] = KINDS[1 + (i % (KINDS.length - 1))]!;

  return {
    train: clean.map((text, i) => ({
      text: corrupt(text, kinds[i]!, runShare, prng),
      kind: kinds[i]!,
    })),
    metaHeldout: pick(metaPool, options.heldoutSize),
    evalHeldout: pick(evalPool, options.heldoutSize),
  };
}

async function runSeed(seed: number, common: CommonOptions): Promise<SeedResult> {
  const started = performance.now();
  const config = validateConfig({ ...common.config, seed });
  const data = await buildData(seed, config.sequenceLength);
  const counts = Object.fromEntries(
    KINDS.map((kind) => [kind, data.train.filter((example) => example.kind === kind).length]),
  );
  const texts = data.train.map((example) => example.text);
  progress(`seed ${seed}: ${texts.length} training examples ${JSON.stringify(counts)}`);

  progress(`seed ${seed}: meta-training ${config.outerSteps} outer steps`);
  const run = await trainAndScore(
    config,
    { train: texts, heldout: data.metaHeldout },
    texts,
    common.logEvery,
  );
  const analysis = analyzeScores(data.train, run.scores);
  progress(
    `seed ${seed}: AUC clean vs corrupted ${analysis.auc.toFixed(3)}, ` +
      `Spearman(noise rate, mean score) ${analysis.spearmanRateVsMeanScore.toFixed(3)}, ` +
      `mean scores ${JSON.stringify(analysis.meanScoreByKind, (_, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(4)) : v))}`,
  );

  progress(`seed ${seed}: fresh training runs of ${common.evalSteps} steps × ${common.evalBatch}`);
  const filtering = await compareFilters(
    {
      config,
      train: texts,
      scores: run.scores,
      heldout: data.evalHeldout,
      discardFractions: common.discardFractions,
      steps: common.evalSteps,
      batchSize: common.evalBatch,
      evalInterval: common.evalInterval,
      seed,
      rater: config,
    },
    common.evalThreads,
  );
  if (!filtering.baselinesIdentical) {
    console.warn(`seed ${seed}: the evaluation threads trained different baselines`);
  }
  const { raterBytes: _bytes, scores: _scores, config: _config, ...raterSummary } = run;
  return {
    seed,
    counts,
    rater: raterSummary,
    analysis,
    filtering,
    seconds: (performance.now() - started) / 1000,
  };
}

const monitor = new LoadMonitor();
const backend = await initBackend('wasm');
progress(`backend ${backend.name}; options ${JSON.stringify({ ...options, extra: undefined })}`);
const started = performance.now();
const seeds: SeedResult[] = [];
for (const seed of options.seeds) seeds.push(await runSeed(seed, options));
const wallSeconds = (performance.now() - started) / 1000;
const machine = monitor.finish();

printCorruptionReport(seeds, KINDS, options.discardFractions);
progress(
  `wall time ${wallSeconds.toFixed(0)} s; load average ${machine.loadAverage.min.toFixed(1)}–${machine.loadAverage.max.toFixed(1)}`,
);
await writeResult(options.out, {
  experiment: 'corruption',
  command: `npx tsx bench/experiments/corruption.ts ${process.argv.slice(2).join(' ')}`.trim(),
  options: { ...options, extra: undefined, corruptShare, runShare },
  config: validateConfig({ ...options.config, seed: options.seeds[0] }),
  backend: backend.name,
  machine,
  wallSeconds,
  seeds,
});
