// Public API of the built-in corpora.
export { CHUNK_KINDS, classifyChunk, type ChunkKind } from './classify.js';
export { isHeldout, seededSample, seededUnit } from './seeded.js';
export {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_HELDOUT_FRACTION,
  DEFAULT_SEED,
  SPAM_ASSASSIN_GROUPS,
  SPAM_ASSASSIN_MESSAGE_COUNT,
  listSpamAssassin,
  loadSpamAssassin,
  messageExamples,
  readSpamAssassin,
  spamAssassinExamples,
  type CorpusExample,
  type CorpusExampleMeta,
  type CorpusExampleOptions,
  type CorpusShape,
  type CorpusSplit,
  type SpamAssassinExampleOptions,
  type SpamAssassinFile,
  type SpamAssassinGroup,
  type SpamAssassinLoadOptions,
  type SpamAssassinMessage,
} from './spam-assassin.js';
export { chunkUtf8, messageBody } from './text.js';
