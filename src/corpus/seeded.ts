// Seeded, order-independent random choices: each item's draw is a hash of (purpose, seed, key),
// so an item's fate does not depend on which other items are present or in what order.
import { createHash } from 'node:crypto';

/**
 * Returns a number in [0, 1) drawn from the SHA-256 of `purpose`, `seed` and `key`. Equal
 * arguments always give the same number; different purposes give independent draws.
 */
export function seededUnit(purpose: string, seed: number, key: string): number {
  const digest = createHash('sha256').update(`${purpose}\u0000${seed}\u0000${key}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/**
 * Returns whether `key` falls in the held-out share: its draw is below `fraction`. Each key is
 * decided alone, so the held-out count is binomial around `fraction` × the number of keys rather
 * than exact, and adding or removing other keys never moves a key between splits.
 */
export function isHeldout(key: string, seed: number, fraction: number): boolean {
  return seededUnit('heldout', seed, key) < fraction;
}

/**
 * Returns `count` items drawn from `items` without replacement, in their original order. The
 * draw ranks items by a seeded hash of `keyOf(item)`, so for one seed a smaller sample is always
 * a subset of a larger one.
 */
export function seededSample<T>(
  items: readonly T[],
  count: number,
  seed: number,
  keyOf: (item: T) => string,
): T[] {
  if (count >= items.length) return [...items];

  const ranked = items
    .map((item, index) => ({ index, rank: seededUnit('sample', seed, keyOf(item)) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .slice(0, count)
    .sort((a, b) => a.index - b.index);
  return ranked.map(({ index }) => items[index] as T);
}
