// Writes to the `job` table, the queryable mirror of the queue. Every write also sends
// `NOTIFY datarater_job, '<id>'` from the same statement, so every change wakes the subscribers.
//
// A worker's writes are fenced by the attempt number it got when it claimed the job. Each write
// matches `attempts = $attempt AND status = 'RUNNING'`. After a cancel, or a take-over by another
// worker, the old attempt's writes match no row and the attempt stops.
import type pg from 'pg';
import { JOB_CHANNEL, QUEUE_CHANNEL } from './events.js';
import type { JobKind, JobStatus, QueueName } from './kinds.js';

/**
 * Current UTC time as `timestamp(3)`. The timestamp columns Prisma manages are UTC without a
 * time zone, so raw SQL must not write `now()` converted to the server's zone.
 */
export const NOW_UTC = `(now() AT TIME ZONE 'UTC')`;

/** Something that runs a query: a pool or a client inside a transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

/** The columns of a job row that workers and services read. */
export interface JobRow {
  id: string;
  kind: JobKind;
  status: JobStatus;
  attempts: number;
  parameters: Record<string, unknown>;
  subjects: Record<string, string>;
  queueName: QueueName | null;
  queueJobId: string | null;
  workerId: string | null;
  progress: number;
  message: string | null;
}

const JOB_COLUMNS = `id, kind, status, attempts, parameters, subjects, queue_name AS "queueName",
  queue_job_id AS "queueJobId", worker_id AS "workerId", progress, message`;

/** Appends the NOTIFY of the updated rows to an UPDATE ... RETURNING id statement. */
function notifying(update: string): string {
  return `WITH changed AS (${update})
    SELECT c.*, pg_notify('${JOB_CHANNEL}', c.id::text) FROM changed c`;
}

export interface NewJob {
  id: string;
  kind: JobKind;
  parameters: object;
  subjects: Record<string, string>;
  queueName: QueueName;
  message: string;
}

/** Inserts a QUEUED job whose queue entry has the same id as the job. */
export async function insertJob(client: Queryable, job: NewJob): Promise<void> {
  await client.query(
    `INSERT INTO job (id, kind, status, parameters, subjects, queue_name, queue_job_id, message,
                      created_at, updated_at)
     VALUES ($1, $2, 'QUEUED', $3, $4, $5, $7, $6, ${NOW_UTC}, ${NOW_UTC})`,
    [
      job.id,
      job.kind,
      JSON.stringify(job.parameters),
      JSON.stringify(job.subjects),
      job.queueName,
      job.message,
      job.id,
    ],
  );
  await client.query(`SELECT pg_notify('${JOB_CHANNEL}', $1), pg_notify('${QUEUE_CHANNEL}', '')`, [
    job.id,
  ]);
}

export async function readJob(client: Queryable, jobId: string): Promise<JobRow | null> {
  const { rows } = await client.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM job WHERE id = $1`, [
    jobId,
  ]);
  return rows[0] ?? null;
}

/**
 * Starts an attempt of job `jobId` delivered as queue entry `queueJobId`: sets RUNNING, counts
 * the attempt and records the worker. Takes over a RUNNING row too, because the queue hands out
 * an active entry again only after its attempt expired or its worker was declared lost. Returns
 * null when the row is finished, gone, or belongs to another queue entry (a stale delivery).
 */
export async function claimJob(
  client: Queryable,
  jobId: string,
  queueJobId: string,
  workerId: string,
  message: string,
): Promise<JobRow | null> {
  const { rows } = await client.query<JobRow>(
    notifying(`UPDATE job SET status = 'RUNNING', attempts = attempts + 1, worker_id = $3,
         started_at = COALESCE(started_at, ${NOW_UTC}), finished_at = NULL, error = NULL,
         message = $4, updated_at = ${NOW_UTC}
       WHERE id = $1 AND queue_job_id = $2 AND status IN ('QUEUED', 'RUNNING')
       RETURNING ${JOB_COLUMNS}`),
    [jobId, queueJobId, workerId, message],
  );
  return rows[0] ?? null;
}

/** Identifies one attempt of a job, for fenced writes. */
export interface Attempt {
  jobId: string;
  attempt: number;
}

export interface ProgressUpdate {
  /** Share of the work done, clamped to [0, 1]. */
  progress?: number;
  message?: string | null;
  /** Keys merged into `subjects`. */
  subjects?: Record<string, string>;
}

/**
 * Records progress of a running attempt. Returns false when the attempt no longer owns the job
 * (canceled, or taken over by another worker), in which case nothing was written.
 */
export async function updateProgress(
  client: Queryable,
  attempt: Attempt,
  update: ProgressUpdate,
): Promise<boolean> {
  const { rows } = await client.query(
    notifying(`UPDATE job SET
         progress = COALESCE(round(LEAST(1, GREATEST(0, $3::float8))::numeric, 4)::float8, progress),
         message = CASE WHEN $4::boolean THEN $5 ELSE message END,
         subjects = subjects || $6::jsonb,
         updated_at = ${NOW_UTC}
       WHERE id = $1 AND attempts = $2 AND status = 'RUNNING'
       RETURNING id`),
    [
      attempt.jobId,
      attempt.attempt,
      update.progress ?? null,
      update.message !== undefined,
      update.message ?? null,
      JSON.stringify(update.subjects ?? {}),
    ],
  );
  return rows.length === 1;
}

/**
 * Locks the job row for the rest of the transaction if `attempt` still owns it; returns false
 * otherwise. Writers call it first in the transaction that commits their work, so work from an
 * attempt that lost the job never commits.
 */
export async function lockOwnedJob(client: Queryable, attempt: Attempt): Promise<boolean> {
  const { rows } = await client.query(
    `SELECT id FROM job WHERE id = $1 AND attempts = $2 AND status = 'RUNNING' FOR UPDATE`,
    [attempt.jobId, attempt.attempt],
  );
  return rows.length === 1;
}

export type AttemptOutcome =
  | { status: 'SUCCEEDED'; result: object; message: string }
  | { status: 'FAILED'; error: string; message: string }
  | { status: 'QUEUED'; message: string; queueJobId?: string };

/**
 * Ends a running attempt: the job succeeded, failed for good, or goes back to the queue (a retry
 * after a failure, or a shutdown). Returns false when the attempt no longer owns the job.
 */
export async function endAttempt(
  client: Queryable,
  attempt: Attempt,
  outcome: AttemptOutcome,
): Promise<boolean> {
  const finished = outcome.status !== 'QUEUED';
  const { rows } = await client.query(
    notifying(`UPDATE job SET status = $3::"JobStatus", message = $4,
         result = COALESCE($5::jsonb, result), error = $6,
         progress = CASE WHEN $3 = 'SUCCEEDED' THEN 1 ELSE progress END,
         queue_job_id = COALESCE($7, queue_job_id),
         worker_id = NULL,
         finished_at = CASE WHEN $8::boolean THEN ${NOW_UTC} ELSE NULL END,
         updated_at = ${NOW_UTC}
       WHERE id = $1 AND attempts = $2 AND status = 'RUNNING'
       RETURNING id`),
    [
      attempt.jobId,
      attempt.attempt,
      outcome.status,
      outcome.message,
      outcome.status === 'SUCCEEDED' ? JSON.stringify(outcome.result) : null,
      outcome.status === 'FAILED' ? outcome.error : null,
      outcome.status === 'QUEUED' ? (outcome.queueJobId ?? null) : null,
      finished,
    ],
  );
  if (rows.length === 1 && outcome.status === 'QUEUED') {
    await client.query(`SELECT pg_notify('${QUEUE_CHANNEL}', '')`);
  }
  return rows.length === 1;
}
