// On-demand scoring of new texts with a READY rater version, without storing anything. Loaded
// raters stay in a small LRU cache per version, because loading parses and uploads the weights
// on every call otherwise.
import type { Database } from '../db/client.js';
import { loadRaterWeights, type EngineRater } from './engine.js';
import { badInput } from './errors.js';
import { raterVersionNotFound } from './score-scope.js';

/** Most texts one call scores. */
export const MAX_RATE_TEXTS = 1000;
/** Texts per forward pass. */
export const RATE_BATCH_SIZE = 64;
/** Rater versions kept loaded, each with its weights in tensors on the active backend. */
export const DEFAULT_RATER_CACHE_SIZE = 4;

interface CacheEntry {
  rater: Promise<EngineRater>;
  /** Calls scoring with this rater now; an evicted rater is disposed when the last one ends. */
  users: number;
  evicted: boolean;
}

/**
 * Loaded raters by rater version id, least recently used first. Concurrent calls for one version
 * share one load, and a rater evicted while a call still scores with it is disposed only after
 * that call ends.
 */
export class RaterCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(readonly capacity = DEFAULT_RATER_CACHE_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new Error(`RaterCache: capacity must be a positive integer, got ${capacity}.`);
    }
  }

  /** Runs `use` with the rater of `key`, loading it with `load` on a miss. */
  async withRater<T>(
    key: string,
    load: () => Promise<EngineRater>,
    use: (rater: EngineRater) => Promise<T>,
  ): Promise<T> {
    const entry = this.acquire(key, load);
    entry.users++;
    try {
      return await use(await entry.rater);
    } finally {
      entry.users--;
      if (entry.evicted && entry.users === 0) void disposeEntry(entry);
    }
  }

  /** Versions currently cached, least recently used first. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Disposes every rater that no call is using, and the rest when their calls end. */
  clear(): void {
    for (const key of [...this.entries.keys()]) this.evict(key);
  }

  private acquire(key: string, load: () => Promise<EngineRater>): CacheEntry {
    const cached = this.entries.get(key);
    if (cached) {
      // Reinserting moves the key to the most recently used end of the Map's order.
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }

    const entry: CacheEntry = { rater: load(), users: 0, evicted: false };
    // A failed load is not cached, so the next call tries again.
    entry.rater.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    this.entries.set(key, entry);
    while (this.entries.size > this.capacity) this.evict(this.entries.keys().next().value!);
    return entry;
  }

  private evict(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.evicted = true;
    if (entry.users === 0) void disposeEntry(entry);
  }
}

async function disposeEntry(entry: CacheEntry): Promise<void> {
  try {
    (await entry.rater).dispose();
  } catch {
    // The load failed, so there is nothing to dispose.
  }
}

/**
 * Scores `texts` with the weights of a READY rater version, in batches of RATE_BATCH_SIZE, and
 * returns one score per text in input order. Each score is the float32 the engine computes,
 * written as the shortest decimal that reads back as the same float32 (as Postgres prints a
 * stored REAL score). Throws NOT_FOUND for an unknown version, and BAD_USER_INPUT for more than
 * MAX_RATE_TEXTS texts or a version that is not READY.
 */
export async function rateExamples(
  db: Database,
  cache: RaterCache,
  raterVersionId: string,
  texts: readonly string[],
): Promise<number[]> {
  if (texts.length > MAX_RATE_TEXTS) {
    throw badInput(
      `Too many texts: ${texts.length} given, at most ${MAX_RATE_TEXTS} per call. Split them into several calls.`,
      { count: texts.length },
    );
  }

  const version = await db.prisma.raterVersion.findUnique({
    where: { id: raterVersionId },
    select: { status: true, weights: true },
  });
  if (!version) throw raterVersionNotFound(raterVersionId);
  if (version.status !== 'READY' || version.weights === null) {
    throw badInput(
      `Rater version ${raterVersionId} is ${version.status}, not READY with weights: only a trained version can score. Wait for its training job or pick a READY version.`,
      { raterVersionId, status: version.status },
    );
  }
  if (texts.length === 0) return [];

  const weights = version.weights;
  const scores = await cache.withRater(
    raterVersionId,
    () => loadRaterWeights(weights),
    (rater) => rater.score([...texts], RATE_BATCH_SIZE),
  );
  return Array.from(scores, shortestFloat32);
}

/** Returns the shortest decimal that reads back as the same float32 as `value`. */
function shortestFloat32(value: number): number {
  const single = Math.fround(value);
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(single.toPrecision(digits));
    if (Math.fround(candidate) === single) return candidate;
  }
  return single;
}
