// Datasets and their examples: create, rename, delete, list with keyset pagination, counts.
//
// A curated dataset has no example rows of its own: its examples are the source dataset's rows
// listed in curation_member. Every read here goes through `exampleScope` so both kinds read alike.
import type { Database } from '../db/client.js';
import { Prisma, type Dataset, type Example } from '../generated/prisma/client.js';
import { badInput, conflict, notFound } from './errors.js';
import { parsePageArgs, toPage, type Page, type PageArgs } from './pagination.js';

export type Split = 'TRAIN' | 'HELDOUT';

export interface ExampleFilter {
  split?: Split | null;
  source?: string | null;
  label?: string | null;
}

export interface SplitCounts {
  total: number;
  train: number;
  heldout: number;
}

export interface GroupCount {
  value: string | null;
  count: number;
}

const MAX_NAME_LENGTH = 200;

/** Creates a dataset; throws CONFLICT when the name is taken. */
export async function createDataset(
  db: Database,
  input: { name: string; description?: string | null },
): Promise<Dataset> {
  const name = validateName(input.name);
  try {
    return await db.prisma.dataset.create({
      data: { name, description: input.description ?? null },
    });
  } catch (error) {
    throw translateUniqueViolation(error, name);
  }
}

/** Renames a dataset or changes its description. */
export async function updateDataset(
  db: Database,
  id: string,
  input: { name?: string | null; description?: string | null },
): Promise<Dataset> {
  await requireDataset(db, id);
  const name = input.name != null ? validateName(input.name) : undefined;
  try {
    return await db.prisma.dataset.update({
      where: { id },
      data: { name, description: input.description === undefined ? undefined : input.description },
    });
  } catch (error) {
    throw translateUniqueViolation(error, name ?? '');
  }
}

/** Deletes a dataset with its examples, scores and curations. */
export async function deleteDataset(db: Database, id: string): Promise<void> {
  const { count } = await db.prisma.dataset.deleteMany({ where: { id } });
  if (count === 0) throw datasetNotFound(id);
}

export async function requireDataset(db: Database, id: string): Promise<Dataset> {
  const dataset = await db.prisma.dataset.findUnique({ where: { id } });
  if (!dataset) throw datasetNotFound(id);
  return dataset;
}

export function datasetNotFound(id: string) {
  return notFound(`Dataset ${id} was not found. List datasets with the datasets query.`, {
    datasetId: id,
  });
}

/** Datasets ordered by (createdAt, id). */
export async function listDatasets(db: Database, args: PageArgs): Promise<Page<Dataset>> {
  const request = parsePageArgs(args, 2);
  const keyAfter = request.after && {
    createdAt: new Date(String(request.after[0])),
    id: String(request.after[1]),
  };
  const keyBefore = request.before && {
    createdAt: new Date(String(request.before[0])),
    id: String(request.before[1]),
  };

  const where: Prisma.DatasetWhereInput = {
    AND: [keyAfter ? after(keyAfter) : {}, keyBefore ? before(keyBefore) : {}],
  };
  const forward = request.direction === 'forward';
  const fetched = await db.prisma.dataset.findMany({
    where,
    orderBy: forward
      ? [{ createdAt: 'asc' }, { id: 'asc' }]
      : [{ createdAt: 'desc' }, { id: 'desc' }],
    take: request.limit + 1,
  });

  const cursorKey = forward ? keyAfter : keyBefore;
  const beyondCursor = cursorKey
    ? (await db.prisma.dataset.count({
        where: forward ? notAfter(cursorKey) : notBefore(cursorKey),
        take: 1,
      })) > 0
    : false;
  return toPage(request, fetched, beyondCursor);

  function after(key: { createdAt: Date; id: string }): Prisma.DatasetWhereInput {
    return {
      OR: [{ createdAt: { gt: key.createdAt } }, { createdAt: key.createdAt, id: { gt: key.id } }],
    };
  }
  function before(key: { createdAt: Date; id: string }): Prisma.DatasetWhereInput {
    return {
      OR: [{ createdAt: { lt: key.createdAt } }, { createdAt: key.createdAt, id: { lt: key.id } }],
    };
  }
  function notAfter(key: { createdAt: Date; id: string }): Prisma.DatasetWhereInput {
    return {
      OR: [{ createdAt: { lt: key.createdAt } }, { createdAt: key.createdAt, id: { lte: key.id } }],
    };
  }
  function notBefore(key: { createdAt: Date; id: string }): Prisma.DatasetWhereInput {
    return {
      OR: [{ createdAt: { gt: key.createdAt } }, { createdAt: key.createdAt, id: { gte: key.id } }],
    };
  }
}

export function datasetCursor(dataset: Dataset): [string, string] {
  return [dataset.createdAt.toISOString(), dataset.id];
}

/**
 * Examples of a dataset in insertion order (by seq), filtered by split, source and label.
 * Throws NOT_FOUND for an unknown dataset.
 */
export async function listExamples(
  db: Database,
  datasetId: string,
  filter: ExampleFilter,
  args: PageArgs,
): Promise<Page<Example>> {
  const request = parsePageArgs(args, 1);
  const scope = await exampleScope(db, datasetId);
  const base: Prisma.ExampleWhereInput = {
    ...scope,
    ...(filter.split ? { split: filter.split } : {}),
    ...(filter.source != null ? { source: filter.source } : {}),
    ...(filter.label != null ? { label: filter.label } : {}),
  };
  const afterSeq = request.after ? toSeq(request.after[0]) : undefined;
  const beforeSeq = request.before ? toSeq(request.before[0]) : undefined;

  const forward = request.direction === 'forward';
  const fetched = await db.prisma.example.findMany({
    where: { ...base, seq: { gt: afterSeq, lt: beforeSeq } },
    orderBy: { seq: forward ? 'asc' : 'desc' },
    take: request.limit + 1,
  });

  const cursorSeq = forward ? afterSeq : beforeSeq;
  const beyondCursor =
    cursorSeq !== undefined &&
    (await db.prisma.example.findFirst({
      where: { ...base, seq: forward ? { lte: cursorSeq } : { gte: cursorSeq } },
      select: { seq: true },
    })) !== null;
  return toPage(request, fetched, beyondCursor);
}

function toSeq(part: string | number | undefined): bigint {
  if (typeof part !== 'number' || !Number.isSafeInteger(part)) {
    throw badInput('Invalid cursor: use a cursor returned by the examples list.');
  }
  return BigInt(part);
}

/** Where-clause selecting the examples of a dataset, by ownership or by curation membership. */
export async function exampleScope(
  db: Database,
  datasetId: string,
): Promise<Prisma.ExampleWhereInput> {
  const dataset = await db.prisma.dataset.findUnique({
    where: { id: datasetId },
    select: { curation: { select: { id: true } } },
  });
  if (!dataset) throw datasetNotFound(datasetId);
  return dataset.curation
    ? { members: { some: { curationId: dataset.curation.id } } }
    : { datasetId };
}

/** Example counts per split for each dataset id, in one query; missing ids get zeros. */
export async function countExamples(
  db: Database,
  datasetIds: readonly string[],
): Promise<SplitCounts[]> {
  const { rows } = await db.pool.query<{ dataset_id: string; split: Split; n: number }>(
    `SELECT e.dataset_id, e.split, count(*)::int AS n
       FROM example e
      WHERE e.dataset_id = ANY($1::uuid[])
      GROUP BY 1, 2
     UNION ALL
     SELECT c.curated_dataset_id, e.split, count(*)::int
       FROM curation c
       JOIN curation_member m ON m.curation_id = c.id
       JOIN example e ON e.seq = m.example_seq
      WHERE c.curated_dataset_id = ANY($1::uuid[])
      GROUP BY 1, 2`,
    [datasetIds],
  );

  const byId = new Map<string, SplitCounts>();
  for (const row of rows) {
    const counts = byId.get(row.dataset_id) ?? { total: 0, train: 0, heldout: 0 };
    counts.total += row.n;
    if (row.split === 'TRAIN') counts.train += row.n;
    else counts.heldout += row.n;
    byId.set(row.dataset_id, counts);
  }
  return datasetIds.map((id) => byId.get(id) ?? { total: 0, train: 0, heldout: 0 });
}

/** Distinct values of `source` or `label` with their counts, largest first. */
export async function countGroups(
  db: Database,
  datasetId: string,
  column: 'source' | 'label',
): Promise<GroupCount[]> {
  const scope = await exampleScope(db, datasetId);
  const groups = await db.prisma.example.groupBy({
    by: [column],
    where: scope,
    _count: { _all: true },
  });
  return groups
    .map((group) => ({ value: group[column], count: group._count._all }))
    .sort((a, b) => b.count - a.count || compareNullLast(a.value, b.value));
}

function compareNullLast(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function validateName(raw: string): string {
  const name = raw.trim();
  if (name === '' || name.length > MAX_NAME_LENGTH) {
    throw badInput(
      `Invalid dataset name ${JSON.stringify(raw)}: expected 1 to ${MAX_NAME_LENGTH} characters.`,
    );
  }
  return name;
}

function translateUniqueViolation(error: unknown, name: string): unknown {
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
    return conflict(
      `A dataset named ${JSON.stringify(name)} already exists. Choose another name.`,
      { name },
    );
  }
  return error;
}
