// Rows for analytics and export tests, inserted directly so these tests depend only on the
// schema: datasets, examples, rater versions and scores with known values.
import type { Database } from '../src/db/client.js';
import { contentHash } from '../src/db/example-writer.js';

export interface ExampleInput {
  text: string;
  split?: 'TRAIN' | 'HELDOUT';
  source?: string | null;
  label?: string | null;
  externalId?: string | null;
  meta?: unknown;
}

export async function insertDataset(db: Database, name: string): Promise<string> {
  const dataset = await db.prisma.dataset.create({ data: { name } });
  return dataset.id;
}

/** Inserts examples in order and returns their seqs, in the same order. */
export async function insertExamples(
  db: Database,
  datasetId: string,
  examples: readonly ExampleInput[],
): Promise<number[]> {
  const { rows } = await db.pool.query<{ seq: number }>(
    `INSERT INTO example (dataset_id, external_id, split, text, label, source, byte_length,
                          content_hash, meta)
     SELECT $1::uuid, u.external_id, u.split::"Split", u.text, u.label, u.source,
            octet_length(u.text), u.hash, u.meta
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                   $8::jsonb[]) WITH ORDINALITY
            AS u(external_id, split, text, label, source, hash, meta, ord)
      ORDER BY u.ord
     RETURNING seq`,
    [
      datasetId,
      examples.map((example) => example.externalId ?? null),
      examples.map((example) => example.split ?? 'TRAIN'),
      examples.map((example) => example.text),
      examples.map((example) => example.label ?? null),
      examples.map((example) => example.source ?? null),
      examples.map((example) => contentHash(example.text)),
      examples.map((example) => (example.meta === undefined ? null : JSON.stringify(example.meta))),
    ],
  );
  return rows.map((row) => row.seq).sort((a, b) => a - b);
}

/** Creates a rater with one READY version (or a version with `status`) and returns its id. */
export async function insertRaterVersion(
  db: Database,
  raterName: string,
  options: { status?: 'QUEUED' | 'READY' | 'FAILED'; weights?: Uint8Array } = {},
): Promise<string> {
  const rater = await db.prisma.rater.upsert({
    where: { name: raterName },
    create: { name: raterName },
    update: {},
  });
  const latest = await db.prisma.raterVersion.findFirst({
    where: { raterId: rater.id },
    orderBy: { version: 'desc' },
  });
  const version = await db.prisma.raterVersion.create({
    data: {
      raterId: rater.id,
      version: (latest?.version ?? 0) + 1,
      status: options.status ?? 'READY',
      config: {},
      weights: options.weights ? Buffer.from(options.weights) : null,
    },
  });
  return version.id;
}

/**
 * Inserts scores of examples (by seq) under a rater version; `datasetId` is the examples' own
 * dataset. Values are stored as REAL, so tests compare with `Math.fround` of what they pass.
 */
export async function insertScores(
  db: Database,
  raterVersionId: string,
  datasetId: string,
  seqs: readonly number[],
  scores: readonly number[],
): Promise<void> {
  await db.pool.query(
    `INSERT INTO score (rater_version_id, example_seq, dataset_id, score)
     SELECT $1::uuid, u.seq, $2::uuid, u.score
       FROM unnest($3::bigint[], $4::real[]) AS u(seq, score)`,
    [raterVersionId, datasetId, seqs, scores],
  );
}

/** Creates a curated dataset whose members are `seqs` of `sourceDatasetId`. */
export async function insertCuration(
  db: Database,
  sourceDatasetId: string,
  raterVersionId: string,
  name: string,
  seqs: readonly number[],
): Promise<{ curationId: string; curatedDatasetId: string }> {
  const curatedDatasetId = await insertDataset(db, name);
  const curation = await db.prisma.curation.create({
    data: {
      sourceDatasetId,
      curatedDatasetId,
      raterVersionId,
      strategy: 'THRESHOLD',
      parameters: {},
      seed: 1,
      keptCount: seqs.length,
    },
  });
  await db.pool.query(
    `INSERT INTO curation_member (curation_id, example_seq)
     SELECT $1::uuid, seq FROM unnest($2::bigint[]) AS seq`,
    [curation.id, seqs],
  );
  return { curationId: curation.id, curatedDatasetId };
}

/** A seeded generator of floats in [0, 1) (mulberry32), so fixtures are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Returns a REAL as Postgres prints it and pg parses it: the shortest decimal that reads back as
 * the same REAL. Scores and their min and max reach clients in this form.
 */
export function asPrintedReal(value: number): number {
  const real = Math.fround(value);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(real.toPrecision(digits));
    if (Math.fround(candidate) === real) return candidate;
  }
  return real;
}
