// Import of a built-in corpus into a new dataset.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_HELDOUT_FRACTION,
  DEFAULT_SEED,
  listSpamAssassin,
  messageExamples,
  readSpamAssassin,
  type CorpusShape,
} from '../corpus/spam-assassin.js';
import type { Database } from '../db/client.js';
import {
  ExampleWriter,
  exampleWriteMethod,
  type ExampleWriteMethod,
} from '../db/example-writer.js';
import { badInput, conflict } from './errors.js';

export type CorpusName = 'SPAM_ASSASSIN';

export interface ImportCorpusInput {
  corpus: CorpusName;
  /** Name of the dataset to create; it must not exist yet. */
  datasetName: string;
  /** Default CHUNKS. */
  shape?: CorpusShape;
  /** Chunk size in UTF-8 bytes for CHUNKS, from 16 to 65,536. Default 256. */
  chunkBytes?: number;
  /** Share of messages, in [0, 1), whose examples all go to HELDOUT. Default 0.1. */
  heldoutFraction?: number;
  /** Seed of the held-out choice and of the `maxMessages` sample. Default 1. */
  seed?: number;
  /** Import only this many messages, a seeded sample; all when absent or null. */
  maxMessages?: number | null;
  /** Write method; by default COPY on a Postgres server and unnest on embedded PGlite. */
  writeMethod?: ExampleWriteMethod;
}

export interface ImportCorpusProgress {
  messagesDone: number;
  messagesTotal: number;
  /** Examples written so far. */
  imported: number;
}

export interface ImportCorpusResult {
  datasetId: string;
  /** Number of examples written. */
  imported: number;
}

export const MIN_CHUNK_BYTES = 16;
export const MAX_CHUNK_BYTES = 65536;
const MAX_DATASET_NAME_LENGTH = 200;
const SHAPES: readonly CorpusShape[] = ['CHUNKS', 'MESSAGES', 'BODIES'];
/** Messages between two progress reports. */
const PROGRESS_EVERY = 100;

/**
 * Creates dataset `datasetName` and fills it with the examples of a built-in corpus in the
 * requested `shape`, in one transaction, so on any failure neither the dataset nor any example
 * remains.
 * For SPAM_ASSASSIN, source is the message group (for example 'spam-2') and label is 'ham' or
 * 'spam'. Calls `onProgress` every 100 messages and once at the end.
 *
 * @throws AppError BAD_USER_INPUT for an invalid input value, CONFLICT when the name is taken
 */
export async function importCorpus(
  db: Database,
  input: ImportCorpusInput,
  onProgress?: (progress: ImportCorpusProgress) => void,
): Promise<ImportCorpusResult> {
  const options = validateInput(input);
  const messagesTotal = Math.min(
    options.maxMessages ?? Number.POSITIVE_INFINITY,
    (await listSpamAssassin()).length,
  );

  const client = await db.pool.connect();
  let releaseError: Error | undefined;
  try {
    await client.query('BEGIN');
    const datasetId = await insertDataset(client, options.datasetName, describeImport(options));

    const writer = new ExampleWriter(client, datasetId, {
      method: input.writeMethod ?? exampleWriteMethod(db),
    });
    let messagesDone = 0;
    for await (const message of readSpamAssassin(options)) {
      for (const example of messageExamples(message, options)) {
        await writer.add(example);
      }

      messagesDone += 1;
      if (messagesDone % PROGRESS_EVERY === 0) {
        onProgress?.({ messagesDone, messagesTotal, imported: writer.written });
      }
    }
    await writer.flush();
    onProgress?.({ messagesDone, messagesTotal, imported: writer.written });

    await client.query('COMMIT');
    return { datasetId, imported: writer.written };
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      // A connection that cannot roll back must not go back to the pool.
      releaseError = rollbackError;
    });
    throw error;
  } finally {
    client.release(releaseError);
  }
}

interface CorpusOptions {
  datasetName: string;
  shape: CorpusShape;
  chunkBytes: number;
  heldoutFraction: number;
  seed: number;
  maxMessages: number | undefined;
}

function validateInput(input: ImportCorpusInput): CorpusOptions {
  if (input.corpus !== 'SPAM_ASSASSIN') {
    throw badInput(`Invalid corpus ${JSON.stringify(input.corpus)}: expected SPAM_ASSASSIN.`);
  }

  const datasetName = input.datasetName.trim();
  if (datasetName === '' || datasetName.length > MAX_DATASET_NAME_LENGTH) {
    throw badInput(
      `Invalid dataset name ${JSON.stringify(input.datasetName)}: expected 1 to ` +
        `${MAX_DATASET_NAME_LENGTH} characters.`,
    );
  }

  const { shape = 'CHUNKS' } = input;
  if (!SHAPES.includes(shape)) {
    throw badInput(`Invalid shape ${JSON.stringify(shape)}: expected ${SHAPES.join(', ')}.`);
  }

  const { chunkBytes = DEFAULT_CHUNK_BYTES } = input;
  if (
    !Number.isInteger(chunkBytes) ||
    chunkBytes < MIN_CHUNK_BYTES ||
    chunkBytes > MAX_CHUNK_BYTES
  ) {
    throw badInput(
      `Invalid chunkBytes ${chunkBytes}: expected an integer from ${MIN_CHUNK_BYTES} to ` +
        `${MAX_CHUNK_BYTES}.`,
    );
  }

  const { heldoutFraction = DEFAULT_HELDOUT_FRACTION } = input;
  if (!(heldoutFraction >= 0 && heldoutFraction < 1)) {
    throw badInput(
      `Invalid heldoutFraction ${heldoutFraction}: expected a number from 0 up to but not ` +
        'including 1, such as 0.1.',
    );
  }

  const { seed = DEFAULT_SEED } = input;
  if (!Number.isSafeInteger(seed)) {
    throw badInput(`Invalid seed ${seed}: expected an integer.`);
  }

  const maxMessages = input.maxMessages ?? undefined;
  if (maxMessages !== undefined && (!Number.isInteger(maxMessages) || maxMessages < 1)) {
    throw badInput(
      `Invalid maxMessages ${maxMessages}: expected an integer of at least 1, or none for ` +
        'the whole corpus.',
    );
  }

  return { datasetName, shape, chunkBytes, heldoutFraction, seed, maxMessages };
}

function describeImport(options: CorpusOptions): string {
  const shape =
    options.shape === 'CHUNKS'
      ? `chunks of ${options.chunkBytes} bytes`
      : options.shape.toLowerCase();
  const sample =
    options.maxMessages === undefined
      ? 'all messages'
      : `a sample of ${options.maxMessages} messages`;
  return (
    `SpamAssassin public mail corpus, ${sample} as ${shape}; held-out fraction ` +
    `${options.heldoutFraction} by message, seed ${options.seed}.`
  );
}

async function insertDataset(
  client: pg.ClientBase,
  name: string,
  description: string,
): Promise<string> {
  const id = randomUUID();
  try {
    await client.query(
      `INSERT INTO dataset (id, name, description, updated_at) VALUES ($1, $2, $3, now())`,
      [id, name, description],
    );
  } catch (error) {
    if (error instanceof pg.DatabaseError && error.constraint === 'dataset_name_key') {
      throw conflict(
        `A dataset named ${JSON.stringify(name)} already exists. Choose another name.`,
        {
          name,
        },
      );
    }
    throw error;
  }
  return id;
}
