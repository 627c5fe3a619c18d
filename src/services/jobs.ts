// Job rows: the queryable mirror of queued work.
import type { Database } from '../db/client.js';
import type { Job, JobKind, JobStatus, Prisma } from '../generated/prisma/client.js';
import { parsePageArgs, toPage, type Page, type PageArgs } from './pagination.js';

/** Jobs, newest first, ordered by (createdAt desc, id desc). */
export async function listJobs(
  db: Database,
  filter: { status?: JobStatus | null; kind?: JobKind | null },
  args: PageArgs,
): Promise<Page<Job>> {
  const request = parsePageArgs(args, 2);
  const base: Prisma.JobWhereInput = {
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.kind ? { kind: filter.kind } : {}),
  };
  // "after" in a newest-first list means older.
  const older = (key: readonly (string | number)[], inclusive: boolean): Prisma.JobWhereInput => {
    const createdAt = new Date(String(key[0]));
    const id = String(key[1]);
    return {
      OR: [
        { createdAt: { lt: createdAt } },
        { createdAt, id: inclusive ? { lte: id } : { lt: id } },
      ],
    };
  };
  const newer = (key: readonly (string | number)[], inclusive: boolean): Prisma.JobWhereInput => {
    const createdAt = new Date(String(key[0]));
    const id = String(key[1]);
    return {
      OR: [
        { createdAt: { gt: createdAt } },
        { createdAt, id: inclusive ? { gte: id } : { gt: id } },
      ],
    };
  };

  const forward = request.direction === 'forward';
  const fetched = await db.prisma.job.findMany({
    where: {
      AND: [
        base,
        request.after ? older(request.after, false) : {},
        request.before ? newer(request.before, false) : {},
      ],
    },
    orderBy: forward
      ? [{ createdAt: 'desc' }, { id: 'desc' }]
      : [{ createdAt: 'asc' }, { id: 'asc' }],
    take: request.limit + 1,
  });

  const cursor = forward ? request.after : request.before;
  const beyondCursor = cursor
    ? (await db.prisma.job.findFirst({
        where: { AND: [base, forward ? newer(cursor, true) : older(cursor, true)] },
        select: { id: true },
      })) !== null
    : false;
  return toPage(request, fetched, beyondCursor);
}

export function jobCursor(job: Job): [string, string] {
  return [job.createdAt.toISOString(), job.id];
}
