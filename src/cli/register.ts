// Registers the worker, client and demo commands of the `datarater` CLI.
//
// Client commands (import, train, score, curate, evaluate, export, demo) talk to a running
// server's GraphQL API at --url (default DATARATER_URL or http://127.0.0.1:4000). When nothing
// responds there and no URL was given, they start a server with an in-process worker inside the
// command's own process for its duration (embedded database under DATA_DIR, or DATABASE_URL).
import fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, type LogLevel } from '../config.js';
import { createLogger } from '../logger.js';
import { connect, type ServerConnection } from './client.js';
import {
  CURATE_DATASET,
  datasetIdByName,
  EVALUATE_CURATION,
  exportDataset,
  importCorpus,
  importFile,
  raterVersionId,
  runJob,
  SCORE_DATASET,
  START_META_TRAINING,
} from './commands.js';
import { DEFAULT_DEMO_OPTIONS, runDemo } from './demo.js';
import { startWorkerProcess } from './worker.js';

type StopOnSignals = (
  logger: { info(obj: object, msg: string): void },
  stop: () => Promise<void>,
) => void;

interface ClientOptions {
  url?: string;
  token?: string;
  detach?: boolean;
}

interface ImportCommandOptions extends ClientOptions {
  dataset: string;
  format?: 'ndjson' | 'csv';
  onError: 'abort' | 'skip';
  corpus?: 'spam-assassin';
  shape: 'chunks' | 'messages' | 'bodies';
  chunkBytes: number;
  heldoutFraction: number;
  maxMessages?: number;
  seed: number;
}

export function registerCommands(program: Command, stopOnSignals: StopOnSignals): void {
  program
    .command('worker')
    .description('Run a job worker on the Postgres at DATABASE_URL (no HTTP server)')
    .option(
      '-c, --concurrency <n>',
      'jobs run at the same time (default: WORKER_CONCURRENCY or 1)',
      positiveInteger,
    )
    .addOption(
      new Option(
        '-b, --backend <name>',
        'TensorFlow.js backend (default: TFJS_BACKEND or wasm)',
      ).choices(['wasm', 'cpu', 'tensorflow']),
    )
    .action(async (options: { concurrency?: number; backend?: 'wasm' | 'cpu' | 'tensorflow' }) => {
      const config = loadConfig();
      if (options.concurrency !== undefined) config.workerConcurrency = options.concurrency;
      if (options.backend !== undefined) config.backend = options.backend;
      const logger = createLogger(config.logLevel);
      const stop = await startWorkerProcess(config, logger);
      stopOnSignals(logger, stop);
    });

  clientCommand(program, 'import')
    .description(
      'Import a local NDJSON or CSV file, or the built-in SpamAssassin corpus, into a dataset',
    )
    .argument('[file]', 'NDJSON (.jsonl, .ndjson) or CSV (.csv) file of examples')
    .requiredOption('-d, --dataset <name>', 'dataset to create or append to')
    .addOption(
      new Option('--format <format>', 'file format (default: from the extension)').choices([
        'ndjson',
        'csv',
      ]),
    )
    .addOption(
      new Option('--on-error <mode>', 'on a bad line: abort, or skip it')
        .choices(['abort', 'skip'])
        .default('abort'),
    )
    .addOption(
      new Option('--corpus <name>', 'import a built-in corpus instead of a file').choices([
        'spam-assassin',
      ]),
    )
    .addOption(
      new Option('--shape <shape>', 'corpus examples')
        .choices(['chunks', 'messages', 'bodies'])
        .default('chunks'),
    )
    .option('--chunk-bytes <n>', 'corpus chunk size in bytes', positiveInteger, 256)
    .option(
      '--heldout-fraction <x>',
      'share of corpus messages in the HELDOUT split',
      fraction,
      0.1,
    )
    .option(
      '--max-messages <n>',
      'import a seeded sample of this many corpus messages',
      positiveInteger,
    )
    .option('--seed <n>', 'seed of the corpus split and sample', nonNegativeInteger, 1)
    .action(async (file: string | undefined, options: ImportCommandOptions) =>
      withServer(options, async (server) => {
        if (options.corpus) {
          return importCorpus(server, {
            dataset: options.dataset,
            shape: options.shape.toUpperCase() as 'CHUNKS' | 'MESSAGES' | 'BODIES',
            chunkBytes: options.chunkBytes,
            heldoutFraction: options.heldoutFraction,
            seed: options.seed,
            maxMessages: options.maxMessages,
          });
        }
        if (!file) throw new Error('Give a FILE to import, or --corpus spam-assassin.');
        return importFile(server, {
          file,
          dataset: options.dataset,
          format: options.format,
          onError: options.onError,
        });
      }),
    );

  clientCommand(program, 'train')
    .description('Meta-train a new version of a rater and follow the job')
    .requiredOption('-r, --rater <name>', 'rater name (a new name creates the rater)')
    .requiredOption('-d, --dataset <name>', 'training dataset')
    .option(
      '--heldout <name>',
      'held-out dataset (default: the HELDOUT split of the training dataset)',
    )
    .addOption(
      new Option('--task <task>', 'inner task')
        .choices(['language-model', 'classification'])
        .default('language-model'),
    )
    .option('--config <json>', 'engine config overrides as JSON, or @FILE to read them from a file')
    .option('--seed <n>', 'seed', nonNegativeInteger, 1)
    .addOption(
      new Option('--backend <requirement>', 'where to train')
        .choices(['ANY', 'CPU', 'GPU'])
        .default('ANY'),
    )
    .option('--parent <version>', 'warm-start from this rater version (id, NAME:VERSION or NAME)')
    .action(async (options: ClientOptions & Record<string, string | number | undefined>) =>
      withServer(options, async (server) => {
        const input = {
          raterName: options.rater,
          trainingDatasetId: await datasetIdByName(server, String(options.dataset)),
          heldoutDatasetId: options.heldout
            ? await datasetIdByName(server, String(options.heldout))
            : null,
          innerTask: options.task === 'classification' ? 'CLASSIFICATION' : 'LANGUAGE_MODEL',
          config: options.config ? readJsonOption(String(options.config)) : null,
          seed: options.seed,
          backend: options.backend,
          parentVersionId: options.parent
            ? await raterVersionId(server, String(options.parent))
            : null,
        };
        return runJob(
          server,
          START_META_TRAINING,
          { input },
          'meta-train',
          detach(options, server),
        );
      }),
    );

  clientCommand(program, 'score')
    .description('Score every example of a dataset under a rater version and follow the job')
    .requiredOption('-d, --dataset <name>', 'dataset to score')
    .requiredOption(
      '-v, --rater-version <version>',
      'rater version: id, NAME:VERSION, or NAME for its latest READY version',
    )
    .action(async (options: ClientOptions & { dataset: string; raterVersion: string }) =>
      withServer(options, async (server) => {
        const variables = {
          raterVersionId: await raterVersionId(server, options.raterVersion),
          datasetId: await datasetIdByName(server, options.dataset),
        };
        return runJob(server, SCORE_DATASET, variables, 'score', detach(options, server));
      }),
    );

  clientCommand(program, 'curate')
    .description('Filter a scored dataset into a new curated dataset and follow the job')
    .requiredOption('-d, --dataset <name>', 'scored source dataset')
    .requiredOption('-v, --rater-version <version>', 'rater version: id, NAME:VERSION or NAME')
    .addOption(
      new Option('-s, --strategy <strategy>', 'filter')
        .choices(['BATCH_TOP_K', 'GLOBAL_QUANTILE', 'THRESHOLD', 'ACCEPTANCE_PROBABILITY'])
        .default('BATCH_TOP_K'),
    )
    .option('--discard <fraction>', 'share of examples to drop, in (0, 1)', Number)
    .option('--threshold <score>', 'THRESHOLD: keep scores at or above this', Number)
    .option(
      '--batch-size <n>',
      'BATCH_TOP_K and ACCEPTANCE_PROBABILITY batch size',
      positiveInteger,
      64,
    )
    .option('--seed <n>', 'seed of the batches and draws', nonNegativeInteger, 1)
    .option('--name <name>', 'name of the curated dataset')
    .addOption(
      new Option('--split <split>', 'split to curate')
        .choices(['TRAIN', 'HELDOUT'])
        .default('TRAIN'),
    )
    .option(
      '--evaluate <steps>',
      'then evaluate the curation with this many training steps',
      positiveInteger,
    )
    .action(async (options: ClientOptions & Record<string, string | number | undefined>) =>
      withServer(options, async (server) => {
        const input = {
          datasetId: await datasetIdByName(server, String(options.dataset)),
          raterVersionId: await raterVersionId(server, String(options.raterVersion)),
          strategy: options.strategy,
          discardFraction: options.discard ?? null,
          threshold: options.threshold ?? null,
          batchSize: options.batchSize,
          seed: options.seed,
          name: options.name ?? null,
          split: options.split,
        };
        const job = await runJob(
          server,
          CURATE_DATASET,
          { input },
          'curate',
          detach(options, server),
        );
        if (options.evaluate === undefined || job.status !== 'SUCCEEDED') return job;

        const curationId = await server.request<{ job: { curation: { id: string } } }>(
          'query ($id: ID!) { job(id: $id) { curation { id } } }',
          { id: job.id },
        );
        const evaluation = {
          input: {
            curationId: curationId.job.curation.id,
            steps: options.evaluate,
            seed: options.seed,
          },
        };
        return runJob(server, EVALUATE_CURATION, evaluation, 'evaluate', false);
      }),
    );

  clientCommand(program, 'export')
    .description('Download a dataset as JSON Lines, CSV or Parquet')
    .requiredOption('-d, --dataset <name>', 'dataset to export')
    .addOption(
      new Option('-f, --format <format>', 'file format')
        .choices(['jsonl', 'csv', 'parquet'])
        .default('jsonl'),
    )
    .option('-o, --output <file>', 'output file (default: stdout)')
    .option('-v, --rater-version <version>', 'add a score column from this rater version')
    .action(
      async (
        options: ClientOptions & {
          dataset: string;
          format: 'jsonl';
          output?: string;
          raterVersion?: string;
        },
      ) =>
        withServer(options, async (server) => {
          const result = await exportDataset(server, {
            dataset: options.dataset,
            format: options.format,
            output: options.output,
            raterVersion: options.raterVersion,
          });
          // Progress and results go to stderr when the data itself goes to stdout.
          if (!options.output) {
            process.stderr.write(`${JSON.stringify(result)}\n`);
            return undefined;
          }
          return result;
        }),
    );

  clientCommand(program, 'demo')
    .description('Import SpamAssassin, meta-train, score, curate and evaluate, then print a report')
    .option(
      '--messages <n|all>',
      'corpus messages to import',
      messageCount,
      DEFAULT_DEMO_OPTIONS.messages,
    )
    .option(
      '--steps <n>',
      'outer steps of meta-training',
      positiveInteger,
      DEFAULT_DEMO_OPTIONS.steps,
    )
    .option(
      '--evaluation-steps <n>',
      'training steps of each evaluation run',
      positiveInteger,
      DEFAULT_DEMO_OPTIONS.evaluationSteps,
    )
    .option(
      '--discard <fraction>',
      'share of TRAIN examples the curation drops',
      fraction,
      DEFAULT_DEMO_OPTIONS.discardFraction,
    )
    .option('--seed <n>', 'seed of every step', nonNegativeInteger, DEFAULT_DEMO_OPTIONS.seed)
    .action(
      async (
        options: ClientOptions & {
          messages: number | null;
          steps: number;
          evaluationSteps: number;
          discard: number;
          seed: number;
        },
      ) =>
        withServer(options, async (server) => {
          const lines = await runDemo(server, {
            messages: options.messages,
            steps: options.steps,
            evaluationSteps: options.evaluationSteps,
            discardFraction: options.discard,
            seed: options.seed,
          });
          process.stdout.write(`\n${lines.join('\n')}\n`);
          return undefined;
        }),
    );
}

/** Adds a command with the options every client command shares. */
function clientCommand(program: Command, name: string): Command {
  return program
    .command(name)
    .option('-u, --url <url>', 'server URL (default: DATARATER_URL or http://127.0.0.1:4000)')
    .option('-t, --token <token>', 'API token (default: DATARATER_TOKEN)')
    .option('--detach', 'print the queued job and exit instead of following it');
}

/** Connects (or starts a server), runs `fn`, prints its result as JSON and disconnects. */
async function withServer(
  options: ClientOptions,
  fn: (server: ServerConnection) => Promise<unknown>,
): Promise<void> {
  const config = loadConfig();
  // Client commands keep stderr for progress; the embedded server logs warnings only unless asked.
  const level: LogLevel = process.env.LOG_LEVEL ? config.logLevel : 'warn';
  const logger = createLogger(level);
  const server = await connect({
    url: options.url,
    token: options.token ?? process.env.DATARATER_TOKEN,
    logger,
  });
  try {
    const result = await fn(server);
    if (result !== undefined) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await server.close();
  }
}

/** --detach against a server this command started would kill the job with the process. */
function detach(options: ClientOptions, server: ServerConnection): boolean {
  if (!options.detach) return false;
  if (server.embedded) {
    process.stderr.write('--detach ignored: the server runs inside this command, so it waits.\n');
    return false;
  }
  return true;
}

function readJsonOption(value: string): unknown {
  const text = value.startsWith('@') ? fs.readFileSync(value.slice(1), 'utf8') : value;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`--config is not valid JSON: ${(error as Error).message}`);
  }
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new InvalidArgumentError('expected a positive integer.');
  }
  return number;
}

function nonNegativeInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) {
    throw new InvalidArgumentError('expected an integer of 0 or more.');
  }
  return number;
}

function fraction(value: string): number {
  const number = Number(value);
  if (!(number > 0 && number < 1)) {
    throw new InvalidArgumentError('expected a number strictly between 0 and 1.');
  }
  return number;
}

function messageCount(value: string): number | null {
  return value === 'all' ? null : positiveInteger(value);
}
