// Per-request DataLoaders: every relation a list can fan out to is fetched in one query per
// batch. Each batch function returns one result per key, in key order, with null for a key that
// has no row.
import DataLoader from 'dataloader';
import type { Database } from '../db/client.js';
import type {
  Curation,
  Dataset,
  Evaluation,
  Example,
  Job,
  Rater,
  RaterVersion,
} from '../generated/prisma/client.js';
import { countExamples, type SplitCounts } from '../services/datasets.js';

export interface Loaders {
  dataset: DataLoader<string, Dataset | null>;
  example: DataLoader<number, Example | null>;
  rater: DataLoader<string, Rater | null>;
  raterVersion: DataLoader<string, RaterVersion | null>;
  raterVersionsByRater: DataLoader<string, RaterVersion[]>;
  curation: DataLoader<string, Curation | null>;
  curationByCuratedDataset: DataLoader<string, Curation | null>;
  evaluation: DataLoader<string, Evaluation | null>;
  evaluationsByCuration: DataLoader<string, Evaluation[]>;
  job: DataLoader<string, Job | null>;
  datasetCounts: DataLoader<string, SplitCounts>;
  /** Key: `${raterVersionId}:${exampleSeq}`. */
  score: DataLoader<string, number | null>;
}

export function createLoaders(db: Database): Loaders {
  const { prisma } = db;
  return {
    dataset: new DataLoader(async (ids) =>
      byKey(
        ids,
        await prisma.dataset.findMany({ where: { id: { in: [...ids] } } }),
        (row) => row.id,
      ),
    ),
    example: new DataLoader(async (seqs) =>
      byKey(
        seqs,
        await prisma.example.findMany({ where: { seq: { in: seqs.map(BigInt) } } }),
        (row) => Number(row.seq),
      ),
    ),
    rater: new DataLoader(async (ids) =>
      byKey(ids, await prisma.rater.findMany({ where: { id: { in: [...ids] } } }), (row) => row.id),
    ),
    raterVersion: new DataLoader(async (ids) =>
      byKey(
        ids,
        await prisma.raterVersion.findMany({ where: { id: { in: [...ids] } } }),
        (row) => row.id,
      ),
    ),
    raterVersionsByRater: new DataLoader(async (raterIds) =>
      groupByKey(
        raterIds,
        await prisma.raterVersion.findMany({
          where: { raterId: { in: [...raterIds] } },
          orderBy: { version: 'asc' },
        }),
        (row) => row.raterId,
      ),
    ),
    curation: new DataLoader(async (ids) =>
      byKey(
        ids,
        await prisma.curation.findMany({ where: { id: { in: [...ids] } } }),
        (row) => row.id,
      ),
    ),
    curationByCuratedDataset: new DataLoader(async (datasetIds) =>
      byKey(
        datasetIds,
        await prisma.curation.findMany({ where: { curatedDatasetId: { in: [...datasetIds] } } }),
        (row) => row.curatedDatasetId ?? '',
      ),
    ),
    evaluation: new DataLoader(async (ids) =>
      byKey(
        ids,
        await prisma.evaluation.findMany({ where: { id: { in: [...ids] } } }),
        (row) => row.id,
      ),
    ),
    evaluationsByCuration: new DataLoader(async (curationIds) =>
      groupByKey(
        curationIds,
        await prisma.evaluation.findMany({
          where: { curationId: { in: [...curationIds] } },
          orderBy: { createdAt: 'asc' },
        }),
        (row) => row.curationId,
      ),
    ),
    job: new DataLoader(async (ids) =>
      byKey(ids, await prisma.job.findMany({ where: { id: { in: [...ids] } } }), (row) => row.id),
    ),
    datasetCounts: new DataLoader((ids) => countExamples(db, ids)),
    score: new DataLoader(async (keys) => {
      const pairs = keys.map((key) => {
        const colon = key.indexOf(':');
        return { raterVersionId: key.slice(0, colon), exampleSeq: Number(key.slice(colon + 1)) };
      });
      const { rows } = await db.pool.query<{
        rater_version_id: string;
        example_seq: number;
        score: number;
      }>(
        `SELECT s.rater_version_id, s.example_seq, s.score
           FROM score s
           JOIN unnest($1::uuid[], $2::bigint[]) AS k(rater_version_id, example_seq)
             ON s.rater_version_id = k.rater_version_id AND s.example_seq = k.example_seq`,
        [pairs.map((pair) => pair.raterVersionId), pairs.map((pair) => pair.exampleSeq)],
      );
      const scores = new Map(
        rows.map((row) => [`${row.rater_version_id}:${row.example_seq}`, row.score]),
      );
      return keys.map((key) => scores.get(key) ?? null);
    }),
  };
}

function byKey<K, T>(keys: readonly K[], rows: T[], keyOf: (row: T) => K): (T | null)[] {
  const map = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => map.get(key) ?? null);
}

function groupByKey<K, T>(keys: readonly K[], rows: T[], keyOf: (row: T) => K): T[][] {
  const groups = new Map<K, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return keys.map((key) => groups.get(key) ?? []);
}
