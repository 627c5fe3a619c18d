// Keyset pagination arguments, shared by every list the API serves. Cursors are opaque to clients
// (base64url JSON of the sort key) and carry the full key, tie-breaker included, so a page never
// skips or repeats rows when the leading sort values tie.
import { badInput } from './errors.js';

export type CursorKey = readonly (string | number)[];

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface PageRequest {
  /** forward: the first `limit` rows after `after`; backward: the last `limit` rows before `before`. */
  direction: 'forward' | 'backward';
  limit: number;
  after: CursorKey | undefined;
  before: CursorKey | undefined;
}

export interface Page<T> {
  rows: T[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Decodes a cursor with `arity` key parts; throws BAD_USER_INPUT for anything else. */
export function decodeCursor(cursor: string, arity: number, argument: string): CursorKey {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  const valid =
    Array.isArray(key) &&
    key.length === arity &&
    key.every(
      (part) => typeof part === 'string' || (typeof part === 'number' && Number.isFinite(part)),
    );
  if (!valid) {
    throw badInput(
      `Invalid ${argument} cursor ${JSON.stringify(cursor)}: use a cursor returned by this list.`,
    );
  }
  return key as CursorKey;
}

/**
 * Validates Relay arguments: at most one of `first` and `last`, sizes from 0 to MAX_PAGE_SIZE.
 * Without either, returns the first DEFAULT_PAGE_SIZE rows.
 */
export function parsePageArgs(args: PageArgs, arity: number): PageRequest {
  const { first, last, after, before } = args;
  if (first != null && last != null) {
    throw badInput('Pass either first or last, not both.');
  }
  for (const [name, value] of [
    ['first', first],
    ['last', last],
  ] as const) {
    if (value != null && (!Number.isInteger(value) || value < 0 || value > MAX_PAGE_SIZE)) {
      throw badInput(`Invalid ${name}=${value}: expected an integer from 0 to ${MAX_PAGE_SIZE}.`);
    }
  }

  return {
    direction: last != null ? 'backward' : 'forward',
    limit: last ?? first ?? DEFAULT_PAGE_SIZE,
    after: after != null ? decodeCursor(after, arity, 'after') : undefined,
    before: before != null ? decodeCursor(before, arity, 'before') : undefined,
  };
}

/**
 * Trims a query result fetched with `limit + 1` rows in the request's direction and returns the
 * page in ascending order. The caller passes whether rows exist beyond the `after`/`before`
 * cursor, which sets hasPreviousPage (forward) or hasNextPage (backward).
 */
export function toPage<T>(request: PageRequest, fetched: T[], beyondCursor: boolean): Page<T> {
  const more = fetched.length > request.limit;
  const rows = fetched.slice(0, request.limit);

  if (request.direction === 'forward') {
    return { rows, hasNextPage: more, hasPreviousPage: beyondCursor };
  }
  return { rows: rows.reverse(), hasNextPage: beyondCursor, hasPreviousPage: more };
}
