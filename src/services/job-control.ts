// Cancel and retry jobs, and read a job after a mutation changed it.
import crypto from 'node:crypto';
import type { Database } from '../db/client.js';
import type { Job } from '../generated/prisma/client.js';
import { NOW_UTC, readJob, type JobRow } from '../jobs/job-rows.js';
import { isTerminal, QUEUES, type JobStatus } from '../jobs/kinds.js';
import type { JobSystem } from '../jobs/system.js';
import { inTransaction } from '../jobs/transaction.js';
import { conflict, notFound } from './errors.js';
import { requireUuid } from './job-data.js';

export function jobNotFound(id: string) {
  return notFound(`Job ${id} was not found. List jobs with the jobs query.`, { jobId: id });
}

/** Reads a job for the API; throws NOT_FOUND naming the id. */
export async function requireJob(db: Database, id: string): Promise<Job> {
  requireUuid(id, 'Job');
  const job = await db.prisma.job.findUnique({ where: { id } });
  if (!job) throw jobNotFound(id);
  return job;
}

/**
 * Cancels a QUEUED or RUNNING job: the row becomes CANCELED at once, the queue entry is
 * canceled, and a running attempt stops at its next step (meta-training keeps its last
 * checkpoint, so retryJob resumes from it). Canceling a CANCELED job returns it unchanged.
 * Throws NOT_FOUND for an unknown id and CONFLICT for a job that already SUCCEEDED or FAILED.
 */
export async function cancelJob(db: Database, jobs: JobSystem, id: string): Promise<Job> {
  requireUuid(id, 'Job');
  const canceled = await inTransaction(db.pool, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `WITH changed AS (
         UPDATE job SET status = 'CANCELED', message = 'Canceled on request.',
                finished_at = ${NOW_UTC}, updated_at = ${NOW_UTC}
          WHERE id = $1 AND status IN ('QUEUED', 'RUNNING')
          RETURNING id)
       SELECT id, pg_notify('datarater_job', id::text) FROM changed`,
      [id],
    );
    const job = await readJob(client, id);
    if (!job) throw jobNotFound(id);
    if (rows.length === 0) {
      if (job.status === 'CANCELED') return false;
      throw conflict(
        `Job ${id} already ${job.status}; only QUEUED or RUNNING jobs can be canceled.`,
        { jobId: id, status: job.status },
      );
    }

    if (job.queueName && job.queueJobId) {
      await jobs.queue.cancel(job.queueName, job.queueJobId, client);
    }
    await jobs.handlers[job.kind]?.onEnded?.(client, job, 'CANCELED', null);
    return true;
  });

  if (canceled) jobs.published([id]);
  return requireJob(db, id);
}

/**
 * Queues a FAILED or CANCELED job again under a fresh queue entry. Meta-training resumes from its
 * last checkpoint and scoring from its last committed window. Throws NOT_FOUND for an unknown id
 * and CONFLICT for a job in any other status.
 */
export async function retryJob(db: Database, jobs: JobSystem, id: string): Promise<Job> {
  requireUuid(id, 'Job');
  await inTransaction(db.pool, async (client) => {
    const job = await lockJob(client, id);
    if (!job) throw jobNotFound(id);
    if (!isRetryable(job.status)) {
      throw conflict(
        `Job ${id} is ${job.status}; only FAILED or CANCELED jobs can be retried.` +
          (isTerminal(job.status) ? '' : ' Cancel it first to restart it.'),
        { jobId: id, status: job.status },
      );
    }
    if (!job.queueName) {
      throw conflict(`Job ${id} (${job.kind}) did not run on a queue and cannot be retried.`);
    }

    const queueJobId = crypto.randomUUID();
    const message =
      job.queueName === QUEUES.metaTrainGpu
        ? await jobs.gpuQueueMessage(client)
        : 'Queued again on request; resumes from its last checkpoint.';
    await client.query(
      `UPDATE job SET status = 'QUEUED', queue_job_id = $2, message = $3, error = NULL,
              finished_at = NULL, worker_id = NULL, updated_at = ${NOW_UTC}
        WHERE id = $1`,
      [id, queueJobId, message],
    );
    await client.query(`SELECT pg_notify('datarater_job', $1), pg_notify('datarater_queue', '')`, [
      id,
    ]);
    await jobs.queue.send(job.queueName, { jobId: id }, queueJobId, client);
    await jobs.handlers[job.kind]?.onRetried?.(client, job);
  });

  jobs.published([id], true);
  return requireJob(db, id);
}

function isRetryable(status: JobStatus): boolean {
  return status === 'FAILED' || status === 'CANCELED';
}

async function lockJob(client: Parameters<typeof readJob>[0], id: string): Promise<JobRow | null> {
  await client.query('SELECT 1 FROM job WHERE id = $1 FOR UPDATE', [id]);
  return readJob(client, id);
}
