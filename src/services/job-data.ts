// Reads the examples a job works on. A plain dataset owns its examples; a curated dataset holds
// its source dataset's examples by reference (curation_member rows). Both read alike here.
import type { Database } from '../db/client.js';
import type { Queryable } from '../jobs/job-rows.js';
import { datasetNotFound } from './datasets.js';
import { badInput, notFound } from './errors.js';

export type Split = 'TRAIN' | 'HELDOUT';

/** Example rows that make up a dataset. */
export interface ExampleScope {
  datasetId: string;
  /** Set for a curated dataset: its examples are this curation's members. */
  curationId: string | null;
}

export async function resolveExampleScope(db: Database, datasetId: string): Promise<ExampleScope> {
  requireUuid(datasetId, 'Dataset');
  const { rows } = await db.pool.query<{ curation_id: string | null }>(
    `SELECT c.id AS curation_id FROM dataset d LEFT JOIN curation c ON c.curated_dataset_id = d.id
      WHERE d.id = $1`,
    [datasetId],
  );
  if (rows.length === 0) throw datasetNotFound(datasetId);
  return { datasetId, curationId: rows[0]!.curation_id };
}

/**
 * SQL source of the scope's examples as `e`, with parameter $1 the dataset id (plain) or the
 * curation id (curated). Append conditions with AND.
 */
export function scopeSql(scope: ExampleScope): { from: string; param: string } {
  return scope.curationId
    ? {
        from: 'curation_member m JOIN example e ON e.seq = m.example_seq WHERE m.curation_id = $1',
        param: scope.curationId,
      }
    : { from: 'example e WHERE e.dataset_id = $1', param: scope.datasetId };
}

/** Example counts of a scope, per split. */
export async function countScope(
  client: Queryable,
  scope: ExampleScope,
): Promise<{ TRAIN: number; HELDOUT: number }> {
  const { from, param } = scopeSql(scope);
  const { rows } = await client.query<{ split: Split; n: number }>(
    `SELECT e.split, count(*)::int AS n FROM ${from} GROUP BY e.split`,
    [param],
  );
  const counts = { TRAIN: 0, HELDOUT: 0 };
  for (const row of rows) counts[row.split] = row.n;
  return counts;
}

export interface ExampleTexts {
  seqs: number[];
  texts: string[];
  labels: (string | null)[];
}

/** Texts of a scope's examples of one split (or all splits), in seq order. */
export async function loadTexts(
  client: Queryable,
  scope: ExampleScope,
  split: Split | null,
): Promise<ExampleTexts> {
  const { from, param } = scopeSql(scope);
  const { rows } = await client.query<{ seq: number; text: string; label: string | null }>(
    `SELECT e.seq, e.text, e.label FROM ${from} ${split ? 'AND e.split = $2' : ''} ORDER BY e.seq`,
    split ? [param, split] : [param],
  );
  return {
    seqs: rows.map((row) => row.seq),
    texts: rows.map((row) => row.text),
    labels: rows.map((row) => row.label),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Throws NOT_FOUND naming `id` when it is not a UUID, so it never reaches a uuid column. */
export function requireUuid(id: string, type: string): void {
  if (!UUID.test(id)) {
    throw notFound(`${type} ${JSON.stringify(id)} was not found.`, { id });
  }
}

/** Throws BAD_USER_INPUT unless `value` is an integer in [min, max]; names the argument. */
export function requireInteger(argument: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badInput(`Invalid ${argument} ${value}: expected an integer from ${min} to ${max}.`, {
      argument,
      value,
    });
  }
}
